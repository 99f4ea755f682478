"""Registers plain manifest dicts as Pulumi Kubernetes resources, one resource per object.

Each object gets the type token of the provider's own class (`kubernetes:apps/v1:Deployment`, ...),
so `pulumi preview` shows per-object diffs and mocks see every object. Secret payloads are
wrapped as Pulumi secrets, so they are encrypted in state and hidden in output.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import pulumi

from eoepca_gitops.manifests.drift import EXEMPT
from eoepca_gitops.manifests.identity import object_key, other_version_tokens, type_token

__all__ = ["ObjectsComponent", "register_object"]

_SECRET_FIELDS = ("data", "stringData")
# pulumi_kubernetes' version, so the engine asks for the provider plugin the SDK was built for.
_PROVIDER_VERSION = version("pulumi-kubernetes")


def register_object(obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    props: dict[str, Any] = {k: v for k, v in obj.items() if k != "status"}
    secret_outputs: list[str] = []
    if obj["kind"] == "Secret":
        for field in _SECRET_FIELDS:
            if field in props:
                props[field] = pulumi.Output.secret(props[field])
                secret_outputs.append(field)
    # An object exempt from drift correction (eoepca_gitops.manifests.drift) is created, never updated.
    exempt = (obj.get("metadata") or {}).get("annotations", {}).get(EXEMPT) == "true"
    # A Flux object whose API version changed (a Flux upgrade) is the same resource: an update.
    aliases: list[pulumi.Input[str | pulumi.Alias]] = [
        pulumi.Alias(type_=t) for t in other_version_tokens(obj)
    ]
    merged = pulumi.ResourceOptions.merge(
        pulumi.ResourceOptions(
            version=_PROVIDER_VERSION,
            additional_secret_outputs=secret_outputs or None,
            ignore_changes=[k for k in props if k not in ("apiVersion", "kind")] if exempt else None,
            aliases=aliases or None,
        ),
        opts,
    )
    return pulumi.CustomResource(type_token(obj), object_key(obj), props, merged)


class ObjectsComponent(pulumi.ComponentResource):
    """A component whose children are the given objects, in order.

    Namespaces and CRDs are registered first and everything else depends on them, so a CR is
    never sent before its CRD and nothing lands before its namespace exists.
    """

    resources: dict[str, pulumi.CustomResource]

    def __init__(
        self,
        type_token_: str,
        name: str,
        objects: Sequence[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_token_, name, None, opts)
        self.resources = {}
        self.register_children(objects)

    def register_children(self, objects: Sequence[dict[str, Any]]) -> None:
        """Registers the objects as children (a subclass may pass none to __init__ and call this later)."""
        child = pulumi.ResourceOptions(parent=self)
        foundations: list[pulumi.Resource] = []
        for obj in objects:
            if obj["kind"] in ("Namespace", "CustomResourceDefinition"):
                resource = register_object(obj, child)
                foundations.append(resource)
            else:
                resource = register_object(
                    obj, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=foundations))
                )
            self.resources[object_key(obj)] = resource
