"""lightkube's class for a kind: its own for the Kubernetes kinds, a generic one per Flux kind and
version, made once per process in one cache (lightkube's registry refuses a second class for the
same group, version and kind)."""

from __future__ import annotations

from typing import Any

from lightkube.core import resource as lightkube_resource
from lightkube.core.exceptions import LoadResourceError
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_namespaced_resource

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import PLURALS

__all__ = ["flux_resource", "namespaced", "resource"]

_GENERIC: dict[tuple[str, str, str], Any] = {}


def flux_resource(group: str, version: str, kind: str, plural: str) -> Any:
    """lightkube's generic class for a Flux kind in one version."""
    key = (group, version, kind)
    if key not in _GENERIC:
        _GENERIC[key] = create_namespaced_resource(group, version, kind, plural)
    return _GENERIC[key]


def resource(api_version: str, kind: str) -> Any:
    """The class for `kind` in `api_version`: a Flux kind's generic class, else lightkube's own."""
    if kind in PLURALS:
        group, _, version = api_version.rpartition("/")
        return flux_resource(group, version, kind, PLURALS[kind])
    try:
        return resource_registry.load(api_version, kind)
    except LoadResourceError:
        raise GitopsError(f"no Kubernetes API known for {kind} ({api_version})") from None


def namespaced(api_version: str, kind: str) -> bool:
    """Whether objects of `kind` live in a namespace (a manifest without one means the release's)."""
    return issubclass(resource(api_version, kind), lightkube_resource.NamespacedResource)
