"""FluxSystem: the Flux controllers and CRDs of one cluster, from the release's install manifest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.objects import ObjectsComponent

__all__ = ["FluxSystem", "FluxSystemArgs"]

# The provider holds each Service's create for 10 s after every change to its Endpoints (its await
# lets them "settle"), and everything after Flux waited for that (bench/results.md, scenario 2).
# The Deployments behind Flux's Services are awaited already; the Services need not be.
_SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


def _without_service_await(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] != "Service":
        return obj
    meta = obj.get("metadata") or {}
    return {**obj, "metadata": {**meta, "annotations": {**(meta.get("annotations") or {}), **_SKIP_AWAIT}}}


@dataclass(frozen=True)
class FluxSystemArgs:
    version: str
    namespace: str
    #: From components.manifests.flux_install.build_flux_install: Namespace and CRDs first.
    objects: Sequence[dict[str, Any]]


class FluxSystem(ObjectsComponent):
    version: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: FluxSystemArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not any(o["kind"] == "CustomResourceDefinition" for o in args.objects):
            raise ValueError("FluxSystemArgs.objects holds no CRDs: is it a Flux install manifest?")
        super().__init__(
            "eoepca:flux:FluxSystem", name, [_without_service_await(o) for o in args.objects], opts
        )
        self.version = pulumi.Output.from_input(args.version)
        self.namespace = pulumi.Output.from_input(args.namespace)
        self.register_outputs({"version": self.version, "namespace": self.namespace})
