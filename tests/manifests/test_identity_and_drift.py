"""What the objects are named and marked with, as literal strings: the drift-exempt-fields annotation
(drift.exempt_fields), an object's URN (identity.urn) and the type-token aliases of a Flux object
(identity.other_version_tokens). Spelled out here rather than read from the module's constants, so
that a changed name fails: the cluster and the Pulumi state hold these strings."""

from __future__ import annotations

from typing import Any

from eoepca_gitops.manifests.drift import exempt_fields
from eoepca_gitops.manifests.identity import other_version_tokens, urn

RELEASE: dict[str, Any] = {
    "apiVersion": "helm.toolkit.fluxcd.io/v2",
    "kind": "HelmRelease",
    "metadata": {"name": "storage-nfs", "namespace": "storage"},
}


def test_exempt_fields_reads_the_annotation_split_on_commas_without_empty_entries() -> None:
    obj = {
        "metadata": {
            "annotations": {
                "eoepca-gitops.eoepca.org/drift-exempt-fields": ",spec.values.replicaCount,,spec.suspend,",
                "eoepca-gitops.eoepca.org/drift-exempt": "true",
            }
        }
    }
    assert exempt_fields(obj) == ["spec.values.replicaCount", "spec.suspend"]


def test_exempt_fields_is_empty_without_the_annotation() -> None:
    whole = {"metadata": {"annotations": {"eoepca-gitops.eoepca.org/drift-exempt": "true"}}}
    assert exempt_fields(whole) == []
    assert exempt_fields({"metadata": {"annotations": None}}) == []
    assert exempt_fields({"metadata": {"name": "x"}}) == []
    assert exempt_fields({}) == []


def test_urn_of_a_namespaced_flux_object() -> None:
    assert urn("staging", "eoepca-gitops", "eoepca:flux:BuildingBlock", RELEASE) == (
        "urn:pulumi:staging::eoepca-gitops::eoepca:flux:BuildingBlock"
        "$kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease::HelmRelease/storage/storage-nfs"
    )


def test_urn_of_a_cluster_wide_core_object() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rm"}}
    assert urn("staging", "eoepca-gitops", "eoepca:flux:BuildingBlock", namespace) == (
        "urn:pulumi:staging::eoepca-gitops::eoepca:flux:BuildingBlock$kubernetes:core/v1:Namespace::Namespace/rm"
    )


def test_other_version_tokens_of_a_flux_object_are_its_group_other_versions() -> None:
    assert other_version_tokens(RELEASE) == [
        "kubernetes:helm.toolkit.fluxcd.io/v2alpha1:HelmRelease",
        "kubernetes:helm.toolkit.fluxcd.io/v2beta1:HelmRelease",
        "kubernetes:helm.toolkit.fluxcd.io/v2beta2:HelmRelease",
    ]


def test_other_version_tokens_of_a_core_object_are_none() -> None:
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-vars"}}
    assert other_version_tokens(configmap) == []
