"""Flux's API groups and which version of each kind a Flux release serves and stores.

One home for these facts: the builders write each Flux kind in the storage version of the CRDs the
same stack installs (a stack on Flux v0.24 gets v1beta1/v2beta1 objects, one on v2.9 gets v1/v2),
the importer upgrades old objects to those versions, and the upgrade gate finds objects in
versions a release no longer serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

__all__ = [
    "CURRENT",
    "GROUP_VERSIONS",
    "HELM_GROUP",
    "KUSTOMIZE_GROUP",
    "NOTIFICATION_GROUP",
    "PLURALS",
    "SOURCE_GROUP",
    "TOOLKIT",
    "api_versions",
    "crd_specs",
    "is_flux_group",
    "is_removed",
    "served_versions",
    "storage_version",
]

#: The suffix every Flux API group has (source.toolkit.fluxcd.io, helm.toolkit.fluxcd.io, ...).
TOOLKIT: Final = ".toolkit.fluxcd.io"
SOURCE_GROUP: Final = "source" + TOOLKIT
KUSTOMIZE_GROUP: Final = "kustomize" + TOOLKIT
HELM_GROUP: Final = "helm" + TOOLKIT
NOTIFICATION_GROUP: Final = "notification" + TOOLKIT

#: The versions of the current Flux release, for kinds an install manifest does not define.
CURRENT: Mapping[str, str] = {
    "GitRepository": f"{SOURCE_GROUP}/v1",
    "HelmRepository": f"{SOURCE_GROUP}/v1",
    "Bucket": f"{SOURCE_GROUP}/v1",
    "Kustomization": f"{KUSTOMIZE_GROUP}/v1",
    "HelmRelease": f"{HELM_GROUP}/v2",
    "Provider": f"{NOTIFICATION_GROUP}/v1beta3",
    "Alert": f"{NOTIFICATION_GROUP}/v1beta3",
    "Receiver": f"{NOTIFICATION_GROUP}/v1",
}


#: Every version each Flux API group has had, oldest first: one object keeps its identity across them.
GROUP_VERSIONS: Mapping[str, tuple[str, ...]] = {
    SOURCE_GROUP: ("v1alpha1", "v1beta1", "v1beta2", "v1"),
    KUSTOMIZE_GROUP: ("v1alpha1", "v1beta1", "v1beta2", "v1"),
    HELM_GROUP: ("v2alpha1", "v2beta1", "v2beta2", "v2"),
    NOTIFICATION_GROUP: ("v1alpha1", "v1beta1", "v1beta2", "v1beta3", "v1"),
}

#: The plural resource name of each Flux kind (what the API paths say).
PLURALS: Mapping[str, str] = {
    "GitRepository": "gitrepositories",
    "HelmRepository": "helmrepositories",
    "HelmChart": "helmcharts",
    "Bucket": "buckets",
    "OCIRepository": "ocirepositories",
    "Kustomization": "kustomizations",
    "HelmRelease": "helmreleases",
    "Provider": "providers",
    "Alert": "alerts",
    "Receiver": "receivers",
}


def is_flux_group(group: str) -> bool:
    return group.endswith(TOOLKIT)


def _flux_crds(install: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for obj in install:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            if is_flux_group(str(spec.get("group", ""))):
                yield spec


def api_versions(install: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Kind -> group/version for every Flux kind: the storage version of the install's CRDs."""
    found = dict(CURRENT)
    for spec in _flux_crds(install):
        storage = [v["name"] for v in spec.get("versions", []) if v.get("storage")]
        if storage:
            found[spec["names"]["kind"]] = f"{spec['group']}/{storage[0]}"
    return found


def served_versions(install: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(group, kind) -> the versions the install's CRDs serve."""
    return {
        (spec["group"], spec["names"]["kind"]): {
            v["name"] for v in spec.get("versions", []) if v.get("served", True)
        }
        for spec in _flux_crds(install)
    }


def crd_specs(install: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """CRD name (`helmreleases.helm.toolkit.fluxcd.io`) -> spec, for every Flux CRD of the install."""
    return {f"{spec['names']['plural']}.{spec['group']}": spec for spec in _flux_crds(install)}


def storage_version(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The entry of a CRD spec's versions that the API server stores objects in."""
    return next(v for v in spec.get("versions", []) if v.get("storage"))


def is_removed(api_version: str, kind: str, served: Mapping[tuple[str, str], set[str]]) -> bool:
    """True for a Flux kind in a version that a release's CRDs (`served`: served_versions) do not serve."""
    group, _, version = api_version.rpartition("/")
    versions = served.get((group, kind)) if is_flux_group(group) else None
    return versions is not None and version not in versions
