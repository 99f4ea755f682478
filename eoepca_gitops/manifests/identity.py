"""How the program names each object it registers: its Pulumi resource name, type token and URN.

The components register every object under these names; the operations (suspend, undeploy) target
the same resources by URN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoepca_gitops.flux_apis import GROUP_VERSIONS

__all__ = [
    "AWAIT_TYPE",
    "COMPONENT_TYPES",
    "api_version_of",
    "await_urn",
    "object_key",
    "other_version_tokens",
    "type_token",
    "urn",
]

#: The type token of the component that registers each group of a stack's objects.
COMPONENT_TYPES: Mapping[str, str] = {
    "flux": "eoepca:flux:FluxSystem",
    "source": "eoepca:flux:GitSource",
    "bucket": "eoepca:flux:BucketSource",
    "block": "eoepca:flux:BuildingBlock",
    "notifications": "eoepca:flux:Notifications",
    "poller": "eoepca:gitops:Poller",
}
#: The type of a block's wait for Flux (components/flux_await.py: a Python dynamic resource, named
#: after its block, a child of the block's component).
AWAIT_TYPE = "pulumi-python:dynamic/eoepca:FluxAwait"


def object_key(obj: Mapping[str, Any]) -> str:
    """A stable, unique name for an object: kind, namespace and name (its Pulumi resource name)."""
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj['kind']}/{ns}/{meta['name']}" if ns else f"{obj['kind']}/{meta['name']}"


def type_token(obj: Mapping[str, Any]) -> str:
    """The Pulumi Kubernetes provider's type token for the object (`kubernetes:apps/v1:Deployment`)."""
    api_version = str(obj["apiVersion"])
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{obj['kind']}"


def api_version_of(token: str) -> str:
    """The apiVersion a provider type token stands for (`kubernetes:core/v1:ConfigMap` -> `v1`)."""
    group_version = token.split(":")[1]
    return group_version.removeprefix("core/")


def other_version_tokens(obj: Mapping[str, Any]) -> list[str]:
    """The type tokens of a Flux object in the other versions of its API group.

    A Flux upgrade changes an object's apiVersion and so its type token; registered with these as
    aliases, the object is the same Pulumi resource before and after, updated in place (deleting a
    HelmRelease would make helm-controller uninstall its release). Empty for other objects.
    """
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    return [f"kubernetes:{group}/{v}:{obj['kind']}" for v in GROUP_VERSIONS.get(group, ()) if v != version]


def urn(stack: str, project: str, component: str, obj: Mapping[str, Any]) -> str:
    """The URN of an object registered by a component of type `component` (COMPONENT_TYPES)."""
    return f"urn:pulumi:{stack}::{project}::{component}${type_token(obj)}::{object_key(obj)}"


def await_urn(stack: str, project: str, block: str) -> str:
    """The URN of a block's wait for Flux (AWAIT_TYPE)."""
    return f"urn:pulumi:{stack}::{project}::{COMPONENT_TYPES['block']}${AWAIT_TYPE}::{block}"
