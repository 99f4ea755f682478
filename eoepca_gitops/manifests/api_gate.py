"""The upgrade gate: Flux objects in Git, or in the cluster, whose API version the stack's Flux no
longer serves, and what the cluster holds that an upgrade cannot migrate.

A Flux upgrade across an API removal (v0.24 -> v2.9 drops source v1beta1, kustomize v1beta1,
helm v2beta1, notification v1beta1) leaves such objects failing to apply, and Flux's garbage
collection can then delete what they manage. The stack refuses the upgrade until they are
migrated, or `eoepca-gitops:flux.allowApiRemoval: true`. The live half reads the plan
eoepca_gitops.upgrade.plan made from the cluster. Pure: objects, install manifest and plan in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.flux_apis import is_removed, served_versions
from eoepca_gitops.model import defaults
from eoepca_gitops.model.stack import FluxConfig
from eoepca_gitops.upgrade.plan import UpgradePlan

__all__ = ["RemovedApi", "check_api_removal", "check_live_upgrade", "removed_api_objects"]


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
            if is_removed(str(obj.get("apiVersion", "")), str(obj.get("kind", "")), served):
                meta = obj.get("metadata") or {}
                namespace, name = meta.get("namespace") or "", meta.get("name", "")
                found.append(RemovedApi(where, obj["kind"], namespace, name, obj["apiVersion"]))
    return sorted(found)


def _listed(items: Sequence[str], most: int = 10) -> str:
    return "; ".join(items[:most]) + (f"; and {len(items) - most} more" if len(items) > most else "")


def check_api_removal(
    flux: FluxConfig,
    install: Iterable[Mapping[str, Any]],
    objects: Mapping[str, Iterable[Mapping[str, Any]]],
    file: str,
) -> list[RemovedApi]:
    """The objects in Git that use removed API versions; ConfigError unless flux.allowApiRemoval."""
    found = removed_api_objects(objects, install)
    if found and not flux.allow_api_removal:
        listed = _listed([str(f) for f in found])
        raise ConfigError(
            file,
            f"{defaults.CONFIG_NAMESPACE}:flux.version",
            f"Flux {flux.version} does not serve the API version of {len(found)} object(s) in Git: {listed}; "
            "migrate them (`flux migrate`) or set eoepca-gitops:flux.allowApiRemoval: true",
        )
    return found


def check_live_upgrade(
    flux: FluxConfig, plan: UpgradePlan, file: str, in_git: Collection[tuple[str, str, str, str]] = ()
) -> None:
    """The live half of the gate, before anything changes: ConfigError when the cluster holds what the
    upgrade cannot carry over (plan.refused), or objects Flux applies from Git in versions the new
    release does not serve (unless flux.allowApiRemoval, as for the objects in Git) and which Git
    does not hold anew: `in_git` keys (group, kind, namespace, name) of the checkout's Git layer, whose
    versions check_api_removal checks."""
    key = f"{defaults.CONFIG_NAMESPACE}:flux.version"
    if plan.refused:
        raise ConfigError(
            file, key, f"Flux {flux.version}: the upgrade cannot migrate: {_listed(plan.refused)}"
        )
    stale = [
        o
        for o in plan.from_git
        if (o.api_version.rpartition("/")[0], o.kind, o.namespace, o.name) not in in_git
    ]
    if stale and not flux.allow_api_removal:
        objects = [
            f"{o} ({o.flux_applied}, applied by Kustomization {o.kustomization or '?'})" for o in stale
        ]
        raise ConfigError(
            file,
            key,
            f"Flux {flux.version} does not serve the API version Flux applies {len(objects)} object(s) "
            f"in from Git, in the cluster now: {_listed(objects)}; change them in Git (`flux migrate -f .`) "
            "where this stack's checkout has them, or set eoepca-gitops:flux.allowApiRemoval: true",
        )
