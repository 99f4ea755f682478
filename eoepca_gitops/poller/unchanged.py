"""Whether a drift check can be answered without a preview: nothing changed since the last clean one.

A drift check compares the stack's objects in the cluster with what the commit declares. When the
commit is the same and every object reads as it did around the last clean refresh-preview, that
preview's answer stands. "As it did" leaves out what controllers rewrite without anyone changing
the object: its status (Flux's controllers update their objects' status at every reconciliation,
a failing source every few seconds), its resourceVersion, and the status writers' and the times'
entries of managedFields; everything else (spec, data, labels, annotations, finalizers, owners,
who manages which field) counts. The objects are read just before the clean preview and again
just after it, and kept only when both reads agree, so they are what the preview looked at.
Any other answer (an object changed or gone, a read that fails, a step of the preview that showed
no object) runs the preview.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess, ObjectRef

__all__ = ["Unchanged", "fingerprint", "object_ref"]

_OBJECT = "kubernetes:"  # a Kubernetes object's type token; the provider itself is pulumi:providers:


def fingerprint(obj: Mapping[str, Any]) -> str:
    """A digest of what anyone but a controller reporting status would change in the object."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [
        {k: v for k, v in entry.items() if k != "time"}
        for entry in meta.get("managedFields") or []
        if not entry.get("subresource")
    ]
    kept = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    text = json.dumps({**kept, "metadata": meta}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def object_ref(outputs: Mapping[str, Any] | None) -> ObjectRef | None:
    """Which object a preview step's outputs are; None when they do not say."""
    outputs = outputs or {}
    meta = outputs.get("metadata")
    api_version, kind = outputs.get("apiVersion"), outputs.get("kind")
    if not (isinstance(meta, Mapping) and isinstance(api_version, str) and isinstance(kind, str)):
        return None
    return (api_version, kind, str(meta.get("namespace") or ""), str(meta.get("name", "")))


@dataclass
class Unchanged:
    """One stack's record: the objects its last preview showed, and what they read as around the
    last clean one, with what the program ran from (`at`: the commit's tree, and the commit a
    roll-back pins Flux's source to)."""

    objects: set[ObjectRef] = field(default_factory=set)  # from the last preview's steps
    complete: bool = False  # that preview showed every Kubernetes object it stepped through
    clean: tuple[Hashable, dict[ObjectRef, str]] | None = None
    _before: dict[ObjectRef, str] | None = None

    def still_clean(self, at: Hashable, cluster: Callable[[], ClusterAccess]) -> bool:
        """True when `at` is the clean check's and every object reads as it did then."""
        if self.clean is None or self.clean[0] != at:
            return False
        return _read(cluster, self.clean[1]) == self.clean[1]

    def before_preview(self, cluster: Callable[[], ClusterAccess]) -> None:
        self.clean, self._before = None, _read(cluster, self.objects) if self.complete else None
        self.objects, self.complete = set(), True

    def saw(self, token: str, outputs: Mapping[str, Any] | None) -> None:
        """One step of the preview: its type token and the outputs it showed."""
        if not token.startswith(_OBJECT):
            return
        ref = object_ref(outputs)
        if ref is None:
            self.complete = False
        else:
            self.objects.add(ref)

    def after_preview(self, at: Hashable, clean: bool, cluster: Callable[[], ClusterAccess]) -> None:
        before, self._before = self._before, None
        if not (clean and self.complete and before and set(before) == self.objects):
            return
        if _read(cluster, self.objects) == before:
            self.clean = (at, before)

    def forget(self) -> None:
        """After an update: what it changed is previewed at the next check."""
        self.clean = None


def _read(
    cluster: Callable[[], ClusterAccess], objects: Collection[ObjectRef]
) -> dict[ObjectRef, str] | None:
    if not objects:
        return None
    try:
        with cluster() as access:
            return {ref: fingerprint(obj) for ref, obj in access.objects(objects).items()}
    except GitopsError:
        return None
