"""The Poller component against the local API server: its objects are created by the real engine,
the Deployment becomes Available, RBAC is scoped to the managed namespace (checked with the API
server's own authorizer), and the passphrase is only in the Secret, encrypted in state."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.integration

KUBECTL = Path(sys.executable).parent / "kubectl"
PASSPHRASE_VALUE = "poller-secret-4b1e9a7c"

PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_kubernetes as k8s

    from eoepca_gitops.manifests.poller import poller_objects
    from eoepca_gitops.model import PollerConfig
    from components.poller import Poller, PollerArgs

    cfg = pulumi.Config()
    provider = k8s.Provider("cluster", kubeconfig=cfg.require("kubeconfig"))
    config = PollerConfig(
        image="registry.example/eoepca-gitops:test",
        git_url="https://git.example/config.git",
        branch="main",
        stacks=["dev"],
        name="poller",
        namespace=cfg.require("namespace"),
        managed_namespaces=[cfg.require("managed")],
        backend_url="s3://state",
    )
    objects = poller_objects(config, {"PULUMI_CONFIG_PASSPHRASE": cfg.require_secret("passphrase")})
    poller = Poller("poller", PollerArgs(config, objects), opts=pulumi.ResourceOptions(providers=[provider]))
    pulumi.export("service", poller.service_name)
    pulumi.export("namespace", poller.namespace)
    """
)


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def kubectl(cluster: DevClusterHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(cluster.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_poller_component_on_the_api_server(
    tools_env: dict[str, str], dev_cluster: DevClusterHandle, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    ns, managed, other = f"poller-{suffix}", f"managed-{suffix}", f"other-{suffix}"
    for n in (managed, other):
        assert kubectl(dev_cluster, "create", "namespace", n).returncode == 0
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: poller-test\nruntime:\n  name: python\n")
    (project / "__main__.py").write_text(PROGRAM)
    backend = tmp_path / "backend"
    backend.mkdir()
    env = {
        **tools_env,
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_PYTHON_CMD": sys.executable,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), tools_env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    run(["pulumi", "stack", "init", "dev", "--secrets-provider", "passphrase"], project, env)
    run(["pulumi", "config", "set", "kubeconfig", str(dev_cluster.kubeconfig)], project, env)
    run(["pulumi", "config", "set", "namespace", ns], project, env)
    run(["pulumi", "config", "set", "managed", managed], project, env)
    run(["pulumi", "config", "set", "--secret", "passphrase", PASSPHRASE_VALUE], project, env)
    out = run(["pulumi", "up", "--yes", "--skip-preview", "--non-interactive"], project, env, timeout=600)
    assert PASSPHRASE_VALUE not in out

    # The engine created the component and its children; the Deployment is Available (awaited).
    state = run(["pulumi", "stack", "export"], project, env)
    assert PASSPHRASE_VALUE not in state
    types = {r["type"] for r in json.loads(state)["deployment"]["resources"]}
    assert "eoepca:gitops:Poller" in types
    dep = json.loads(kubectl(dev_cluster, "-n", ns, "get", "deployment", "poller", "-o", "json").stdout)
    conditions = {c["type"]: c["status"] for c in dep["status"].get("conditions", [])}
    assert conditions.get("Available") == "True"
    assert PASSPHRASE_VALUE not in json.dumps(dep)
    secret = json.loads(kubectl(dev_cluster, "-n", ns, "get", "secret", "poller-env", "-o", "json").stdout)
    assert base64.b64decode(secret["data"]["PULUMI_CONFIG_PASSPHRASE"]).decode() == PASSPHRASE_VALUE
    svc = json.loads(kubectl(dev_cluster, "-n", ns, "get", "service", "poller", "-o", "json").stdout)
    assert svc["spec"]["ports"][0]["port"] == 9464

    # RBAC: full rights in the managed namespace, nothing elsewhere (the API server decides).
    sa = f"system:serviceaccount:{ns}:poller"

    def can(verb: str, resource: str, namespace: str) -> str:
        return kubectl(
            dev_cluster, "auth", "can-i", verb, resource, "-n", namespace, "--as", sa
        ).stdout.strip()

    assert can("create", "configmaps", managed) == "yes"
    assert can("patch", "deployments.apps", managed) == "yes"
    assert can("create", "configmaps", other) == "no"
    assert can("list", "secrets", "kube-system") == "no"
    # Its own namespace: the state ConfigMap; no Lease rights when the lease is off.
    assert can("update", "configmaps", ns) == "yes"
    assert can("create", "leases.coordination.k8s.io", ns) == "no"
