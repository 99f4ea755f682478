"""A `pulumi up` killed with SIGKILL halfway leaves no process behind: its plugins, which the engine
starts in process groups of their own, end by themselves (tools/language-host/engine_watch.py), with
no help from whoever killed it. The providers as the tool cache installs them: the Kubernetes
provider from the plugin cache (its launcher), the Python dynamic provider and the language host from
beside the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from eoepca_gitops.runs import Run
from tests.conftest import DevClusterHandle
from tests.leftovers import alive, kill_engine

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "projects" / "killed_update"
REPO_VENV = HERE.parents[1] / ".venv"
KUBECTL = Path(sys.executable).parent / "kubectl"


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"`{' '.join(args)}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"


def _plugins(engine: int) -> dict[str, psutil.Process]:
    """The processes the engine started, by what they are."""
    found: dict[str, psutil.Process] = {}
    for proc in psutil.Process(engine).children(recursive=True):
        try:
            command = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        for what, mark in (
            ("kubernetes provider", "pulumi-resource-kubernetes"),
            ("dynamic provider", "-m pulumi.dynamic"),
            ("language host", "pulumi_language_python.py"),
        ):
            if mark in command and what not in found:
                found[what] = proc
    return found


def test_pulumi_up_killed_mid_update_leaves_no_provider(
    tools_env: dict[str, str], dev_cluster: DevClusterHandle, tmp_path: Path
) -> None:
    project = tmp_path / "killed_update"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".venv").symlink_to(REPO_VENV)
    state = tmp_path / "state"
    state.mkdir()
    env = {**tools_env, "PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_PYTHON_CMD": sys.executable}
    namespace = f"killed-{uuid.uuid4().hex[:8]}"
    _run(
        [str(KUBECTL), "--kubeconfig", str(dev_cluster.kubeconfig), "create", "namespace", namespace],
        project,
        env,
    )
    started = tmp_path / "create-started"
    _run(["pulumi", "stack", "init", "dev"], project, env)
    for key, value in (
        ("kubeconfig", dev_cluster.kubeconfig),
        ("namespace", namespace),
        ("started", started),
    ):
        _run(["pulumi", "config", "set", key, str(value)], project, env)

    run = Run.new("killed-up")
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive"],
        cwd=project, env=run.env(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    try:
        deadline = time.monotonic() + 300
        while not (started.exists() and started.read_text()):
            assert up.poll() is None, (tmp_path / "up.log").read_text()
            assert time.monotonic() < deadline, "the dynamic resource's create never started"
            time.sleep(0.1)
        plugins = _plugins(up.pid)
        assert set(plugins) == {"kubernetes provider", "dynamic provider", "language host"}, plugins
        assert plugins["dynamic provider"].pid == int(started.read_text())  # mid-update: in its create
        # The Kubernetes provider is the binary itself (exec'd in its launcher's place), with a watcher.
        kubernetes = plugins["kubernetes provider"]
        assert Path(kubernetes.cmdline()[0]).name == "pulumi-resource-kubernetes"
        assert kubernetes.children(), "no watcher beside the Kubernetes provider"
        # What a SIGKILL to the engine's process group does not reach.
        assert not {os.getpgid(p.pid) for p in plugins.values()} & {os.getpgid(up.pid)}
        kill_engine(up, run, within=5)
        assert not any(alive(p) for p in plugins.values())
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        run.stop()
        kubectl = [str(KUBECTL), "--kubeconfig", str(dev_cluster.kubeconfig)]
        subprocess.run(
            [*kubectl, "delete", "namespace", namespace, "--wait=false"], capture_output=True, timeout=60
        )
