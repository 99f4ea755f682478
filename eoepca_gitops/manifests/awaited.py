"""What a block's update waits for (the stack's `await`): which of its Flux objects, and the digest
that makes the wait run again when, and only when, what Flux acts on changes.

The wait itself is components/flux_await.py; this is its pure input, as the builders make every
other object.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from eoepca_gitops.model.stack import AwaitConfig

__all__ = ["AWAITED_KINDS", "awaited"]

#: Flux kind -> the `await` key that turns its wait on
AWAITED_KINDS: Mapping[str, str] = {"Kustomization": "kustomizations", "HelmRelease": "helm_releases"}


def _digest(obj: Mapping[str, Any], repositories: Mapping[tuple[str, str], Mapping[str, Any]]) -> str:
    """A hash of what Flux acts on for this object: its spec (a change bumps its generation), and
    for a HelmRelease the spec of the block's HelmRepository its chart comes from."""
    spec = obj.get("spec") or {}
    chart_source = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
    namespace = chart_source.get("namespace") or obj["metadata"].get("namespace", "")
    repository = repositories.get((namespace, chart_source.get("name", "")), {})
    text = json.dumps(
        {"apiVersion": obj["apiVersion"], "spec": spec, "repository": repository.get("spec")},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def awaited(objects: Sequence[Mapping[str, Any]], config: AwaitConfig) -> list[dict[str, str]] | None:
    """None when the block has no object of a kind the stack awaits (then no wait at all); else one
    entry per awaited object, in the block's order, without the suspended ones (no controller
    reports on them): apiVersion, kind, namespace, name and digest."""
    kinds = {kind for kind, key in AWAITED_KINDS.items() if getattr(config, key)}
    candidates = [o for o in objects if o["kind"] in kinds]
    if not candidates:
        return None
    repositories = {
        (o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
        for o in objects
        if o["kind"] == "HelmRepository"
    }
    return [
        {
            "apiVersion": str(o["apiVersion"]),
            "kind": str(o["kind"]),
            "namespace": str(o["metadata"].get("namespace", "")),
            "name": str(o["metadata"]["name"]),
            "digest": _digest(o, repositories),
        }
        for o in candidates
        if not (o.get("spec") or {}).get("suspend")
    ]
