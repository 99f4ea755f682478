"""Whether a drift check can be answered without a preview: nothing changed since the last clean one.

Kubernetes gives an object a new resourceVersion at every change (its status too) and never an
old one again; a deleted and re-created object gets a new one as well. So when every object of the
stack still has the resourceVersion a clean refresh-preview of the same commit read, the cluster
holds what that preview found clean, and the program, at the same commit, declares the same: a
preview again would find the same. Any other answer (a changed or missing object, a kind or
namespace that cannot be listed, an object the preview did not show a version of) runs the
preview.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess, ObjectRef

__all__ = ["CleanCheck", "SeenVersions"]

_OBJECT = "kubernetes:"  # a Kubernetes object's type token; the provider itself is pulumi:providers:


@dataclass
class SeenVersions:
    """The stack's objects and the resourceVersions a refresh-preview's steps showed of them."""

    versions: dict[ObjectRef, str] = field(default_factory=dict)
    complete: bool = True  # False once an object showed no version

    def add(self, token: str, outputs: Mapping[str, Any] | None) -> None:
        if not token.startswith(_OBJECT):
            return
        outputs = outputs or {}
        meta = outputs.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        version, api_version, kind = (
            meta.get("resourceVersion"),
            outputs.get("apiVersion"),
            outputs.get("kind"),
        )
        if not (isinstance(version, str) and isinstance(api_version, str) and isinstance(kind, str)):
            self.complete = False
            return
        ref = (api_version, kind, str(meta.get("namespace") or ""), str(meta.get("name", "")))
        # The state's version (read before this preview) does as well as the refreshed one: an
        # object still at it now has not changed since the preview read it.
        self.versions[ref] = version


@dataclass(frozen=True)
class CleanCheck:
    """What the last clean drift check of a stack read: the commit's tree and its objects' versions."""

    tree: Path
    versions: Mapping[ObjectRef, str]

    def still_clean(self, tree: Path, cluster: Callable[[], ClusterAccess]) -> bool:
        """True when `tree` is the same commit's and every object is at the version seen then."""
        if tree != self.tree or not self.versions:
            return False
        try:
            with cluster() as access:
                return access.versions(self.versions) == self.versions
        except GitopsError:
            return False
