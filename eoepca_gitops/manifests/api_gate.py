"""The upgrade gate: Flux objects in Git whose API version the stack's Flux no longer serves.

A Flux upgrade across an API removal (v0.24 -> v2.9 drops source v1beta1, kustomize v1beta1,
helm v2beta1, notification v1beta1) leaves such objects failing to apply, and Flux's garbage
collection can then delete what they manage. The stack refuses the upgrade until they are
migrated, or `eoepca-gitops:flux.allowApiRemoval: true`. Pure: objects and install manifest in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.flux_apis import is_flux_group, served_versions
from eoepca_gitops.model import defaults
from eoepca_gitops.model.stack import FluxConfig

__all__ = ["RemovedApi", "check_api_removal", "removed_api_objects"]


@dataclass(frozen=True, order=True)
class RemovedApi:
    where: str  # the Kustomization that applies it
    kind: str
    namespace: str
    name: str
    api_version: str

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name} ({self.api_version}, applied by {self.where})"


def removed_api_objects(
    objects: Mapping[str, Iterable[Mapping[str, Any]]], install: Iterable[Mapping[str, Any]]
) -> list[RemovedApi]:
    """Objects (by applying Kustomization) in a Flux group/version the install does not serve."""
    served = served_versions(install)
    found: list[RemovedApi] = []
    for where, objs in objects.items():
        for obj in objs:
            group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
            kind = str(obj.get("kind", ""))
            if not is_flux_group(group):
                continue
            versions = served.get((group, kind))
            if versions is not None and version not in versions:
                meta = obj.get("metadata") or {}
                found.append(
                    RemovedApi(
                        where, kind, meta.get("namespace") or "", meta.get("name", ""), obj["apiVersion"]
                    )
                )
    return sorted(found)


def check_api_removal(
    flux: FluxConfig,
    install: Iterable[Mapping[str, Any]],
    objects: Mapping[str, Iterable[Mapping[str, Any]]],
    file: str,
) -> list[RemovedApi]:
    """The objects in Git that use removed API versions; ConfigError unless flux.allowApiRemoval."""
    found = removed_api_objects(objects, install)
    if found and not flux.allow_api_removal:
        listed = "; ".join(str(f) for f in found[:10]) + (
            f"; and {len(found) - 10} more" if len(found) > 10 else ""
        )
        raise ConfigError(
            file,
            f"{defaults.CONFIG_NAMESPACE}:flux.version",
            f"Flux {flux.version} does not serve the API version of {len(found)} object(s) in Git: {listed}; "
            "migrate them (`flux migrate`) or set eoepca-gitops:flux.allowApiRemoval: true",
        )
    return found
