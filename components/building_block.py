"""BuildingBlock: one block's namespaces, Helm sources, Flux Kustomization and HelmReleases, and,
when the stack awaits them, the wait for Flux's verdict on them (components/flux_await.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.flux_await import FluxAwait, FluxAwaitArgs
from components.objects import ObjectsComponent
from eoepca_gitops.manifests.identity import COMPONENT_TYPES

__all__ = ["BuildingBlock", "BuildingBlockArgs"]


@dataclass(frozen=True)
class BuildingBlockArgs:
    #: From eoepca_gitops.manifests.building_block.block_objects.
    objects: Sequence[dict[str, Any]]
    #: the stack's await of the block's Flux objects; None: `pulumi up` does not wait for Flux
    wait: FluxAwaitArgs | None = None


class BuildingBlock(ObjectsComponent):
    kustomizations: pulumi.Output[list[str]]
    helm_releases: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: BuildingBlockArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPES["block"], name, args.objects, opts)
        names = {
            kind: [o["metadata"]["name"] for o in args.objects if o["kind"] == kind]
            for kind in ("Kustomization", "HelmRelease")
        }
        self.kustomizations = pulumi.Output.from_input(names["Kustomization"])
        self.helm_releases = pulumi.Output.from_input(names["HelmRelease"])
        if args.wait is not None:
            # After every object of the block is applied; the blocks that depend on this one wait for it.
            FluxAwait(
                args.wait,
                pulumi.ResourceOptions(parent=self, depends_on=list(self.resources.values())),
            )
        self.register_outputs({"kustomizations": self.kustomizations, "helm_releases": self.helm_releases})
