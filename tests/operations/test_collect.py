"""Gathering a stack's status (collect.py) and the stack layer from Pulumi: which objects are read, how
their rows are made, what the cluster says of Flux's version, the poller's state, and what is left
to say when the cluster or Pulumi cannot be read. Fake ClusterAccess and PulumiCli."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.manifests.stack import StackManifests, build_stack
from eoepca_gitops.model.loader import load_stack
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.operations import collect as collect_module
from eoepca_gitops.operations.collect import collect, flux_objects, stack_layer
from eoepca_gitops.operations.status import EXIT_ALL_READY, EXIT_CANNOT_TELL, EXIT_NOT_READY, StackLayer
from eoepca_gitops.poller.state import StackState, StateStore, encode
from tests.fakes import FakeAccess, FakePulumi
from tests.helpers import FIXTURE_BLOCKS, fixture_install, values

HISTORY = [
    {
        "kind": "update",
        "startTime": "2026-11-30T05:00:00Z",
        "endTime": "2026-11-30T05:01:00Z",
        "result": "succeeded",
        "environment": {"git.head": "0123456789abcdef"},
    }
]


def stack(**changes: Any) -> tuple[Stack, StackManifests]:
    secrets = {"pollerPassphrase": "p"} if "poller" in changes else {}
    model = load_stack(
        "test", {**values(**changes), **secrets}, set(secrets), "Pulumi.test.yaml", FIXTURE_BLOCKS
    )
    return model, build_stack(model, fixture_install("new"))


def ready(kind: str, namespace: str, name: str, **status: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"namespace": namespace, "name": name},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}], **status},
    }


def available(name: str) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"namespace": "flux-system", "name": name},
        "spec": {"template": {"spec": {"containers": [{"image": f"ghcr.io/fluxcd/{name}:v1.9.0"}]}}},
        "status": {"conditions": [{"type": "Available", "status": "True"}]},
    }


def cluster(version: str = "v2.9.3") -> FakeAccess:
    return FakeAccess(
        {
            "kind": "Namespace",
            "metadata": {"name": "flux-system", "labels": {"app.kubernetes.io/version": version}},
        },
        *(available(n) for n in ("source-controller", "kustomize-controller", "helm-controller")),
        ready("GitRepository", "flux-system", "flux-system", artifact={"revision": "main@sha1:0123"}),
        ready("Kustomization", "flux-system", "portal", lastAppliedRevision="main@sha1:0123"),
        ready("HelmRelease", "demo", "eoepca-portal", history=[{"chartVersion": "1.0.11"}]),
    )


@pytest.fixture
def pulumi(monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    fake = FakePulumi(answers={("stack", "history"): HISTORY, ("preview",): {"steps": []}})
    monkeypatch.setattr(collect_module, "PulumiCli", fake)
    return fake


def use(monkeypatch: pytest.MonkeyPatch, access: FakeAccess) -> None:
    monkeypatch.setattr(ClusterAccess, "for_stack", classmethod(lambda cls, s: access))


def test_the_objects_of_a_status_are_the_stacks_controllers_source_and_flux_objects() -> None:
    _, manifests = stack()
    controllers, source, blocks = flux_objects(manifests)
    assert controllers == [
        ("apps/v1", "Deployment", "flux-system", name)
        for name in ("source-controller", "kustomize-controller", "helm-controller")
    ]
    assert source == ("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "flux-system")
    assert blocks == {
        "base": [],  # a Namespace and a HelmRepository: nothing Flux reconciles for a block
        "portal": [
            ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "portal"),
            ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "demo", "eoepca-portal"),
        ],
    }
    assert flux_objects(StackManifests(flux=[], source=[], blocks={}))[1] is None


def test_a_cluster_where_everything_is_ready(
    pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, manifests = stack()
    access = cluster()
    use(monkeypatch, access)
    said: list[str] = []
    status = collect(model, manifests, tmp_path, progress=said.append)
    assert status.exit_code == EXIT_ALL_READY and status.error == "" and status.notes == ()
    assert status.stack == StackLayer("test", "2026-11-30T05:01:00Z", "succeeded", "0123456789abcdef")
    assert status.flux_version == "v2.9.3"
    assert [(c.name, c.ready, c.revision) for c in status.controllers] == [
        ("source-controller", "True", "v1.9.0"),
        ("kustomize-controller", "True", "v1.9.0"),
        ("helm-controller", "True", "v1.9.0"),
    ]
    assert status.source is not None and status.source.revision == "main@sha1:0123"
    assert [(b.name, [(o.ref, o.revision) for o in b.objects]) for b in status.blocks] == [
        ("base", []),
        (
            "portal",
            [
                ("Kustomization flux-system/portal", "main@sha1:0123"),
                ("HelmRelease demo/eoepca-portal", "1.0.11"),
            ],
        ),
    ]
    assert status.poller is None  # no poller keeps this stack
    assert said == ["stack test: pulumi stack history", "the cluster: Flux install, source, blocks"]
    assert pulumi.runs == [("stack", "history", "--page-size", "1", "--json")]
    read = {(k, ns, n) for _, k, ns, n in access.reads}
    assert ("Namespace", "", "flux-system") in read and len(read) == 7


def test_what_is_not_there_or_not_ready_is_said(
    pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, manifests = stack()
    access = cluster("v2.8.0")
    del access.objects[("HelmRelease", "demo", "eoepca-portal")]
    access.objects[("Deployment", "flux-system", "helm-controller")]["status"] = {}
    use(monkeypatch, access)
    status = collect(model, manifests, tmp_path)
    assert status.exit_code == EXIT_NOT_READY
    assert [(c, o.ref, o.ready) for c, o in status.rows if not o.ok] == [
        ("flux", "Deployment flux-system/helm-controller", "Unknown"),
        ("portal", "HelmRelease demo/eoepca-portal", "Missing"),
    ]
    assert status.flux_version == "v2.8.0"
    assert status.notes == ("the cluster runs Flux v2.8.0; the stack says v2.9.3",)


def test_a_cluster_without_flux_yet_shows_the_stacks_version(
    pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, manifests = stack()
    access = cluster()
    access.objects[("Namespace", "", "flux-system")]["metadata"]["labels"] = {}
    use(monkeypatch, access)
    status = collect(model, manifests, tmp_path)
    assert (status.flux_version, status.notes) == ("v2.9.3", ())
    del access.objects[("Namespace", "", "flux-system")]
    assert collect(model, manifests, tmp_path).flux_version == "v2.9.3"


def test_a_cluster_that_cannot_be_read_still_shows_the_stack(
    pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, manifests = stack()
    access = cluster()
    access.down = True
    use(monkeypatch, access)
    status = collect(model, manifests, tmp_path)
    assert status.exit_code == EXIT_CANNOT_TELL
    assert status.error == "the cluster does not answer: connection refused"
    assert status.stack.result == "succeeded" and status.flux_version == "v2.9.3"
    assert (status.controllers, status.source, status.blocks) == ((), None, ())

    def no_config(cls: Any, s: Stack) -> FakeAccess:
        raise GitopsError("stack test: no Kubernetes configuration: no kubeconfig context")

    monkeypatch.setattr(ClusterAccess, "for_stack", classmethod(no_config))
    assert (
        collect(model, manifests, tmp_path).error
        == "stack test: no Kubernetes configuration: no kubeconfig context"
    )


def test_the_pollers_state_from_a_file_or_its_configmap(
    pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, manifests = stack()
    use(monkeypatch, cluster())
    store = StateStore(tmp_path / "state.json")
    store.put(
        StackState("test", git_revision="a" * 40, applied_revision="a" * 40, failures=2, last_error="x: y")
    )
    poller = collect(model, manifests, tmp_path, state_file=tmp_path / "state.json").poller
    assert poller is not None and set(poller) == {
        "phase",
        "git_revision",
        "applied_revision",
        "last_error",
        "failures",
        "drift",
        "drift_items",
        "last_good_revision",
        "held_revision",
        "held_reason",
        "held_until",
    }
    assert (poller["applied_revision"], poller["failures"], poller["last_error"]) == ("a" * 40, 2, "x: y")
    StateStore(tmp_path / "other.json").put(StackState("other"))
    other = collect(model, manifests, tmp_path, state_file=tmp_path / "other.json").poller
    assert other == {"stack": "test", "phase": "unknown", "note": "no state recorded for this stack yet"}

    polled, manifests = stack(poller={"image": "r/e:1", "backendUrl": "s3://s?region=x"})
    saved: list[Any] = [encode({"test": StackState("test", failures=1)}), None]
    asked: list[tuple[str, str]] = []

    def configmap(access: FakeAccess, namespace: str, name: str) -> Any:
        asked.append((namespace, name))
        return saved.pop(0)

    monkeypatch.setattr(collect_module, "_configmap_state", configmap)
    status = collect(polled, manifests, tmp_path)
    assert asked == [("eoepca-gitops", "eoepca-gitops-poller-state")]
    assert status.poller is not None and status.poller["failures"] == 1
    assert collect(polled, manifests, tmp_path).poller == {
        "stack": "test",
        "phase": "unknown",
        "note": "no state recorded for this stack yet",
    }  # nothing saved yet


def test_the_stack_layer_says_what_pulumi_says(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def layer(fake: FakePulumi, preview: bool = False) -> StackLayer:
        monkeypatch.setattr(collect_module, "PulumiCli", fake)
        return stack_layer("test", tmp_path, preview)

    assert layer(FakePulumi(answers={("stack", "history"): HISTORY})) == StackLayer(
        "test", "2026-11-30T05:01:00Z", "succeeded", "0123456789abcdef"
    )
    with_env = FakePulumi()
    monkeypatch.setattr(collect_module, "PulumiCli", with_env)
    stack_layer("test", tmp_path, False, {"PULUMI_BACKEND_URL": "file:///x"})
    assert with_env.env == {"PULUMI_BACKEND_URL": "file:///x"}
    running = [{"startTime": "2026-11-30T05:00:00Z", "result": "in-progress"}]
    assert layer(FakePulumi(answers={("stack", "history"): running})) == StackLayer(
        "test", "2026-11-30T05:00:00Z", "in-progress", ""
    )
    assert layer(FakePulumi(answers={("stack", "history"): []})) == StackLayer("test", result="never updated")
    assert layer(FakePulumi()) == StackLayer("test", result="never updated")
    steps = {"steps": [{"op": "same"}, {"op": "update"}, {"op": "update"}, {"op": "create"}]}
    planned = FakePulumi(answers={("stack", "history"): HISTORY, ("preview",): steps})
    assert layer(planned, preview=True).pending == {"update": 2, "create": 1}
    assert planned.runs[-1] == ("preview", "--json")
    assert layer(FakePulumi(answers={("stack", "history"): HISTORY, ("preview",): {}}), True).pending == {}
    assert layer(FakePulumi(missing="pulumi is not on PATH")) == StackLayer(
        "test", error="pulumi is not on PATH"
    )
    failing = FakePulumi(answers={("stack", "history"): GitopsError("pulumi stack --stack test: no stack")})
    assert layer(failing) == StackLayer("test", error="pulumi stack --stack test: no stack")


def test_a_status_with_preview_says_so_while_it_runs(
    pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, manifests = stack()
    use(monkeypatch, cluster())
    said: list[str] = []
    status = collect(model, manifests, tmp_path, preview=True, progress=said.append)
    assert said[0] == "stack test: pulumi stack history and preview"
    assert status.stack.pending == {}
