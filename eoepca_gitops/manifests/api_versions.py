"""Which apiVersion each Flux kind is written in: the storage version of the installed CRDs.

A stack on Flux v0.24 gets v1beta1/v2beta1 objects, one on v2.9 gets v1/v2: the objects always
match the CRDs the same stack installs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["CURRENT", "api_versions"]

CURRENT: Mapping[str, str] = {
    "GitRepository": "source.toolkit.fluxcd.io/v1",
    "HelmRepository": "source.toolkit.fluxcd.io/v1",
    "Bucket": "source.toolkit.fluxcd.io/v1",
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2",
    "Provider": "notification.toolkit.fluxcd.io/v1beta3",
    "Alert": "notification.toolkit.fluxcd.io/v1beta3",
    "Receiver": "notification.toolkit.fluxcd.io/v1",
}


def api_versions(install: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Kind -> group/version from the CRDs of an install manifest, for the kinds we build."""
    found = dict(CURRENT)
    for obj in install:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj["spec"]
        kind = spec["names"]["kind"]
        storage = [v["name"] for v in spec["versions"] if v.get("storage")]
        if kind in found and storage:
            found[kind] = f"{spec['group']}/{storage[0]}"
    return found
