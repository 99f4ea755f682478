"""Fixtures for the reconcile integration tests, on top of tests/conftest.py (tools_env,
dev_cluster, moto_s3): a per-test backend, namespace, Git remote and `poll` processes."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eoepca_gitops.poller.log import log
from tests.conftest import DevClusterHandle
from tests.poller.harness import PROJECT_DIR, GitRemote, PollerProcess, kubectl

PASSPHRASE = "rc-passphrase-7d1f0c"  # long enough to be found, and redacted, if it ever leaks


@pytest.fixture
def rc_env(tools_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    backend = tmp_path / "backend"
    backend.mkdir()
    return {
        **tools_env,
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_PYTHON_CMD": sys.executable,
    }


@pytest.fixture
def namespace(dev_cluster: DevClusterHandle) -> Iterator[str]:
    ns = f"rc-{uuid.uuid4().hex[:8]}"
    kubeconfig = dev_cluster.kubeconfig
    kubectl(kubeconfig, "create", "namespace", ns)
    yield ns
    kubectl(kubeconfig, "delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture
def remote(rc_env: dict[str, str], tmp_path: Path) -> GitRemote:
    base = tmp_path / "git"
    base.mkdir()
    return GitRemote(base, rc_env)


@pytest.fixture
def start_poller(rc_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., PollerProcess]]:
    started: list[PollerProcess] = []

    def start(url: str, *extra: str, name: str = "w", env: dict[str, str] | None = None) -> PollerProcess:
        args = [
            "--repo", url, "--branch", "main", "--project-dir", PROJECT_DIR, "--stack", "dev",
            "--interval", "0.5s", "--backoff-base", "1s", "--backoff-cap", "5s", "--drift-interval", "0",
            "--work-dir", str(tmp_path / f"{name}-work"), *extra,
        ]  # fmt: skip
        w = PollerProcess(args, env or rc_env, tmp_path / f"{name}-state.json", tmp_path / f"{name}.log")
        started.append(w.start())
        return w

    yield start
    for w in started:
        w.kill()
        assert PASSPHRASE not in w.logs(), "the passphrase leaked into the runner's log"
        if w.state_file.exists():
            assert PASSPHRASE not in w.state_file.read_text(), "the passphrase leaked into the state file"


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """The logging set-up as it was before the test (for tests that call poller.log.configure)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, log.level)
    try:
        yield
    finally:
        root.handlers[:], root.level, log.level = saved
