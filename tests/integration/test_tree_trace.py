"""`tree` and `trace` on the dev cluster with the real Flux controllers (issue 26).

A stack of its own (`treetrace`, the local stack's settings pointed at this session's cluster) with
system-common and one block of its own, `tree-trace`, in its own namespace: a Kustomization that
applies a ConfigMap and a HelmRelease from Git, a HelmRelease Pulumi applies, and one whose chart
version does not exist. Everything it writes into the served repository it takes out again.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.conftest import DevClusterHandle
from tests.integration.local_stack import LocalStack, local_stack_file, ready, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]

STACK, BLOCK, NS = "treetrace", "tree-trace", "tree-trace"
SOURCE = {"kind": "HelmRepository", "name": "eoepca", "namespace": "common"}


def release(name: str, version: str) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "chart": "eoepca-portal", "version": version,
            "sourceRef": SOURCE, "interval": "1m0s", "timeout": "30s"}  # fmt: skip


BLOCK_FILE = {
    "name": BLOCK,
    "namespaces": [NS],
    "dependsOn": ["system-common"],
    "kustomization": {"path": BLOCK, "interval": "1m0s"},
    "helmReleases": [release("app", "1.0.9"), release("broken", "9.9.9")],
}
# What the block's Kustomization applies from Git (<git.path>/tree-trace of the local stack).
FROM_GIT = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": NS},
     "data": {"a": "b"}},
    {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
     "metadata": {"name": "from-git", "namespace": NS},
     "spec": {"interval": "1m0s", "timeout": "30s",
              "chart": {"spec": {"chart": "eoepca-portal", "version": "1.0.9", "sourceRef": SOURCE}}}},
]  # fmt: skip


@pytest.fixture(scope="module")
def stack(
    dev_cluster: DevClusterHandle, tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    assert dev_cluster.git_repo and dev_cluster.git_url and dev_cluster.charts_url
    project = dev_cluster.git_repo
    env = stack_env(tools_env, tmp_path_factory.mktemp("treetrace-state"))
    raw = local_stack_file(dev_cluster)
    config = raw["config"]
    # The broken release never becomes Ready: the update waits for the Kustomizations only.
    config["eoepca-gitops:await"]["helmReleases"] = False
    config["eoepca-gitops:blocks"] = ["system-common", BLOCK]
    written = [
        project / f"Pulumi.{STACK}.yaml",
        project / "clusters" / "blocks" / f"{BLOCK}.yaml",
        project / "clusters" / "local" / BLOCK / "kustomization.yaml",
        project / "clusters" / "local" / BLOCK / "objects.yaml",
    ]
    written[0].write_text(yaml.safe_dump(raw, sort_keys=False))
    written[1].write_text(yaml.safe_dump(BLOCK_FILE, sort_keys=False))
    written[2].parent.mkdir(exist_ok=True)
    kustomize = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    written[2].write_text(yaml.safe_dump({**kustomize, "resources": ["objects.yaml"]}))
    written[3].write_text(yaml.safe_dump_all(FROM_GIT))
    local = LocalStack(dev_cluster, project, env, name=STACK)
    local.commit("the tree and trace stack and block")
    subprocess.run(["pulumi", "stack", "init", STACK], cwd=project, env=env, check=True, capture_output=True)
    try:
        local.pulumi("up", "--yes", "--skip-preview")
        yield local
    finally:
        local.pulumi("destroy", "--yes", "--skip-preview", check=False)
        for path in written:
            path.unlink(missing_ok=True)
        written[2].parent.rmdir()
        local.commit("tree and trace are done")


def cli(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    return stack.cli(*args, "--stack", STACK)


def settled(stack: LocalStack) -> bool:
    """Both good releases installed, and helm-controller's verdict on the broken one given."""
    good = all(ready(stack.get("helmrelease", n, NS) or {"metadata": {}}) for n in ("app", "from-git"))
    broken = stack.get("helmrelease", "broken", NS) or {}
    conditions = (broken.get("status") or {}).get("conditions") or []
    return good and any(c["type"] == "Ready" and "9.9.9" in c.get("message", "") for c in conditions)


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node["children"]:
        yield from nodes(child)


def test_tree_goes_down_to_the_helm_objects_and_shows_where_a_failing_release_stops(
    stack: LocalStack,
) -> None:
    wait_for("the releases to be installed and the broken one refused", lambda: settled(stack))
    proc = cli(stack, "tree", "--block", BLOCK, "-o", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the broken release is not Ready
    root = json.loads(proc.stdout)
    found = {(n["kind"], n["namespace"], n["name"]): n for n in nodes(root)}
    kustomization = found[("Kustomization", "flux-system", BLOCK)]
    assert {(c["kind"], c["name"]) for c in kustomization["children"]} == {
        ("ConfigMap", "settings"),
        ("HelmRelease", "from-git"),
    }
    for name in ("app", "from-git"):
        objects = {(c["kind"], c["name"], c["ready"]) for c in found[("HelmRelease", NS, name)]["children"]}
        assert objects == {("ConfigMap", f"{name}-values", "True"), ("Deployment", name, "True")}, name
    broken = found[("HelmRelease", NS, "broken")]
    assert broken["ready"] == "False" and "9.9.9" in broken["message"], broken
    assert broken["children"] == [] and "stopped here" in broken["note"]
    text = cli(stack, "tree", "--block", BLOCK).stdout
    assert f"HelmRelease/{NS}/broken [False]" in text
    assert f"    └── Deployment/{NS}/app [True]" in text or f"│   └── Deployment/{NS}/app [True]" in text


def test_trace_names_the_commit_block_helmrelease_and_pulumi_resource(stack: LocalStack) -> None:
    wait_for("the releases to be installed", lambda: settled(stack))
    head = subprocess.run(
        ["git", "-C", str(stack.project), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    proc = cli(stack, "trace", "deployment/app", "-n", NS, "-o", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [(link["role"], link["name"]) for link in report["chain"]] == [
        ("object", "app"), ("helm release", "app"), ("HelmRelease", "app")
    ]  # fmt: skip
    assert report["block"] == BLOCK
    assert report["pulumi"]["urn"] == (
        f"urn:pulumi:{STACK}::eoepca-gitops::eoepca:flux:BuildingBlock"
        f"$kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease::HelmRelease/{NS}/app"
    )
    assert report["commit"] == head  # the commit the stack's update ran at
    # What Flux applied from Git: the revision its Kustomization applied, and that block's resource.
    report = json.loads(cli(stack, "trace", "deployment", "from-git", "-n", NS, "-o", "json").stdout)
    assert [link["role"] for link in report["chain"]] == [
        "object", "helm release", "HelmRelease", "Kustomization", "source"
    ]  # fmt: skip
    assert report["commit"].endswith(head) and report["block"] == BLOCK
    assert report["pulumi"]["urn"].endswith(f"Kustomization::Kustomization/flux-system/{BLOCK}")
    text = cli(stack, "trace", "deployment", "app", "-n", NS).stdout
    assert f"block         {BLOCK}" in text and f"commit        {head}" in text
