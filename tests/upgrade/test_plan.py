"""The upgrade plan from what a live cluster holds to a new Flux release: which CRDs' objects are
rewritten (through a bridge or not), what is refused (fields a rewrite drops, Helm actions running, a
conversion webhook, a downgrade), the live half of the gate, the fields a schema drops, and object
identity across API versions.

The releases are the self-written fixtures of tests/fixtures/flux-install (old, middle, new); the
last tests check the same facts against Flux's real v0.24.0 and v2.9.3 manifests where they are here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.flux_apis import crd_specs
from eoepca_gitops.manifests.api_gate import check_live_upgrade
from eoepca_gitops.manifests.identity import other_version_tokens
from eoepca_gitops.model.stack import FluxConfig
from eoepca_gitops.upgrade.migrate import _bridge_versions, _in_version
from eoepca_gitops.upgrade.plan import (
    FIRST_SERVED,
    CrdStep,
    LiveCrd,
    LiveFlux,
    LiveObject,
    LiveRelease,
    UpgradePlan,
    plan_upgrade,
)
from eoepca_gitops.upgrade.schema import dropped_fields, version_schema
from tests.helpers import fixture_install
from tests.outside_data import install_manifest

HR = "helmreleases.helm.toolkit.fluxcd.io"
HELM, SOURCE, KUSTOMIZE = "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"


def live_crds(
    specs: Mapping[str, Mapping[str, Any]], release: str | None, stored: Mapping[str, tuple[str, ...]] = {}
) -> tuple[LiveCrd, ...]:
    """A release's Flux CRDs as a cluster holds them: each storing its storage version, or `stored`."""
    return tuple(
        LiveCrd(
            name=name,
            group=spec["group"],
            kind=spec["names"]["kind"],
            plural=spec["names"]["plural"],
            versions=tuple(spec["versions"]),
            stored=stored.get(name) or tuple(v["name"] for v in spec["versions"] if v.get("storage")),
            release=release,
        )
        for name, spec in specs.items()
    )


OLD = live_crds(crd_specs(fixture_install("old")), "v0.1.0")
CHART_SPEC: dict[str, Any] = {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}}
CHART: dict[str, Any] = {"interval": "5m", "chart": {"spec": CHART_SPEC}}
LOSSY: dict[str, Any] = {**CHART, "chart": {"spec": {**CHART_SPEC, "valuesFile": "prod.yaml"}}}


def release(name: str, spec: dict[str, Any], api_version: str = f"{HELM}/v2beta1", **kw: Any) -> LiveObject:
    return LiveObject("HelmRelease", "demo", name, api_version, spec, **kw)


def git_repository(spec: dict[str, Any]) -> LiveObject:
    return LiveObject("GitRepository", "flux-system", "g", f"{SOURCE}/v1beta1", spec)


def test_every_crd_storing_a_version_the_new_release_drops_is_migrated_through_a_bridge() -> None:
    live = LiveFlux(
        OLD,
        (release("a", CHART), release("b", CHART), git_repository({"url": "https://x", "interval": "1m"})),
        (LiveRelease("demo", "a", 2, "deployed"),),
    )
    plan = plan_upgrade(live, fixture_install("new"), "v2.9.0")
    assert (plan.refused, plan.from_git, plan.from_release, plan.to_release) == ((), (), "v0.1.0", "v2.9.0")
    assert plan.steps == (
        CrdStep(SOURCE, "GitRepository", ("v1beta1",), "v1", bridge=True, objects=1),
        CrdStep(KUSTOMIZE, "Kustomization", ("v1beta2",), "v1", bridge=True, objects=0),
        CrdStep(HELM, "HelmRelease", ("v2beta1",), "v2", bridge=True, objects=2),
    )  # the Bucket CRD is new (nothing stored); SealedSecrets are not Flux's
    assert plan.migrated == 3
    assert plan.lines() == [
        "Flux upgrade v0.1.0 -> v2.9.0: 3 object(s) rewritten in the new API versions before the new CRDs "
        "are applied, then 3 CRD(s)' stored versions cleaned",
        "  migrate GitRepository source.toolkit.fluxcd.io v1beta1 -> v1 (1 object(s))",
        "  migrate Kustomization kustomize.toolkit.fluxcd.io v1beta2 -> v1 (0 object(s))",
        "  migrate HelmRelease helm.toolkit.fluxcd.io v2beta1 -> v2 (2 object(s))",
        "  1 Helm release(s) kept as they are (helm-controller adopts them)",
    ]


def test_a_crd_storing_both_an_old_and_the_new_storage_version_is_migrated_without_a_bridge() -> None:
    """A cluster that ran a release serving both (Flux >= 2.3) without `flux migrate`: its CRD already
    stores the new version, but objects written before are still stored in the old one."""
    middle = crd_specs(fixture_install("middle"))
    crds = live_crds(middle, "v2.3.0", {HR: ("v2beta1", "v2")})
    plan = plan_upgrade(
        LiveFlux(crds, (release("a", CHART, f"{HELM}/v2"),)), fixture_install("new"), "v2.9.0"
    )
    assert plan.refused == ()
    assert plan.steps == (CrdStep(HELM, "HelmRelease", ("v2beta1", "v2"), "v2", bridge=False, objects=1),)
    assert plan.lines()[1] == "  migrate HelmRelease helm.toolkit.fluxcd.io v2beta1 -> v2 (1 object(s))"


def test_such_a_crd_gets_the_refusals_too() -> None:
    crds = live_crds(crd_specs(fixture_install("middle")), "v2.3.0", {HR: ("v2beta1", "v2")})
    live = LiveFlux(
        crds, (release("lossy", LOSSY, f"{HELM}/v2"),), (LiveRelease("demo", "x", 3, "pending-upgrade"),)
    )
    plan = plan_upgrade(live, fixture_install("new"), "v2.9.0")
    assert plan.refused == (
        "HelmRelease demo/lossy (helm.toolkit.fluxcd.io/v2) sets .spec.chart.spec.valuesFile, which "
        "helm.toolkit.fluxcd.io/v2 does not have: upgrade to Flux v2.3.0, which serves both, and change it "
        "there first",
        "Helm release demo/x is pending-upgrade (revision 3): a Helm action is running; upgrade once it has "
        "finished",
    )


def test_a_cluster_storing_only_the_new_versions_has_nothing_to_do() -> None:
    crds = live_crds(crd_specs(fixture_install("new")), "v2.9.0")
    # a release mid-action does not matter once nothing is to migrate
    lossy = release("lossy", LOSSY, f"{HELM}/v2")
    live = LiveFlux(crds, (lossy,), (LiveRelease("demo", "a", 1, "pending-install"),))
    plan = plan_upgrade(live, fixture_install("new"), "v2.9.0")
    assert (plan.steps, plan.refused, plan.migrated) == ((), (), 0)
    assert plan.lines() == ["Flux v2.9.0: no object is stored in a version it does not serve"]
    # nor for a CRD that stores nothing (status.storedVersions empty)
    empty = tuple(LiveCrd(c.name, c.group, c.kind, c.plural, c.versions, ()) for c in OLD)
    assert plan_upgrade(LiveFlux(empty), fixture_install("new"), "v2.9.0").steps == ()


def test_what_a_rewrite_would_lose_is_refused_naming_the_release_to_go_through() -> None:
    git = git_repository({"url": "https://x", "interval": "1m", "gitImplementation": "go-git"})
    kustomization = LiveObject(
        "Kustomization", "flux-system", "k", f"{KUSTOMIZE}/v1beta2", {"path": "./", "validation": "client"}
    )
    live = LiveFlux(OLD, (release("lossy", LOSSY), git, kustomization))
    plan = plan_upgrade(live, fixture_install("new"), "v2.9.0")
    # gitImplementation and validation stopped mattering long ago: dropping them is not a loss
    assert plan.refused == (
        "HelmRelease demo/lossy (helm.toolkit.fluxcd.io/v2beta1) sets .spec.chart.spec.valuesFile, which "
        "helm.toolkit.fluxcd.io/v2 does not have: upgrade to Flux v2.3.0, which serves both, and change it "
        "there first",
    )
    assert [s.kind for s in plan.steps] == ["GitRepository", "Kustomization", "HelmRelease"]
    with pytest.raises(ConfigError) as exc:
        check_live_upgrade(FluxConfig(version="v2.9.3"), plan, "Pulumi.x.yaml")
    assert exc.value.key == "eoepca-gitops:flux.version"
    assert exc.value.message.startswith("Flux v2.9.3: the upgrade cannot migrate: HelmRelease demo/lossy")


def test_a_field_lost_in_a_version_no_release_is_named_for_says_so_and_lists_every_field() -> None:
    specs = {
        "ocirepositories.source.toolkit.fluxcd.io": {
            "group": SOURCE,
            "names": {"kind": "OCIRepository", "plural": "ocirepositories"},
            "versions": [
                {
                    "name": "v1beta2",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"properties": {"spec": {"properties": {"url": {}, "a": {}}}}}
                    },
                }
            ],
        }
    }
    crds = live_crds(specs, "v2.0.0", {"ocirepositories.source.toolkit.fluxcd.io": ("v1beta1",)})
    oci = LiveObject("OCIRepository", "ns", "o", f"{SOURCE}/v1beta1", {"url": "oci://x", "b": 1, "c": {}})
    installed = [{"kind": "CustomResourceDefinition", "spec": s} for s in specs.values()]
    plan = plan_upgrade(LiveFlux(crds, (oci,)), installed, "v9.0.0")
    assert ("source.toolkit.fluxcd.io", "OCIRepository", "v1beta2") not in FIRST_SERVED
    assert plan.refused == (
        "OCIRepository ns/o (source.toolkit.fluxcd.io/v1beta1) sets .spec.b, .spec.c, which "
        "source.toolkit.fluxcd.io/v1beta2 does not have: upgrade to a Flux release serving both versions "
        "and change it there first",
    )


def test_each_crd_counts_only_its_own_objects() -> None:
    objects = (
        release("a", CHART),
        LiveObject("HelmRelease", "demo", "other", "helm.example.org/v1", {}),  # same kind, other group
        LiveObject("HelmRelease", "demo", "near", "helm.toolkit.fluxcd.io.example/v1", {}),
        LiveObject("Kustomization", "flux-system", "k", f"{KUSTOMIZE}/v1beta2", {"path": "./"}),
    )
    plan = plan_upgrade(LiveFlux(OLD, objects), fixture_install("new"), "v2.9.0")
    assert {s.kind: s.objects for s in plan.steps} == {
        "GitRepository": 0,
        "Kustomization": 1,
        "HelmRelease": 1,
    }


@pytest.mark.parametrize(
    ("status", "refused"),
    [
        ("pending-install", True),
        ("pending-upgrade", True),
        ("pending-rollback", True),
        ("deployed", False),
        ("failed", False),
        ("superseded", False),
        ("uninstalling", False),
    ],
)
def test_a_helm_action_running_refuses_the_upgrade(status: str, refused: bool) -> None:
    plan = plan_upgrade(
        LiveFlux(OLD, (), (LiveRelease("ns", "r", 7, status),)), fixture_install("new"), "v2.9.0"
    )
    expected = (
        f"Helm release ns/r is {status} (revision 7): a Helm action is running; upgrade once it has finished",
    )
    assert plan.refused == (expected if refused else ())
    assert plan.releases == (LiveRelease("ns", "r", 7, status),)


def test_a_crd_converting_through_a_webhook_is_not_migrated() -> None:
    crds = tuple(
        LiveCrd(c.name, c.group, c.kind, c.plural, c.versions, c.stored, "Webhook", c.release)
        if c.kind == "HelmRelease"
        else c
        for c in OLD
    )
    plan = plan_upgrade(LiveFlux(crds, (release("a", LOSSY),)), fixture_install("new"), "v2.9.0")
    assert plan.refused == (f"CRD {HR} converts through a Webhook: not a Flux CRD to migrate",)
    assert [s.kind for s in plan.steps] == ["GitRepository", "Kustomization"]


def test_a_downgrade_across_api_versions_is_refused() -> None:
    crds = live_crds(crd_specs(fixture_install("new")), "v2.9.0", {HR: ("v2beta1", "v2")})
    plan = plan_upgrade(
        LiveFlux(crds, (release("lossy", LOSSY, f"{HELM}/v2"),)), fixture_install("old"), "v0.1.0"
    )
    assert plan.refused == (
        "GitRepository: v0.1.0 stores source.toolkit.fluxcd.io/v1beta1, older than the v1 the cluster "
        "stores: a downgrade across API versions loses what the newer version holds",
        "Kustomization: v0.1.0 stores kustomize.toolkit.fluxcd.io/v1beta2, older than the v1 the cluster "
        "stores: a downgrade across API versions loses what the newer version holds",
        "HelmRelease: v0.1.0 stores helm.toolkit.fluxcd.io/v2beta1, older than the v2 the cluster "
        "stores: a downgrade across API versions loses what the newer version holds",
    )
    assert plan.steps == ()


def test_objects_flux_applies_from_git_in_a_removed_version_are_refused_unless_allowed() -> None:
    applied = release("from-git", CHART, flux_applied=f"{HELM}/v2beta1", kustomization="apps")
    current = release("current", CHART, f"{HELM}/v2", flux_applied=f"{HELM}/v2", kustomization="apps")
    ours = release("ours", CHART)  # this stack's own: Pulumi rewrites it
    plan = plan_upgrade(LiveFlux(OLD, (applied, current, ours)), fixture_install("new"), "v2.9.0")
    assert plan.from_git == (applied,) and plan.refused == ()
    with pytest.raises(ConfigError) as exc:
        check_live_upgrade(FluxConfig(version="v2.9.3"), plan, "Pulumi.x.yaml")
    assert "HelmRelease demo/from-git (helm.toolkit.fluxcd.io/v2beta1, applied by Kustomization apps)" in (
        exc.value.message
    )
    check_live_upgrade(FluxConfig(version="v2.9.3", allow_api_removal=True), plan, "Pulumi.x.yaml")
    # Git holds it anew (the Git half of the gate checks its version): the new Flux applies that
    in_git = {(HELM, "HelmRelease", "demo", "from-git")}
    check_live_upgrade(FluxConfig(version="v2.9.3"), plan, "Pulumi.x.yaml", in_git)
    # on the old release that version is served: nothing to say
    assert plan_upgrade(LiveFlux(OLD, (applied,)), fixture_install("old"), "v0.1.0").from_git == ()


def test_the_installed_release_is_what_the_crds_say() -> None:
    assert LiveFlux(OLD).release == "v0.1.0"
    mixed = (*OLD[:1], *live_crds(crd_specs(fixture_install("new")), "v2.9.0"), *live_crds({}, None))
    assert LiveFlux(mixed).release == "v0.1.0, v2.9.0"
    assert LiveFlux(live_crds(crd_specs(fixture_install("new")), None)).release is None
    unknown = plan_upgrade(
        LiveFlux(live_crds(crd_specs(fixture_install("old")), None)), fixture_install("new"), "v2.9.0"
    )
    assert unknown.lines()[0].startswith("Flux upgrade (release unknown) -> v2.9.0: 0 object(s)")
    assert len(unknown.lines()) == 4  # no Helm release: no line about them


def test_a_step_names_every_old_version_it_leaves() -> None:
    step = CrdStep(HELM, "HelmRelease", ("v2beta1", "v2beta2", "v2"), "v2", bridge=False, objects=0)
    assert str(step) == "HelmRelease helm.toolkit.fluxcd.io v2beta1/v2beta2 -> v2 (0 object(s))"
    assert str(CrdStep(HELM, "HelmRelease", ("v2",), "v2", False, 0)).endswith("v2 -> v2 (0 object(s))")
    assert UpgradePlan(None, "v2").migrated == 0
    assert str(LiveObject("Namespace", "", "n", "v1", {})) == "Namespace n"


def test_dropped_fields_follow_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "string"}}},
            "list": {"type": "array", "items": {"type": "object", "properties": {"k": {}}}},
            "map": {"type": "object", "additionalProperties": {"type": "object", "properties": {"x": {}}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "open": {"type": "object", "properties": {"p": {}}, "additionalProperties": True},
            "untyped": {"type": "object"},
            "strings": {"type": "array", "items": {"type": "string"}},
        },
    }
    value = {
        "a": {"b": "x", "c": 1},
        "list": [{"k": 1, "z": 2}, {"k": 2}, {"y": 3}],
        "map": {"any": {"x": 1, "w": 2}},
        "free": {"q": 1},
        "open": {"p": 1, "q": 2},
        "untyped": {"anything": 1},
        "strings": ["s"],
        "gone": 0,
    }
    assert dropped_fields(value, schema, ".spec") == [
        ".spec.a.c",
        ".spec.list[0].z",
        ".spec.list[2].y",
        ".spec.map.any.w",
        ".spec.gone",
    ]
    assert dropped_fields(value, {}) == [] and dropped_fields("text", schema) == []
    assert dropped_fields({"gone": 1}, schema) == [".gone"]  # paths start at the value
    kept = {"x-kubernetes-preserve-unknown-fields": True, "properties": {"a": {}}}
    assert dropped_fields({"a": 1, "b": 2}, kept) == []
    two: dict[str, Any] = {"additionalProperties": {"properties": {"x": {}}}}
    assert dropped_fields({"k1": {"y": 1}, "k2": {"z": 2}}, two) == [".k1.y", ".k2.z"]
    assert dropped_fields([{"a": 1}], {"type": "array"}) == []


def test_a_versions_schema_is_found_by_name() -> None:
    spec = crd_specs(fixture_install("middle"))[HR]
    assert version_schema(spec, "v2beta1") == spec["versions"][0]["schema"]["openAPIV3Schema"]
    assert version_schema(spec, "v9") is None
    assert version_schema({"versions": [{"name": "v1"}]}, "v1") == {}
    assert version_schema({}, "v1") is None


def test_the_bridge_serves_the_old_versions_and_stores_the_new() -> None:
    live = next(c for c in OLD if c.name == HR)
    new_entry = crd_specs(fixture_install("new"))[HR]["versions"][0]
    versions = _bridge_versions(live, new_entry)
    assert [(v["name"], v["served"], v["storage"]) for v in versions] == [
        ("v2beta1", True, False),
        ("v2", True, True),
    ]
    assert versions[1]["schema"] == new_entry["schema"]
    # a live CRD that serves the new version already keeps one entry of it
    middle = next(c for c in live_crds(crd_specs(fixture_install("middle")), "v2.3.0") if c.name == HR)
    assert [v["name"] for v in _bridge_versions(middle, new_entry)] == ["v2beta1", "v2"]


def test_managed_fields_are_recorded_in_the_new_version() -> None:
    obj = {
        "metadata": {
            "managedFields": [
                {"manager": "pulumi-kubernetes-1", "apiVersion": f"{HELM}/v2beta1"},
                {"manager": "other", "apiVersion": "v1"},
                {"manager": "near", "apiVersion": "helm.toolkit.fluxcd.io.example/v1"},
            ]
        }
    }
    entries = _in_version(obj, f"{HELM}/v2")["metadata"]["managedFields"]
    assert [e["apiVersion"] for e in entries] == [f"{HELM}/v2", "v1", "helm.toolkit.fluxcd.io.example/v1"]
    assert _in_version({"metadata": {}}, f"{HELM}/v2") == {"metadata": {}}


def test_a_flux_object_has_aliases_for_every_other_version_of_its_group() -> None:
    hr = {"apiVersion": f"{HELM}/v2", "kind": "HelmRelease"}
    assert other_version_tokens(hr) == [
        "kubernetes:helm.toolkit.fluxcd.io/v2alpha1:HelmRelease",
        "kubernetes:helm.toolkit.fluxcd.io/v2beta1:HelmRelease",
        "kubernetes:helm.toolkit.fluxcd.io/v2beta2:HelmRelease",
    ]
    assert other_version_tokens({"apiVersion": "apps/v1", "kind": "Deployment"}) == []


def _real(version: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(install_manifest(version).read_text()) if d]


@pytest.mark.flux_manifests
def test_the_real_upgrade_from_v0_24_to_v2_9_migrates_every_crd_through_a_bridge() -> None:
    live = LiveFlux(
        live_crds(crd_specs(_real("v0.24.0")), "v0.24.0"),
        (release("a", CHART), release("b", CHART)),
        (LiveRelease("demo", "a", 2, "deployed"),),
    )
    plan = plan_upgrade(live, _real("v2.9.3"), "v2.9.3")
    assert plan.refused == () and all(s.bridge for s in plan.steps)
    assert plan.lines() == [
        "Flux upgrade v0.24.0 -> v2.9.3: 2 object(s) rewritten in the new API versions before the new CRDs "
        "are applied, then 9 CRD(s)' stored versions cleaned",
        "  migrate Alert notification.toolkit.fluxcd.io v1beta1 -> v1beta3 (0 object(s))",
        "  migrate Bucket source.toolkit.fluxcd.io v1beta1 -> v1 (0 object(s))",
        "  migrate GitRepository source.toolkit.fluxcd.io v1beta1 -> v1 (0 object(s))",
        "  migrate HelmChart source.toolkit.fluxcd.io v1beta1 -> v1 (0 object(s))",
        "  migrate HelmRelease helm.toolkit.fluxcd.io v2beta1 -> v2 (2 object(s))",
        "  migrate HelmRepository source.toolkit.fluxcd.io v1beta1 -> v1 (0 object(s))",
        "  migrate Kustomization kustomize.toolkit.fluxcd.io v1beta2 -> v1 (0 object(s))",
        "  migrate Provider notification.toolkit.fluxcd.io v1beta1 -> v1beta3 (0 object(s))",
        "  migrate Receiver notification.toolkit.fluxcd.io v1beta1 -> v1 (0 object(s))",
        "  1 Helm release(s) kept as they are (helm-controller adopts them)",
    ]
    # what the fixtures stand for holds in the real releases: valuesFile is gone from v2's schema
    lossy = plan_upgrade(LiveFlux(live.crds, (release("lossy", LOSSY),)), _real("v2.9.3"), "v2.9.3")
    assert lossy.refused[0].startswith("HelmRelease demo/lossy (helm.toolkit.fluxcd.io/v2beta1) sets ")


@pytest.mark.flux_manifests
def test_the_real_downgrade_to_v0_24_is_refused() -> None:
    plan = plan_upgrade(
        LiveFlux(live_crds(crd_specs(_real("v2.9.3")), "v2.9.3")), _real("v0.24.0"), "v0.24.0"
    )
    assert (
        "HelmRelease: v0.24.0 stores helm.toolkit.fluxcd.io/v2beta1, older than the v2 the cluster stores"
        in ("\n".join(plan.refused))
    )
    assert plan.steps == ()
