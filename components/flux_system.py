"""FluxSystem: the Flux controllers and CRDs of one cluster, from the release's install manifest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.objects import ObjectsComponent
from eoepca_gitops.manifests.identity import COMPONENT_TYPES

__all__ = ["FluxSystem", "FluxSystemArgs"]


@dataclass(frozen=True)
class FluxSystemArgs:
    version: str
    namespace: str
    #: From eoepca_gitops.manifests.flux_install.build_flux_install: Namespace and CRDs first.
    objects: Sequence[dict[str, Any]]


class FluxSystem(ObjectsComponent):
    version: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: FluxSystemArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not any(o["kind"] == "CustomResourceDefinition" for o in args.objects):
            raise ValueError("FluxSystemArgs.objects holds no CRDs: is it a Flux install manifest?")
        super().__init__(COMPONENT_TYPES["flux"], name, args.objects, opts)
        self.version = pulumi.Output.from_input(args.version)
        self.namespace = pulumi.Output.from_input(args.namespace)
        self.register_outputs({"version": self.version, "namespace": self.namespace})
