"""FluxSystem: the Flux controllers and CRDs of one cluster, from the release's install manifest, and
the migration step of an upgrade, ordered before the CRDs (components.flux_migration)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.flux_migration import MIGRATED_ANNOTATION, FluxMigration, FluxMigrationArgs
from components.objects import ObjectsComponent
from eoepca_gitops.flux_apis import is_flux_group
from eoepca_gitops.manifests.identity import COMPONENT_TYPES

__all__ = ["FluxSystem", "FluxSystemArgs"]


@dataclass(frozen=True)
class FluxSystemArgs:
    version: str
    namespace: str
    #: From eoepca_gitops.manifests.flux_install.build_flux_install: Namespace and CRDs first.
    objects: Sequence[dict[str, Any]]
    #: The upgrade step; None registers the objects alone (no cluster to migrate, e.g. render).
    migration: FluxMigrationArgs | None = None


def _after(crd: dict[str, Any], migrated: pulumi.Output[str]) -> dict[str, Any]:
    """A Flux CRD that waits for the migration (an input from its output). The bridge changed its
    versions as another field manager: the stack's apply takes them back like any drift
    (pulumi.com/patchForce, eoepca_gitops.manifests.drift)."""
    out = copy.deepcopy(crd)
    out["metadata"].setdefault("annotations", {})[MIGRATED_ANNOTATION] = migrated
    return out


class FluxSystem(ObjectsComponent):
    version: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: FluxSystemArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not any(o["kind"] == "CustomResourceDefinition" for o in args.objects):
            raise ValueError("FluxSystemArgs.objects holds no CRDs: is it a Flux install manifest?")
        super().__init__(COMPONENT_TYPES["flux"], name, (), opts)
        objects = list(args.objects)
        if args.migration is not None:
            migration = FluxMigration(
                "flux-api-migration", args.migration, pulumi.ResourceOptions(parent=self)
            )
            objects = [
                _after(o, migration.migrated)
                if o["kind"] == "CustomResourceDefinition" and is_flux_group(str(o["spec"].get("group", "")))
                else o
                for o in objects
            ]
        self.register_children(objects)
        self.version = pulumi.Output.from_input(args.version)
        self.namespace = pulumi.Output.from_input(args.namespace)
        self.register_outputs({"version": self.version, "namespace": self.namespace})
