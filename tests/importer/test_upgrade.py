"""The import's upgrade of Flux objects (importer/upgrade.py): old API versions to the ones a stack's
CRDs store, with the fields the new version renamed or removed, and a note for each."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from eoepca_gitops.importer.upgrade import upgrade

K, S, H, N = (
    "kustomize.toolkit.fluxcd.io",
    "source.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "notification.toolkit.fluxcd.io",
)
APIS = {
    "Kustomization": f"{K}/v1",
    "GitRepository": f"{S}/v1",
    "HelmRelease": f"{H}/v2",
    "Alert": f"{N}/v1beta3",
}
DEPLOYMENT_PATCH = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}


def _obj(api: str, kind: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "flux-system"},
    }
    if spec is not None:
        obj["spec"] = spec
    return obj


@pytest.mark.parametrize(
    "obj",
    [
        _obj("v1", "ConfigMap"),
        _obj("kustomize.config.k8s.io/v1beta1", "Kustomization", {"validation": "client"}),
        _obj(f"{K}/v1", "Kustomization", {"validation": "client"}),
        _obj(f"{S}/v1beta2", "HelmRepository", {"accessFrom": {}}),
        _obj("kustomize.toolkit.fluxcd.io.example.org/v1beta2", "Kustomization", {"validation": "client"}),
    ],
    ids=["core", "kustomize's own", "already the target", "kind without a target", "not flux's group"],
)
def test_what_is_not_an_older_flux_object_of_a_known_kind_is_unchanged(obj: dict[str, Any]) -> None:
    assert upgrade(obj, APIS) == (obj, [])


def test_an_object_whose_target_is_in_another_group_is_unchanged() -> None:
    obj = _obj(f"{S}/v1beta2", "Kustomization", {"validation": "client"})
    assert upgrade(obj, APIS) == (obj, [])


def test_an_unchanged_object_is_a_copy() -> None:
    obj = _obj(f"{K}/v1", "Kustomization", {"path": "./apps"})
    out, _ = upgrade(obj, APIS)
    out["spec"]["path"] = "./other"
    assert obj["spec"]["path"] == "./apps"


def test_a_kustomization_loses_validation_and_its_legacy_patches_become_patches() -> None:
    obj = _obj(
        f"{K}/v1beta2",
        "Kustomization",
        {
            "path": "./apps",
            "validation": "client",
            "patches": [{"patch": "kept"}],
            "patchesStrategicMerge": [DEPLOYMENT_PATCH],
            "patchesJson6902": [
                {
                    "target": {"kind": "Deployment", "name": "web"},
                    "patch": [{"op": "add", "path": "/spec/replicas", "value": 2}],
                }
            ],
        },
    )
    out, notes = upgrade(obj, APIS)
    assert out == _obj(
        f"{K}/v1",
        "Kustomization",
        {
            "path": "./apps",
            "patches": [
                {"patch": "kept"},
                {"patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"},
                {
                    "patch": "- op: add\n  path: /spec/replicas\n  value: 2\n",
                    "target": {"kind": "Deployment", "name": "web"},
                },
            ],
        },
    )
    assert notes == [
        f"apiVersion {K}/v1beta2 -> {K}/v1",
        "spec.validation dropped (ignored since v1beta2, removed in v1)",
        "spec.patchesStrategicMerge moved to spec.patches",
        "spec.patchesJson6902 moved to spec.patches",
    ]


def test_the_input_object_is_not_changed() -> None:
    spec = {"validation": "client", "patchesStrategicMerge": [DEPLOYMENT_PATCH]}
    obj = _obj(f"{K}/v1beta2", "Kustomization", spec)
    before = copy.deepcopy(obj)
    upgrade(obj, APIS)
    assert obj == before


def test_a_json6902_patch_without_a_patch_or_target_becomes_an_empty_one() -> None:
    out, _ = upgrade(_obj(f"{K}/v1beta1", "Kustomization", {"patchesJson6902": [{}]}), APIS)
    assert out["spec"] == {"patches": [{"patch": "[]\n", "target": {}}]}


def test_each_legacy_patch_is_noted() -> None:
    spec = {"patchesStrategicMerge": [DEPLOYMENT_PATCH, DEPLOYMENT_PATCH]}
    _, notes = upgrade(_obj(f"{K}/v1beta2", "Kustomization", spec), APIS)
    assert notes[1:] == ["spec.patchesStrategicMerge moved to spec.patches"] * 2


def test_a_kustomization_without_what_v1_removed_only_changes_its_api_version() -> None:
    out, notes = upgrade(_obj(f"{K}/v1beta2", "Kustomization", {"path": "./apps", "prune": True}), APIS)
    assert out == _obj(f"{K}/v1", "Kustomization", {"path": "./apps", "prune": True})
    assert notes == [f"apiVersion {K}/v1beta2 -> {K}/v1"]


def test_an_object_without_a_spec_only_changes_its_api_version() -> None:
    out, notes = upgrade(_obj(f"{K}/v1beta2", "Kustomization"), APIS)
    assert out == _obj(f"{K}/v1", "Kustomization")
    assert notes == [f"apiVersion {K}/v1beta2 -> {K}/v1"]


@pytest.mark.parametrize("target", [f"{K}/v1beta2", f"{K}/v2alpha1"])
def test_to_a_beta_or_alpha_version_only_the_api_version_changes(target: str) -> None:
    spec = {"validation": "client", "patchesStrategicMerge": [DEPLOYMENT_PATCH]}
    out, notes = upgrade(_obj(f"{K}/v1beta1", "Kustomization", spec), {"Kustomization": target})
    assert out == _obj(target, "Kustomization", spec)
    assert notes == [f"apiVersion {K}/v1beta1 -> {target}"]


def test_a_git_repository_loses_its_git_implementation_and_access_from() -> None:
    spec = {"url": "https://example.org/fleet", "gitImplementation": "go-git", "accessFrom": {}}
    out, notes = upgrade(_obj(f"{S}/v1beta2", "GitRepository", spec), APIS)
    assert out == _obj(f"{S}/v1", "GitRepository", {"url": "https://example.org/fleet"})
    assert notes == [
        f"apiVersion {S}/v1beta2 -> {S}/v1",
        "spec.gitImplementation dropped (removed in v1)",
        "spec.accessFrom dropped (removed in v1)",
    ]


def test_a_git_repository_without_what_v1_removed_only_changes_its_api_version() -> None:
    spec = {"url": "https://example.org/fleet", "ref": {"branch": "main"}}
    out, notes = upgrade(_obj(f"{S}/v1beta2", "GitRepository", spec), APIS)
    assert out == _obj(f"{S}/v1", "GitRepository", spec)
    assert notes == [f"apiVersion {S}/v1beta2 -> {S}/v1"]


def test_a_release_values_file_becomes_values_files() -> None:
    spec = {"chart": {"spec": {"chart": "web", "valuesFile": "prod.yaml"}}}
    out, notes = upgrade(_obj(f"{H}/v2beta1", "HelmRelease", spec), APIS)
    assert out["spec"] == {"chart": {"spec": {"chart": "web", "valuesFiles": ["prod.yaml"]}}}
    assert notes == [f"apiVersion {H}/v2beta1 -> {H}/v2", "spec.chart.spec.valuesFile -> valuesFiles"]


def test_a_release_post_renderers_legacy_patches_become_patches() -> None:
    spec = {
        "chartRef": {"kind": "OCIRepository", "name": "web"},
        "postRenderers": [
            {"kustomize": {"patchesStrategicMerge": [DEPLOYMENT_PATCH]}},
            {"kustomize": None},
            {"other": {}},
        ],
    }
    out, notes = upgrade(_obj(f"{H}/v2beta1", "HelmRelease", spec), APIS)
    assert out["spec"]["postRenderers"] == [
        {
            "kustomize": {
                "patches": [{"patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"}]
            }
        },
        {"kustomize": None},
        {"other": {}},
    ]
    assert notes == [
        f"apiVersion {H}/v2beta1 -> {H}/v2",
        "spec.postRenderers[].kustomize.patchesStrategicMerge moved to "
        "spec.postRenderers[].kustomize.patches",
    ]


def test_a_release_without_what_v2_renamed_only_changes_its_api_version() -> None:
    spec = {
        "chart": {"spec": {"chart": "web", "valuesFiles": ["a.yaml"]}},
        "postRenderers": [{"kustomize": {}}],
    }
    out, notes = upgrade(_obj(f"{H}/v2beta1", "HelmRelease", spec), APIS)
    assert out == _obj(f"{H}/v2", "HelmRelease", spec)
    assert notes == [f"apiVersion {H}/v2beta1 -> {H}/v2"]


def test_an_alerts_summary_becomes_its_summary_annotation() -> None:
    obj = _obj(f"{N}/v1beta2", "Alert", {"summary": "prod cluster", "eventSeverity": "error"})
    obj["metadata"]["annotations"] = {"owner": "ops"}
    out, notes = upgrade(obj, APIS)
    assert out["metadata"]["annotations"] == {
        "owner": "ops",
        "event.toolkit.fluxcd.io/summary": "prod cluster",
    }
    assert out["spec"] == {"eventSeverity": "error"}
    assert out["apiVersion"] == f"{N}/v1beta3"
    assert notes == [
        f"apiVersion {N}/v1beta2 -> {N}/v1beta3",
        "spec.summary -> annotation event.toolkit.fluxcd.io/summary",
    ]


def test_an_alert_without_metadata_gets_the_summary_annotation() -> None:
    obj = {"apiVersion": f"{N}/v1beta2", "kind": "Alert", "spec": {"summary": "prod"}}
    out, _ = upgrade(obj, APIS)
    assert out["metadata"] == {"annotations": {"event.toolkit.fluxcd.io/summary": "prod"}}


def test_an_alert_without_a_summary_only_changes_its_api_version() -> None:
    out, notes = upgrade(_obj(f"{N}/v1beta2", "Alert", {"eventSeverity": "info"}), APIS)
    assert out == _obj(f"{N}/v1beta3", "Alert", {"eventSeverity": "info"})
    assert notes == [f"apiVersion {N}/v1beta2 -> {N}/v1beta3"]
