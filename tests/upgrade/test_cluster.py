"""The upgrade's reads of a live cluster (eoepca_gitops.upgrade.live) and its migration step
(eoepca_gitops.upgrade.migrate), against an in-memory API (tests/fakes.py): what is read, what
is written in which order, what a run stopped halfway leaves for the next, and every failure as one
GitopsError. The same steps against a real API server are in tests/integration/test_upgrade.py."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret
from lightkube.types import PatchType

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.client import FIELD_MANAGER
from eoepca_gitops.kube.resources import flux_resource
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.upgrade import live as live_module
from eoepca_gitops.upgrade import migrate as migrate_module
from eoepca_gitops.upgrade.live import list_all, read_live, read_live_crds, read_stack_cluster
from eoepca_gitops.upgrade.migrate import migrate_storage
from eoepca_gitops.upgrade.plan import LiveObject, LiveRelease
from tests.fakes import FakeKube, api_error
from tests.helpers import fixture_install

HR = "helmreleases.helm.toolkit.fluxcd.io"
GIT = "gitrepositories.source.toolkit.fluxcd.io"
KS = "kustomizations.kustomize.toolkit.fluxcd.io"
HELM = "helm.toolkit.fluxcd.io"


def live_crds(release: str, stored: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """A fixture release's CRDs as the API server returns them: each storing its storage version."""
    out = []
    for obj in fixture_install(release):
        if obj["kind"] == "CustomResourceDefinition":
            names = [v["name"] for v in obj["spec"]["versions"] if v["storage"]]
            out.append(
                {**obj, "status": {"storedVersions": (stored or {}).get(obj["metadata"]["name"], names)}}
            )
    return out


def helm_release(name: str, *managed: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": f"{HELM}/v2beta1",
        "kind": "HelmRelease",
        "metadata": {
            "name": name,
            "namespace": "demo",
            "labels": labels or {},
            "managedFields": list(managed),
        },
        "spec": {"interval": "5m", "chart": {"spec": {"chart": "c"}}},
    }


def helm_secret(namespace: str, name: str, version: str, status: str, **labels: str) -> Secret:
    return Secret(
        metadata=ObjectMeta(
            name=f"sh.helm.release.v1.{name}.v{version}",
            namespace=namespace,
            labels={"owner": "helm", "name": name, "version": version, "status": status, **labels},
        )
    )


SLEPT: list[float] = []


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pauses between retries (time.sleep in live and migrate) take no time; SLEPT says which."""
    SLEPT.clear()
    monkeypatch.setattr(time, "sleep", SLEPT.append)


# -- live: what the plan reads -------------------------------------------------------------------


def test_only_fluxs_crds_are_read_with_their_stored_versions_conversion_and_release() -> None:
    crds = {c["metadata"]["name"]: c for c in live_crds("middle", {HR: ["v2beta1", "v2"]})}
    crds[GIT]["spec"]["conversion"] = {"strategy": "Webhook"}
    crds[KS]["metadata"]["labels"] = {}
    found = read_live_crds(FakeKube(*crds.values()))  # type: ignore[arg-type]
    assert [
        (c.name, c.group, c.kind, c.plural, c.stored, c.conversion, c.release, c.storage) for c in found
    ] == [
        (
            GIT,
            "source.toolkit.fluxcd.io",
            "GitRepository",
            "gitrepositories",
            ("v1",),
            "Webhook",
            "v2.3.0",
            "v1",
        ),
        (HR, HELM, "HelmRelease", "helmreleases", ("v2beta1", "v2"), "None", "v2.3.0", "v2"),
        (KS, "kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations", ("v1",), "None", None, "v1"),
    ]  # sealedsecrets.bitnami.com is not Flux's
    assert found[1].versions == tuple(crds[HR]["spec"]["versions"])
    bare = {**crds[GIT], "metadata": {"name": GIT}, "spec": {**crds[GIT]["spec"], "versions": None}}
    del bare["status"]
    (only,) = read_live_crds(FakeKube(bare))  # type: ignore[arg-type]
    assert (only.stored, only.versions, only.release, only.storage) == ((), (), None, "")


def test_a_cluster_staying_on_its_release_costs_one_list_of_crds() -> None:
    kube = FakeKube(*live_crds("new"), helm_release("a"))
    flux = read_live(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert (flux.objects, flux.releases, len(flux.crds)) == ((), (), 4)
    assert kube.calls == [("list", "CustomResourceDefinition", "")]


@pytest.mark.parametrize(
    ("release", "stored"),
    [
        ("old", {}),  # stores a version the new release does not
        ("middle", {HR: ["v2beta1", "v2"]}),  # stores the new version and an old one
        ("middle", {}),  # serves a version the new release drops (its objects may be in Git)
    ],
)
def test_a_cluster_whose_crds_change_has_its_objects_and_releases_read(
    release: str, stored: dict[str, list[str]]
) -> None:
    applied = {"manager": "kustomize-controller", "operation": "Apply", "apiVersion": f"{HELM}/v2beta1"}
    kube = FakeKube(
        *live_crds(release, stored),
        helm_release("a", applied, labels={"kustomize.toolkit.fluxcd.io/name": "apps"}),
        helm_release("b", {**applied, "operation": "Update"}, {"manager": "helm", "operation": "Apply"}),
    )
    kube.models = [
        helm_secret("demo", "a", "99", "deployed", owner="someone-else"),  # not Helm's
        helm_secret("demo", "a", "1", "superseded"),
        helm_secret("demo", "a", "2", "pending-upgrade"),
        helm_secret("demo", "a", "10", "deployed"),  # revisions compare as numbers
        helm_secret("demo", "b", "x", "deployed"),  # not a revision
        helm_secret("other", "a", "3", "deployed"),
        Secret(metadata=ObjectMeta(name="no-labels", namespace="demo", labels={"owner": "helm"})),
        Secret(metadata=None),
    ]
    flux = read_live(kube, fixture_install("new"))  # type: ignore[arg-type]
    read_in = f"{HELM}/{'v2beta1' if release == 'old' else 'v2'}"  # the live storage version
    spec = helm_release("a")["spec"]
    assert flux.objects == (
        LiveObject("HelmRelease", "demo", "a", read_in, spec, f"{HELM}/v2beta1", "apps"),
        LiveObject("HelmRelease", "demo", "b", read_in, spec),
    )
    assert flux.releases == (
        LiveRelease("demo", "a", 10, "deployed"),
        LiveRelease("other", "a", 3, "deployed"),
    )
    assert ("list", "Secret", "*") in kube.calls
    assert ("list", "HelmRelease", "*") in kube.calls


def test_helm_releases_are_read_from_helms_own_secrets_only() -> None:
    kube = FakeKube(*live_crds("old"))
    kube.models = [
        Secret(
            metadata=ObjectMeta(name="n", namespace="demo", labels={"owner": "helm", "version": "3"})
        ),  # no name
        Secret(
            metadata=ObjectMeta(name="s", labels={"owner": "helm", "name": "x", "version": "2"})
        ),  # no namespace
        Secret(
            metadata=ObjectMeta(
                name="t", namespace="demo", labels={"owner": "helm", "name": "y", "version": "1"}
            )
        ),
    ]
    flux = read_live(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert flux.releases == (LiveRelease("", "x", 2, ""), LiveRelease("demo", "y", 1, ""))


def test_an_object_without_a_namespace_reads_with_none() -> None:
    kube = FakeKube(*live_crds("old"))
    kube.objects[("HelmRelease", "", "cluster-wide")] = {
        "kind": "HelmRelease",
        "metadata": {"name": "cluster-wide"},
        "spec": {},
    }
    (obj,) = read_live(kube, fixture_install("new")).objects  # type: ignore[arg-type]
    assert (obj.namespace, str(obj)) == ("", "HelmRelease cluster-wide")


def test_objects_of_a_crd_without_a_storage_version_are_not_listed() -> None:
    crds = live_crds("old")
    for crd in crds:
        for version in crd["spec"]["versions"]:
            version["storage"] = False
    kube = FakeKube(*crds, helm_release("a"))
    assert read_live(kube, fixture_install("new")).objects == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (api_error(403, "forbidden"), "reading Flux's objects in the cluster: forbidden"),
        (ConnectionRefusedError("connection refused"), "the cluster does not answer: connection refused"),
        (httpx2.ConnectError("no route"), "the cluster does not answer: no route"),
    ],
)
def test_a_cluster_that_cannot_be_read_is_one_error(error: BaseException, message: str) -> None:
    kube = FakeKube()
    kube.fail("list", "CustomResourceDefinition", error)
    with pytest.raises(GitopsError) as exc:
        read_live(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert str(exc.value) == message


def test_a_busy_api_server_is_asked_again_until_it_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    kube = FakeKube(helm_release("a"))
    busy = httpx2.HTTPStatusError(
        "busy", request=httpx2.Request("GET", "https://x"), response=httpx2.Response(503)
    )
    kube.fail("list", "HelmRelease", api_error(429), busy, api_error(503))
    resource = flux_resource(HELM, "v2", "HelmRelease", "helmreleases")
    assert [o["metadata"]["name"] for o in list_all(kube, resource, namespace="*")] == ["a"]  # type: ignore[arg-type]
    assert len(kube.calls) == 4 and SLEPT == [0.5, 0.5, 0.5]
    kube.fail("list", "HelmRelease", api_error(404))
    with pytest.raises(Exception, match="404"):
        list_all(kube, resource)  # type: ignore[arg-type]
    kube.fail("list", "HelmRelease", api_error(404))
    assert len(list_all(kube, resource, (404,))) == 1  # type: ignore[arg-type]
    # after a minute of it, the answer stands
    now = iter([0.0, 60.0])  # at the minute exactly it is asked once more
    monkeypatch.setattr(time, "monotonic", lambda: next(now, 60.5))
    kube.fail("list", "HelmRelease", api_error(503))
    assert len(list_all(kube, resource)) == 1  # type: ignore[arg-type]
    now = iter([0.0, 30.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(now, 61.0))
    kube.fail("list", "HelmRelease", api_error(503), api_error(503))
    with pytest.raises(Exception, match="503"):
        list_all(kube, resource)  # type: ignore[arg-type]


def test_one_class_per_flux_kind_and_version() -> None:
    a = flux_resource(HELM, "v2", "HelmRelease", "helmreleases")
    assert flux_resource(HELM, "v2", "HelmRelease", "helmreleases") is a
    assert flux_resource(HELM, "v2beta1", "HelmRelease", "helmreleases") is not a


def test_a_stack_without_kubernetes_configuration_is_checked_in_git_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from eoepca_gitops.model.loader import load_stack
    from tests.helpers import FIXTURE_BLOCKS, values

    stack: Stack = load_stack(
        "t", values(kubeContext="elsewhere"), set(), "Pulumi.t.yaml", FIXTURE_BLOCKS, tmp_path
    )
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    warnings: list[str] = []
    assert read_stack_cluster(stack, fixture_install("new"), warnings.append) is None
    assert len(warnings) == 1 and warnings[0].startswith(
        "the cluster was not read (no Kubernetes configuration: "
    )
    assert warnings[0].endswith("): the upgrade gate checks Git only")
    kube = FakeKube(*live_crds("new"))
    asked: list[tuple[Any, Any]] = []

    def kube_client(path: Any, context: Any) -> FakeKube:
        asked.append((path, context))
        return kube

    monkeypatch.setattr(live_module, "kube_client", kube_client)
    flux = read_stack_cluster(stack, fixture_install("new"), warnings.append)
    assert flux is not None and len(flux.crds) == 4 and len(warnings) == 1
    assert asked == [(None, "elsewhere")] and kube.calls[-1] == ("close", "", "")


# -- migrate: the step -----------------------------------------------------------------------------


def _crd(kube: FakeKube, name: str) -> dict[str, Any]:
    return kube.objects[("CustomResourceDefinition", "", name)]


def test_the_migration_bridges_rewrites_and_cleans_each_crd_storing_an_old_version() -> None:
    pulumi = {"manager": "pulumi-kubernetes-1", "operation": "Apply", "apiVersion": f"{HELM}/v2beta1"}
    ours = {"manager": FIELD_MANAGER, "operation": "Update", "apiVersion": f"{HELM}/v2"}
    kube = FakeKube(*live_crds("old"), helm_release("a", pulumi), helm_release("b", pulumi, ours))
    done = migrate_storage(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert done == [
        "GitRepository: 0 object(s) stored as source.toolkit.fluxcd.io/v1 (was v1beta1)",
        "HelmRelease: 2 object(s) stored as helm.toolkit.fluxcd.io/v2 (was v2beta1)",
        "Kustomization: 0 object(s) stored as kustomize.toolkit.fluxcd.io/v1 (was v1beta2)",
    ]
    hr = _crd(kube, HR)
    assert [(v["name"], v["served"], v["storage"]) for v in hr["spec"]["versions"]] == [
        ("v2beta1", True, False),
        ("v2", True, True),
    ]
    assert hr["status"]["storedVersions"] == ["v2"]
    helm_calls = [c[:3] for c in kube.calls if "HelmRelease" in str(c[1]) or c[2] == HR]
    assert helm_calls == [
        ("patch", "CustomResourceDefinition", HR),  # the bridge first
        ("list", "HelmRelease", "*"),  # served in the new version
        ("list", "HelmRelease", "*"),
        ("replace", "HelmRelease", "a"),
        ("replace", "HelmRelease", "b"),
        ("replace", "HelmRelease", "b"),  # its own managedFields entry dropped
        ("patch", "CustomResourceDefinition/status", HR),  # then the stored versions cleaned
    ]
    for name in ("a", "b"):
        obj = kube.objects[("HelmRelease", "demo", name)]
        assert obj["apiVersion"] == f"{HELM}/v2"
        assert obj["metadata"]["managedFields"] == [{**pulumi, "apiVersion": f"{HELM}/v2"}]
    patches = {c[2]: (c[3], c[4]) for c in kube.calls if c[0] == "patch" and c[1].endswith("status")}
    assert patches[HR] == ({"status": {"storedVersions": ["v2"]}}, PatchType.MERGE)
    bridge = next(c for c in kube.calls if c[:3] == ("patch", "CustomResourceDefinition", HR))
    assert bridge[4] == PatchType.MERGE
    # done: a second run finds nothing to do and writes nothing
    before = len(kube.calls)
    assert migrate_storage(kube, fixture_install("new")) == []  # type: ignore[arg-type]
    assert kube.calls[before:] == [("list", "CustomResourceDefinition", "")]


def test_a_crd_already_storing_the_new_version_is_rewritten_without_a_bridge() -> None:
    kube = FakeKube(*live_crds("middle", {HR: ["v2beta1", "v2"]}), helm_release("a"))
    versions = copy.deepcopy(_crd(kube, HR)["spec"]["versions"])
    done = migrate_storage(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert done == ["HelmRelease: 1 object(s) stored as helm.toolkit.fluxcd.io/v2 (was v2beta1, v2)"]
    assert _crd(kube, HR)["spec"]["versions"] == versions
    assert ("patch", "CustomResourceDefinition", HR) not in [c[:3] for c in kube.calls]
    assert _crd(kube, HR)["status"]["storedVersions"] == ["v2"]


def test_a_run_stopped_after_the_bridge_is_finished_by_the_next() -> None:
    kube = FakeKube(*live_crds("old"), helm_release("a"))
    kube.fail("replace", "HelmRelease", api_error(500, "etcd leader changed"))
    with pytest.raises(GitopsError, match=r"^migrating Flux's stored API versions: etcd leader changed$"):
        migrate_storage(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert _crd(kube, HR)["status"]["storedVersions"] == ["v2beta1"]  # not cleaned: objects left
    done = migrate_storage(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert done == [
        "HelmRelease: 1 object(s) stored as helm.toolkit.fluxcd.io/v2 (was v2beta1)",
        "Kustomization: 0 object(s) stored as kustomize.toolkit.fluxcd.io/v1 (was v1beta2)",
    ]  # GitRepository was done before the failure
    # the bridge made the CRD store v2 already: no second bridge
    assert [c[:3] for c in kube.calls].count(("patch", "CustomResourceDefinition", HR)) == 1


def test_an_object_changed_meanwhile_is_read_again_and_one_deleted_meanwhile_is_left() -> None:
    kube = FakeKube(*live_crds("old"), helm_release("a"), helm_release("gone"))
    kube.fail(
        "replace",
        "HelmRelease",
        api_error(409, "the object has been modified"),
        api_error(429),
        api_error(503),
    )
    real_replace = kube.replace

    def replace(obj: Mapping[str, Any]) -> dict[str, Any]:
        if obj["metadata"]["name"] == "gone":
            kube.objects.pop(("HelmRelease", "demo", "gone"), None)
        return real_replace(obj)

    kube.replace = replace  # type: ignore[method-assign]
    kube.fail("list", "HelmRelease", api_error(404))  # the bridged CRD is served a moment later
    migrate_storage(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert 0.5 in SLEPT and 0.2 in SLEPT  # asked again after those pauses
    helm = [c[:3] for c in kube.calls if c[1] == "HelmRelease"]
    assert helm[3:] == [
        ("replace", "HelmRelease", "a"),  # 409: changed meanwhile
        ("get", "HelmRelease", "a"),
        ("replace", "HelmRelease", "a"),  # 429, then 503: asked again as it was
        ("replace", "HelmRelease", "a"),
        ("replace", "HelmRelease", "a"),
        ("replace", "HelmRelease", "gone"),  # 404: nothing left to store
    ]
    assert kube.objects[("HelmRelease", "demo", "a")]["apiVersion"] == f"{HELM}/v2"


def test_retries_end() -> None:
    kube = FakeKube(*live_crds("old"), helm_release("a"))
    kube.fail("replace", "HelmRelease", *[api_error(409, "still changing")] * migrate_module._RETRIES)
    with pytest.raises(GitopsError, match="still changing"):
        migrate_storage(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert [c[0] for c in kube.calls if c[1] == "HelmRelease"].count("replace") == migrate_module._RETRIES


def test_a_cluster_that_does_not_answer_is_one_error() -> None:
    kube = FakeKube(*live_crds("old"))
    kube.fail("patch", "CustomResourceDefinition", ConnectionResetError("connection reset"))
    with pytest.raises(
        GitopsError, match=r"^migrating Flux's stored API versions: no answer: connection reset$"
    ):
        migrate_storage(kube, fixture_install("new"))  # type: ignore[arg-type]


def test_crds_the_new_release_does_not_install_are_left_alone() -> None:
    kube = FakeKube(*live_crds("old"))
    assert migrate_storage(kube, [o for o in fixture_install("new") if "helm" not in str(o)]) == [  # type: ignore[arg-type]
        "GitRepository: 0 object(s) stored as source.toolkit.fluxcd.io/v1 (was v1beta1)",
        "Kustomization: 0 object(s) stored as kustomize.toolkit.fluxcd.io/v1 (was v1beta2)",
    ]
    assert _crd(kube, HR)["status"]["storedVersions"] == ["v2beta1"]


def test_crds_are_read_whatever_comes_first_and_as_lightkubes_models_too() -> None:
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    other = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "aaa.example.org"},
        "spec": {"group": "example.org", "names": {"kind": "A", "plural": "aaa"}, "versions": []},
    }
    kube = FakeKube(other, *live_crds("new"))  # a CRD of another group listed first
    kinds = [c.kind for c in read_live_crds(kube)]  # type: ignore[arg-type]
    assert kinds == ["Bucket", "GitRepository", "HelmRelease", "Kustomization"]
    models = FakeKube()
    models.models = [CustomResourceDefinition.from_dict(crd) for crd in live_crds("new")]
    assert [c.name for c in read_live_crds(models)][:1] == ["buckets.source.toolkit.fluxcd.io"]  # type: ignore[arg-type]


def test_a_crd_the_new_release_does_not_install_and_one_no_longer_served_change_nothing_to_read() -> None:
    crds = live_crds("new")
    oci = {
        **crds[0],
        "metadata": {"name": "ocirepositories.source.toolkit.fluxcd.io"},
        "spec": {**crds[0]["spec"], "names": {"kind": "OCIRepository", "plural": "ocirepositories"}},
    }
    git = next(c for c in crds if c["metadata"]["name"] == GIT)
    git["spec"]["versions"] = [
        {**git["spec"]["versions"][0]},
        {"name": "v1beta2", "served": False, "storage": False},
    ]
    kube = FakeKube(*crds, oci, helm_release("a"))
    read_live(kube, fixture_install("new"))  # type: ignore[arg-type]
    assert kube.calls == [("list", "CustomResourceDefinition", "")]
