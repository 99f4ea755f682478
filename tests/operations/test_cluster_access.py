"""ClusterAccess (operations/cluster.py), the operations' one way to the cluster, over an in-memory API:
objects by kind and version as dicts, a missing one as None, patches of both kinds, the reconcile
request Flux's CLI makes, and every failure to reach the cluster as one GitopsError."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
from lightkube.types import PatchType

from eoepca_gitops.errors import GitopsError, NoKubeconfigError
from eoepca_gitops.kube import cluster as cluster_module
from eoepca_gitops.kube.cluster import REQUESTED_AT, ClusterAccess, requested_token
from eoepca_gitops.model.loader import load_stack
from tests.fakes import FakeKube, api_error
from tests.helpers import FIXTURE_BLOCKS, values

HR = "helm.toolkit.fluxcd.io/v2"


def release(name: str = "portal") -> dict[str, Any]:
    return {
        "kind": "HelmRelease",
        "metadata": {"namespace": "demo", "name": name},
        "spec": {"interval": "1m"},
    }


def deployment() -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"namespace": "flux-system", "name": "helm-controller"},
        "spec": {},
    }


def test_objects_are_read_as_dicts_in_the_version_asked_and_a_missing_one_is_none() -> None:
    access = ClusterAccess(FakeKube(release(), deployment()))  # type: ignore[arg-type]
    got = access.get(HR, "HelmRelease", "demo", "portal")
    assert got is not None and (got["apiVersion"], got["spec"]) == (HR, {"interval": "1m"})
    assert access.get("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "demo", "portal") is not None
    assert access.get(HR, "HelmRelease", "demo", "gone") is None
    assert access.get("apps/v1", "Deployment", "flux-system", "helm-controller") is not None
    assert access.get("v1", "Namespace", "", "flux-system") is None
    assert [o["metadata"]["name"] for o in access.list(HR, "HelmRelease")] == ["portal"]


def test_a_kind_without_an_api_is_refused() -> None:
    access = ClusterAccess(FakeKube())  # type: ignore[arg-type]
    with pytest.raises(GitopsError, match=r"^no Kubernetes API known for Gizmo \(example.org/v1\)$"):
        access.get("example.org/v1", "Gizmo", "ns", "x")


def test_a_kind_not_served_lists_as_nothing() -> None:
    kube = FakeKube(release())
    kube.fail("list", "HelmRelease", api_error(404, "the server could not find the requested resource"))
    assert list(ClusterAccess(kube).list(HR, "HelmRelease")) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            api_error(403, "helmreleases is forbidden"),
            "{what} HelmRelease demo/portal: helmreleases is forbidden",
        ),
        (httpx2.ConnectError("connection refused"), "the cluster does not answer: connection refused"),
        (TimeoutError("timed out"), "the cluster does not answer: timed out"),
    ],
)
def test_every_failure_is_one_error(error: BaseException, message: str) -> None:
    for method, call, what in (
        ("get", lambda a: a.get(HR, "HelmRelease", "demo", "portal"), "reading"),
        ("patch", lambda a: a.merge_patch(HR, "HelmRelease", "demo", "portal", {}), "changing"),
        ("patch", lambda a: a.json_patch(HR, "HelmRelease", "demo", "portal", []), "changing"),
    ):
        kube = FakeKube(release())
        kube.fail(method, "HelmRelease", error)
        with pytest.raises(GitopsError) as exc:
            call(ClusterAccess(kube))  # type: ignore[arg-type, no-untyped-call]
        assert str(exc.value) == message.format(what=what)
    kube = FakeKube(release())
    kube.fail("list", "HelmRelease", error)
    with pytest.raises(GitopsError) as exc:
        list(ClusterAccess(kube).list(HR, "HelmRelease"))  # type: ignore[arg-type]
    assert str(exc.value) == message.format(what="listing").replace(" demo/portal", "")


def test_patches_are_sent_as_their_kind_in_the_objects_namespace() -> None:
    kube = FakeKube(release(), {"kind": "Namespace", "metadata": {"name": "demo"}})
    access = ClusterAccess(kube)  # type: ignore[arg-type]
    access.merge_patch(HR, "HelmRelease", "demo", "portal", {"spec": {"suspend": True}})
    ops = [
        {"op": "test", "path": "/metadata/name", "value": "portal"},
        {"op": "replace", "path": "/spec/interval", "value": "5m"},
    ]
    access.json_patch(HR, "HelmRelease", "demo", "portal", ops)
    access.merge_patch("v1", "Namespace", "", "demo", {"metadata": {"labels": {"a": "b"}}})
    assert [c[1:] for c in kube.calls] == [
        ("HelmRelease", "portal", {"spec": {"suspend": True}}, PatchType.MERGE),
        ("HelmRelease", "portal", ops, PatchType.JSON),
        ("Namespace", "demo", {"metadata": {"labels": {"a": "b"}}}, PatchType.MERGE),
    ]
    assert kube.objects[("HelmRelease", "demo", "portal")]["spec"] == {"interval": "5m", "suspend": True}
    with pytest.raises(GitopsError, match="changing HelmRelease demo/portal: the test operation failed"):
        access.json_patch(HR, "HelmRelease", "demo", "portal", [{**ops[0], "value": "other"}])


def test_a_reconcile_request_is_flux_cli_s_annotation_with_a_fresh_token() -> None:
    kube = FakeKube(release())
    token = ClusterAccess(kube).request_reconcile(HR, "HelmRelease", "demo", "portal")  # type: ignore[arg-type]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", token)
    assert kube.objects[("HelmRelease", "demo", "portal")]["metadata"]["annotations"] == {REQUESTED_AT: token}
    assert REQUESTED_AT == "reconcile.fluxcd.io/requestedAt"
    assert requested_token() >= token  # a later request gets a later token


def test_a_stack_without_kubernetes_configuration_is_one_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stack = load_stack("test", values(kubeContext="other"), set(), "Pulumi.test.yaml", FIXTURE_BLOCKS)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(GitopsError, match=r"^stack test: no Kubernetes configuration: "):
        ClusterAccess.for_stack(stack)
    asked: list[tuple[Any, Any]] = []

    def kube_client(path: Any, context: Any) -> FakeKube:
        asked.append((path, context))
        if context == "other":
            raise NoKubeconfigError("no context 'other' in the kubeconfig")
        return FakeKube()

    monkeypatch.setattr(cluster_module, "kube_client", kube_client)
    with pytest.raises(GitopsError) as exc:
        ClusterAccess.for_stack(stack)
    assert str(exc.value) == "stack test: no Kubernetes configuration: no context 'other' in the kubeconfig"
    plain = load_stack("test", values(), set(), "Pulumi.test.yaml", FIXTURE_BLOCKS)
    assert isinstance(ClusterAccess.for_stack(plain).client, FakeKube)
    assert asked == [(None, "other"), (None, None)]


def test_kubernetes_own_kinds_come_back_as_dicts_too() -> None:
    from lightkube.models.apps_v1 import DeploymentSpec
    from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
    from lightkube.resources.apps_v1 import Deployment

    kube = FakeKube()
    spec = DeploymentSpec(selector=LabelSelector(matchLabels={"app": "x"}), template={}, replicas=0)  # type: ignore[arg-type]
    kube.models = [
        Deployment(metadata=ObjectMeta(name="helm-controller", namespace="flux-system"), spec=spec)
    ]
    got = ClusterAccess(kube).get("apps/v1", "Deployment", "flux-system", "helm-controller")  # type: ignore[arg-type]
    assert got is not None and got["spec"]["replicas"] == 0 and got["metadata"]["name"] == "helm-controller"
    assert isinstance(got, dict)
