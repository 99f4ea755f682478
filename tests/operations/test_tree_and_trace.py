"""`eoepca-gitops tree|trace` on a project whose stack names the self-written install fixture, over a
fake cluster holding what Flux would have made: block `portal`'s Kustomization with its inventory
(a ConfigMap and a HelmRelease from Git), the Helm releases' Secrets and objects, a HelmRelease that
failed before any release. Text and JSON outputs against golden files; the exit codes."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eoepca_gitops.cli.common import load
from eoepca_gitops.cli.main import app
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube import cluster
from eoepca_gitops.operations import collect
from eoepca_gitops.operations.inventory import (
    Ref,
    helm_release_ref,
    inventory_refs,
    manifest_refs,
    release_manifest,
)
from eoepca_gitops.operations.status import StackLayer
from eoepca_gitops.operations.trace import resolve_kind, trace
from eoepca_gitops.operations.tree import block_tree, readiness, tree_text
from tests.fakes import FakeAccess

runner = CliRunner()
REVISION = "main@sha1:0123456789abcdef0123456789abcdef01234567"


def ready(status: str = "True", reason: str = "Succeeded", message: str = "ok") -> list[dict[str, Any]]:
    return [{"type": "Ready", "status": status, "reason": reason, "message": message}]


def release_secret(namespace: str, name: str, revision: int, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """A Helm release Secret as helm-controller stores it: base64 of base64 of gzip of JSON."""
    manifest = "".join(f"---\n# Source: chart/templates/x.yaml\n{yaml.safe_dump(o)}" for o in objects)
    packed = gzip.compress(json.dumps({"name": name, "manifest": manifest}).encode())
    data = base64.b64encode(base64.b64encode(packed)).decode()
    meta = {"namespace": namespace, "name": f"sh.helm.release.v1.{name}.v{revision}"}
    return {"kind": "Secret", "metadata": meta, "data": {"release": data}}


def made_by_helm(kind: str, namespace: str, name: str, release: str) -> dict[str, Any]:
    labels = {"helm.toolkit.fluxcd.io/name": release, "helm.toolkit.fluxcd.io/namespace": namespace}
    annotations = {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace}
    meta = {"name": name, "labels": labels, "annotations": annotations}
    if kind != "ClusterRole":
        meta["namespace"] = namespace
    status = {"conditions": [{"type": "Available", "status": "True"}]} if kind == "Deployment" else {}
    return {"kind": kind, "metadata": meta, "status": status}


def helm_release(name: str, *, history: bool, labels: dict[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": ready()}
    if history:
        status["history"] = [{"name": name, "namespace": "demo", "version": 1, "chartVersion": "1.0.9"}]
    else:
        status["conditions"] = ready("False", "InstallFailed", "chart version 9.9.9\nnot found")
    meta = {"namespace": "demo", "name": name, "generation": 1, "labels": labels or {}}
    return {"kind": "HelmRelease", "metadata": meta, "spec": {}, "status": status}


def cluster_objects(portal_installed: bool) -> list[dict[str, Any]]:
    helm_objects: dict[str, list[dict[str, Any]]] = {
        name: [
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}},
        ]
        for name in ("from-git", "eoepca-portal")
    }
    inventory = [
        {"id": "demo_portal-settings__ConfigMap", "v": "v1"},
        {"id": "demo_from-git_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"},
    ]
    from_git = {
        "kustomize.toolkit.fluxcd.io/name": "portal",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
    }
    objects = [
        {"kind": "Namespace", "metadata": {"name": "demo"}},
        {
            "kind": "GitRepository",
            "metadata": {"namespace": "flux-system", "name": "flux-system", "generation": 1},
            "status": {"conditions": ready(), "artifact": {"revision": REVISION}},
        },
        {
            "kind": "Kustomization",
            "metadata": {"namespace": "flux-system", "name": "portal", "generation": 1},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
            "status": {
                "conditions": ready(),
                "lastAppliedRevision": REVISION,
                "inventory": {"entries": inventory},
            },
        },
        {
            "kind": "ConfigMap",
            "metadata": {"namespace": "demo", "name": "portal-settings", "labels": from_git},
        },
        helm_release("from-git", history=True, labels=from_git),
        helm_release("eoepca-portal", history=portal_installed),
        release_secret("demo", "from-git", 1, helm_objects["from-git"]),
        *(
            made_by_helm(o["kind"], "demo", o["metadata"]["name"], "from-git")
            for o in helm_objects["from-git"]
        ),
    ]
    if portal_installed:
        objects.append(release_secret("demo", "eoepca-portal", 1, helm_objects["eoepca-portal"]))
        objects += [
            made_by_helm(o["kind"], "demo", "eoepca-portal", "eoepca-portal")
            for o in helm_objects["eoepca-portal"]
        ]
    return objects


def namespaced(api_version: str, kind: str) -> bool:
    return kind not in ("ClusterRole", "Namespace")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], FakeAccess]:
    def make(portal_installed: bool) -> FakeAccess:
        access = FakeAccess(*cluster_objects(portal_installed))
        monkeypatch.setattr(cluster.ClusterAccess, "for_stack", classmethod(lambda cls, s: access))
        layer = StackLayer("test", "2026-12-07T10:00:00Z", "succeeded", "feedc0de" * 5)
        monkeypatch.setattr(collect, "stack_layer", lambda *a, **k: layer)
        return access

    return make


# -- the pure parts ---------------------------------------------------------------------------------


def test_an_inventory_names_each_object_with_its_api_version() -> None:
    entries = [
        {"id": "demo_web_apps_Deployment", "v": "v1"},
        {"id": "_demo__Namespace", "v": "v1"},
        {"id": "not-an-id", "v": "v1"},
    ]
    assert inventory_refs({"status": {"inventory": {"entries": entries}}}) == [
        Ref("apps/v1", "Deployment", "demo", "web"),
        Ref("v1", "Namespace", "", "demo"),
    ]
    assert inventory_refs({}) == []


def test_a_release_secret_gives_its_manifest_and_objects_land_in_the_release_namespace() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}},
    ]
    manifest = release_manifest(release_secret("demo", "web", 3, objects))
    assert manifest_refs(manifest, "demo", namespaced) == [
        Ref("rbac.authorization.k8s.io/v1", "ClusterRole", "", "r"),
        Ref("v1", "ConfigMap", "other", "c"),
        Ref("v1", "Service", "demo", "s"),
    ]
    with pytest.raises(GitopsError, match="Helm release Secret x: not a release Helm can read"):
        release_manifest({"metadata": {"name": "x"}, "data": {"release": "bm90IGd6aXA="}})


def test_a_helm_release_is_found_from_the_helmrelease_history() -> None:
    hr = helm_release("web", history=True)
    hr["spec"] = {"storageNamespace": "helm-store"}
    ref = helm_release_ref(hr)
    assert ref is not None
    assert (ref.secret, ref.namespace, ref.storage_namespace) == (
        "sh.helm.release.v1.web.v1",
        "demo",
        "helm-store",
    )
    assert helm_release_ref(helm_release("web", history=False)) is None


@pytest.mark.parametrize(
    ("kind", "obj", "state"),
    [
        ("ConfigMap", {}, "True"),  # exists, no readiness of its own
        ("ConfigMap", None, "Missing"),
        ("StatefulSet", {"status": {"replicas": 2, "readyReplicas": 1}}, "False"),
        ("DaemonSet", {"status": {"desiredNumberScheduled": 1, "numberReady": 1}}, "True"),
        ("Certificate", {"status": {"conditions": ready("False")}}, "False"),
    ],
)
def test_readiness_of_each_kind(kind: str, obj: dict[str, Any] | None, state: str) -> None:
    assert readiness(kind, obj)[0] == state


# -- tree ------------------------------------------------------------------------------------------


def test_tree_of_a_block_goes_down_to_the_helm_releases_objects(
    project: Path, fake: Callable[[bool], FakeAccess], golden: Callable[[str, str], None]
) -> None:
    fake(True)
    proc = runner.invoke(app, ["tree", "--stack", "test", "--block", "portal", "--project", str(project)])
    assert proc.exit_code == 0, proc.output
    golden("tree/portal.txt", proc.stdout)
    proc = runner.invoke(app, ["tree", "-s", "test", "-b", "portal", "-o", "json", "--project", str(project)])
    golden("tree/portal.json", proc.stdout)


def test_tree_shows_where_a_failing_helmrelease_stops(
    project: Path, fake: Callable[[bool], FakeAccess], golden: Callable[[str, str], None]
) -> None:
    fake(False)
    proc = runner.invoke(app, ["tree", "--stack", "test", "--project", str(project)])
    assert proc.exit_code == 1, proc.output
    golden("tree/failing.txt", proc.stdout)
    assert (
        "HelmRelease/demo/eoepca-portal [False] InstallFailed: chart version 9.9.9 not found" in proc.stdout
    )
    assert "(no Helm release made: helm-controller stopped here)" in proc.stdout
    proc = runner.invoke(app, ["tree", "-s", "test", "-o", "yaml", "--project", str(project)])
    [base, portal] = yaml.safe_load(proc.stdout)
    assert (base["name"], portal["name"], portal["ready"]) == ("base", "portal", "False")


def test_tree_of_an_unknown_block_is_one_error(project: Path, fake: Callable[[bool], FakeAccess]) -> None:
    fake(True)
    proc = runner.invoke(app, ["tree", "-s", "test", "-b", "nope", "--project", str(project)])
    assert proc.exit_code == 2
    assert proc.output.strip() == "error: stack test has no block 'nope' (its blocks: base, portal)"


def test_a_missing_object_and_an_unreadable_one_are_nodes_not_failures(project: Path) -> None:
    class Flaky(FakeAccess):
        def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
            if kind == "Service":
                raise GitopsError("reading Service: forbidden")
            return super().get(api_version, kind, namespace, name)

    objects = [o for o in cluster_objects(True) if o["kind"] != "Deployment"]
    manifests = load("test", project).manifests
    root = block_tree(Flaky(*objects), "portal", manifests.blocks["portal"], namespaced)
    states = {(n.kind, n.name): (n.ready, n.reason) for n in root.descendants()}
    assert states[("Deployment", "eoepca-portal")] == ("Missing", "NotFound")
    assert states[("Service", "eoepca-portal")] == ("Unknown", "NotRead")
    assert root.ready == "False"
    assert tree_text([root]).splitlines()[0] == "Block/portal [False] NotReady: 4 not Ready"


# -- trace -----------------------------------------------------------------------------------------


def test_trace_of_a_deployment_pulumis_helmrelease_made(
    project: Path, fake: Callable[[bool], FakeAccess], golden: Callable[[str, str], None]
) -> None:
    fake(True)
    args = ["trace", "-s", "test", "deployment", "eoepca-portal", "-n", "demo", "--project", str(project)]
    proc = runner.invoke(app, args)
    assert proc.exit_code == 0, proc.output
    golden("trace/pulumi-helmrelease.txt", proc.stdout)
    report = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)
    assert report["block"] == "portal"
    assert report["commit"] == "feedc0de" * 5  # the stack's last update: Pulumi applied the HelmRelease
    assert report["pulumi"]["urn"] == (
        "urn:pulumi:test::eoepca-gitops::eoepca:flux:BuildingBlock"
        "$kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease::HelmRelease/demo/eoepca-portal"
    )
    assert [link["role"] for link in report["chain"]] == ["object", "helm release", "HelmRelease"]


def test_trace_of_what_a_helmrelease_from_git_made_names_the_commit_flux_applied(
    project: Path, fake: Callable[[bool], FakeAccess], golden: Callable[[str, str], None]
) -> None:
    fake(True)
    args = ["trace", "-s", "test", "svc/from-git", "-n", "demo", "-o", "json", "--project", str(project)]
    proc = runner.invoke(app, args)
    assert proc.exit_code == 0, proc.output
    golden("trace/from-git.json", proc.stdout)
    report = json.loads(proc.stdout)
    assert [(link["role"], link["name"]) for link in report["chain"]] == [
        ("object", "from-git"),
        ("helm release", "from-git"),
        ("HelmRelease", "from-git"),
        ("Kustomization", "portal"),
        ("source", "flux-system"),
    ]
    assert (report["commit"], report["block"]) == (REVISION, "portal")
    assert report["pulumi"]["urn"].endswith("Kustomization::Kustomization/flux-system/portal")


def test_trace_of_what_pulumi_registers_is_its_resource(
    project: Path, fake: Callable[[bool], FakeAccess]
) -> None:
    fake(True)
    args = ["trace", "-s", "test", "ns/demo", "-o", "yaml", "--project", str(project)]
    report = yaml.safe_load(runner.invoke(app, args).stdout)
    assert report["pulumi"]["urn"].endswith("BuildingBlock$kubernetes:core/v1:Namespace::Namespace/demo")
    assert [link["role"] for link in report["chain"]] == ["object"]


def test_trace_of_an_object_nobody_here_applied_says_so() -> None:
    access = FakeAccess({"kind": "ConfigMap", "metadata": {"namespace": "x", "name": "c"}})
    from eoepca_gitops.manifests.stack import StackManifests

    found = trace(access, StackManifests(flux=[], source=[]), "s", "p", ("v1", "ConfigMap", "x", "c"))
    assert (found.urn, found.block, found.commit) == ("", "", "")
    assert found.notes == ("neither Flux nor this stack applied it as far as its labels tell",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deployment", "nope", "-n", "demo"], "error: Deployment demo/nope: not in the cluster"),
        (["gizmo/x"], "error: trace: unknown kind 'gizmo' (one of: ConfigMap, CronJob, DaemonSet,"),
        (["deployment"], "error: trace: give KIND NAME or KIND/NAME, not 'deployment'"),
    ],
)
def test_trace_errors_are_one_line(
    project: Path, fake: Callable[[bool], FakeAccess], args: list[str], message: str
) -> None:
    fake(True)
    proc = runner.invoke(app, ["trace", "-s", "test", *args, "--project", str(project)])
    assert proc.exit_code == 2
    assert proc.output.startswith(message) and len(proc.output.strip().splitlines()) == 1


def test_a_flux_kind_is_read_in_the_version_the_stack_installs(project: Path) -> None:
    manifests = load("test", project).manifests
    assert resolve_kind("hr", manifests) == ("helm.toolkit.fluxcd.io/v2", "HelmRelease")
    assert resolve_kind("Deployment", manifests) == ("apps/v1", "Deployment")
