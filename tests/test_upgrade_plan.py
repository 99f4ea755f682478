"""The upgrade plan from what a live cluster holds (Flux v0.24 CRDs and objects) to Flux v2.9.3, the
live half of the gate, the fields a schema drops, the migration's bridge, and object identity across
API versions."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.flux_apis import crd_specs
from eoepca_gitops.manifests.api_gate import check_live_upgrade
from eoepca_gitops.manifests.identity import other_version_tokens
from eoepca_gitops.model.stack import FluxConfig
from eoepca_gitops.upgrade.migrate import _bridge_versions, _in_version
from eoepca_gitops.upgrade.plan import LiveCrd, LiveFlux, LiveObject, LiveRelease, plan_upgrade
from eoepca_gitops.upgrade.schema import dropped_fields
from tests.helpers import SHARED_FLUX

SHARED = SHARED_FLUX
NEW = [d for d in yaml.safe_load_all((SHARED / "install-v2.9.3.yaml").read_text()) if d]
OLD = crd_specs(d for d in yaml.safe_load_all((SHARED / "install-v0.24.0.yaml").read_text()) if d)
HR = "helmreleases.helm.toolkit.fluxcd.io"


def _live_crds(specs: dict[str, Any] = OLD, release: str = "v0.24.0") -> tuple[LiveCrd, ...]:
    """A release's CRDs (v0.24.0's by default) as a cluster holds them: each storing its storage version."""
    return tuple(
        LiveCrd(
            name=name,
            group=spec["group"],
            kind=spec["names"]["kind"],
            plural=spec["names"]["plural"],
            versions=tuple(spec["versions"]),
            stored=tuple(v["name"] for v in spec["versions"] if v.get("storage")),
            release=release,
        )
        for name, spec in specs.items()
    )


def _release(name: str, spec: dict[str, Any], **kw: Any) -> LiveObject:
    return LiveObject("HelmRelease", "demo", name, "helm.toolkit.fluxcd.io/v2beta1", spec, **kw)


CHART_SPEC: dict[str, Any] = {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}}
CHART: dict[str, Any] = {"interval": "5m", "chart": {"spec": CHART_SPEC}}


def test_every_crd_storing_a_removed_version_is_migrated_through_a_bridge() -> None:
    live = LiveFlux(
        _live_crds(),
        (_release("a", CHART), _release("b", CHART)),
        (LiveRelease("demo", "a", 2, "deployed"),),
    )
    plan = plan_upgrade(live, NEW, "v2.9.3")
    assert plan.refused == () and plan.from_git == ()
    steps = {s.kind: s for s in plan.steps}
    assert set(steps) == {c.kind for c in live.crds}
    assert (steps["HelmRelease"].storage, steps["HelmRelease"].bridge, steps["HelmRelease"].objects) == (
        "v2",
        True,
        2,
    )
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


def test_a_migrated_cluster_has_nothing_left_to_do() -> None:
    crds = _live_crds(crd_specs(NEW), "v2.9.3")
    # a release mid-action does not matter once nothing is to migrate
    plan = plan_upgrade(LiveFlux(crds, (), (LiveRelease("demo", "a", 1, "pending-install"),)), NEW, "v2.9.3")
    assert (plan.steps, plan.refused) == ((), ())
    assert plan.lines() == ["Flux v2.9.3: no object is stored in a version it does not serve"]


def test_what_a_rewrite_would_lose_is_refused_naming_the_release_to_go_through() -> None:
    lossy = {**CHART, "chart": {"spec": {**CHART_SPEC, "valuesFile": "prod.yaml"}}}
    git = LiveObject(
        "GitRepository", "flux-system", "g", "source.toolkit.fluxcd.io/v1beta1",
        {"url": "https://x", "interval": "1m", "gitImplementation": "go-git"},
    )  # fmt: skip
    live = LiveFlux(
        _live_crds(), (_release("lossy", lossy), git), (LiveRelease("demo", "x", 3, "pending-upgrade"),)
    )
    plan = plan_upgrade(live, NEW, "v2.9.3")
    assert plan.refused == (
        "HelmRelease demo/lossy (helm.toolkit.fluxcd.io/v2beta1) sets .spec.chart.spec.valuesFile, which "
        "helm.toolkit.fluxcd.io/v2 does not have: upgrade to Flux v2.3.0, which serves both, and change it "
        "there first",
        "Helm release demo/x is pending-upgrade (revision 3): a Helm action is running; upgrade once it has "
        "finished",
    )  # gitImplementation stopped mattering long ago: dropping it is not a loss
    with pytest.raises(ConfigError) as exc:
        check_live_upgrade(FluxConfig(version="v2.9.3"), plan, "Pulumi.x.yaml")
    assert exc.value.key == "eoepca-gitops:flux.version"
    assert exc.value.message.startswith("Flux v2.9.3: the upgrade cannot migrate: HelmRelease demo/lossy")


def test_objects_flux_applies_from_git_in_a_removed_version_are_refused_unless_allowed() -> None:
    applied = _release("from-git", CHART, flux_applied="helm.toolkit.fluxcd.io/v2beta1", kustomization="apps")
    plan = plan_upgrade(LiveFlux(_live_crds(), (applied,)), NEW, "v2.9.3")
    assert plan.from_git == (applied,) and plan.refused == ()
    with pytest.raises(ConfigError) as exc:
        check_live_upgrade(FluxConfig(version="v2.9.3"), plan, "Pulumi.x.yaml")
    assert "HelmRelease demo/from-git (helm.toolkit.fluxcd.io/v2beta1, applied by Kustomization apps)" in (
        exc.value.message
    )
    check_live_upgrade(FluxConfig(version="v2.9.3", allow_api_removal=True), plan, "Pulumi.x.yaml")
    # Git holds it anew (the Git half of the gate checks its version): the new Flux applies that
    in_git = {("helm.toolkit.fluxcd.io", "HelmRelease", "demo", "from-git")}
    check_live_upgrade(FluxConfig(version="v2.9.3"), plan, "Pulumi.x.yaml", in_git)
    # on v0.24 that version is served: nothing to say
    assert plan_upgrade(LiveFlux(_live_crds(), (applied,)), [{"kind": "x"}], "v0.24.0").from_git == ()


def test_dropped_fields_follow_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "string"}}},
            "list": {"type": "array", "items": {"type": "object", "properties": {"k": {}}}},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    value = {
        "a": {"b": "x", "c": 1},
        "list": [{"k": 1, "z": 2}],
        "map": {"any": "v"},
        "free": {"q": 1},
        "gone": 0,
    }
    assert dropped_fields(value, schema) == [".a.c", ".list[0].z", ".gone"]


def test_the_bridge_serves_the_old_versions_and_stores_the_new() -> None:
    live = next(c for c in _live_crds() if c.name == HR)
    new_entry = crd_specs(NEW)[HR]["versions"][0]
    versions = _bridge_versions(live, new_entry)
    assert [(v["name"], v["served"], v["storage"]) for v in versions] == [
        ("v2beta1", True, False),
        ("v2", True, True),
    ]
    assert versions[1]["schema"] == new_entry["schema"]


def test_managed_fields_are_recorded_in_the_new_version() -> None:
    obj = {
        "metadata": {
            "managedFields": [
                {"manager": "pulumi-kubernetes-1", "apiVersion": "helm.toolkit.fluxcd.io/v2beta1"},
                {"manager": "other", "apiVersion": "v1"},
            ]
        }
    }
    entries = _in_version(obj, "helm.toolkit.fluxcd.io/v2")["metadata"]["managedFields"]
    assert [e["apiVersion"] for e in entries] == ["helm.toolkit.fluxcd.io/v2", "v1"]


def test_a_flux_object_has_aliases_for_every_other_version_of_its_group() -> None:
    hr = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease"}
    assert other_version_tokens(hr) == [
        "kubernetes:helm.toolkit.fluxcd.io/v2alpha1:HelmRelease",
        "kubernetes:helm.toolkit.fluxcd.io/v2beta1:HelmRelease",
        "kubernetes:helm.toolkit.fluxcd.io/v2beta2:HelmRelease",
    ]
    assert other_version_tokens({"apiVersion": "apps/v1", "kind": "Deployment"}) == []


def test_a_downgrade_across_api_versions_is_refused() -> None:
    crds = _live_crds(crd_specs(NEW), "v2.9.3")
    old = [d for d in yaml.safe_load_all((SHARED / "install-v0.24.0.yaml").read_text()) if d]
    plan = plan_upgrade(LiveFlux(crds), old, "v0.24.0")
    assert (
        "HelmRelease: v0.24.0 stores helm.toolkit.fluxcd.io/v2beta1, older than the v2 the cluster stores"
        in ("\n".join(plan.refused))
    )
    assert plan.steps == ()
