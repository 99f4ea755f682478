"""The real engine end to end: the Pulumi CLI built by scripts/tools.sh, the Python language host,
the Kubernetes provider 4.25.0 and the dev cluster, with state in a file backend and in S3 (moto).

A Deployment becomes Available only because kube-controller-manager, kube-scheduler and kwok all
work: Pulumi's await logic waits for it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DevClusterHandle, MotoS3

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "projects" / "engine_smoke"
REPO_VENV = HERE.parents[1] / ".venv"
KUBECTL = Path(sys.executable).parent / "kubectl"
STACK = "dev"


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(
            f"`{' '.join(args)}` exited {proc.returncode}\n"
            f"--- stdout:\n{proc.stdout}\n--- stderr:\n{proc.stderr}",
            pytrace=False,
        )
    return proc.stdout


def kubectl_get(cluster: DevClusterHandle, *args: str) -> dict[str, Any] | None:
    """The object as JSON, or None when the API server says NotFound."""
    proc = subprocess.run(
        [
            str(KUBECTL),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "get",
            *args,
            "-o",
            "json",
            "--show-managed-fields",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        if "NotFound" in proc.stderr:
            return None
        pytest.fail(f"kubectl get {' '.join(args)}: {proc.stderr}", pytrace=False)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture(params=["file", "s3"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, tools_env: dict[str, str]
) -> tuple[str, str, dict[str, str]]:
    """(name, PULUMI_BACKEND_URL, env) for each state backend."""
    if request.param == "file":
        state = tmp_path / "state"
        state.mkdir()
        return "file", f"file://{state}", {**tools_env, "PULUMI_BACKEND_URL": f"file://{state}"}
    moto: MotoS3 = request.getfixturevalue("moto_s3")
    url = moto.backend_url(prefix=tmp_path.name)
    return "s3", url, {**tools_env, **moto.aws_env, "PULUMI_BACKEND_URL": url}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the smoke project whose .venv points at the repository's virtualenv."""
    if not (REPO_VENV / "bin" / "python").exists():
        pytest.fail(f"no virtualenv at {REPO_VENV}: run `make venv`", pytrace=False)
    dest = tmp_path / "engine_smoke"
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("__pycache__", ".venv", "Pulumi.*.yaml"))
    (dest / ".venv").symlink_to(REPO_VENV)
    return dest


def test_up_preview_destroy(
    backend: tuple[str, str, dict[str, str]],
    project: Path,
    dev_cluster: DevClusterHandle,
    request: pytest.FixtureRequest,
) -> None:
    name, url, env = backend
    namespace = f"smoke-{name}"
    pulumi = shutil.which("pulumi", path=env["PATH"])
    assert pulumi, "pulumi not on the tools PATH"

    run([pulumi, "stack", "init", STACK], project, env)
    run([pulumi, "config", "set", "kubeconfig", str(dev_cluster.kubeconfig)], project, env)
    run([pulumi, "config", "set", "namespace", namespace], project, env)

    started = time.monotonic()
    out = run([pulumi, "up", "--yes", "--skip-preview", "--non-interactive"], project, env)
    up_seconds = time.monotonic() - started
    assert "5 created" in out, out

    outputs = json.loads(run([pulumi, "stack", "output", "--json"], project, env))
    assert outputs["namespace"] == namespace
    assert outputs["ready_replicas"] == 2

    ns = kubectl_get(dev_cluster, "namespace", namespace)
    assert ns is not None and ns["status"]["phase"] == "Active"
    cm = kubectl_get(dev_cluster, "configmap", "smoke-config", "-n", namespace)
    assert cm is not None and cm["data"] == {"greeting": "hello from the real engine"}
    deploy = kubectl_get(dev_cluster, "deployment", "smoke-web", "-n", namespace)
    assert deploy is not None
    conditions = {c["type"]: c["status"] for c in deploy["status"]["conditions"]}
    assert conditions.get("Available") == "True", deploy["status"]
    assert deploy["status"]["readyReplicas"] == 2
    # managed by the Pulumi provider (server-side apply field manager)
    managers = {m["manager"] for m in deploy["metadata"].get("managedFields", [])}
    assert any(m.startswith("pulumi") for m in managers), managers

    if name == "s3":
        moto: MotoS3 = request.getfixturevalue("moto_s3")
        import boto3

        client = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1", **_creds(moto))
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=moto.bucket).get("Contents", [])]
        client.close()
        assert any(k.endswith(f"stacks/engine-smoke/{STACK}.json") for k in keys), keys

    run([pulumi, "preview", "--expect-no-changes", "--non-interactive"], project, env)

    run([pulumi, "destroy", "--yes", "--skip-preview", "--non-interactive"], project, env)
    deadline = time.monotonic() + 30
    while kubectl_get(dev_cluster, "namespace", namespace) is not None:
        assert time.monotonic() < deadline, f"namespace {namespace} still there 30 s after destroy"
        time.sleep(0.5)
    assert kubectl_get(dev_cluster, "deployment", "smoke-web", "-n", namespace) is None
    run([pulumi, "stack", "rm", "--yes", STACK], project, env)
    print(f"[{name}] pulumi up took {up_seconds:.1f} s against {dev_cluster.server} ({url})")


def _creds(moto: MotoS3) -> dict[str, str]:
    return {
        "aws_access_key_id": moto.aws_env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": moto.aws_env["AWS_SECRET_ACCESS_KEY"],
    }
