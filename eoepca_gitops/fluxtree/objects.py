"""Object identity and comparison: keys as Flux's inventory sees them, differences one per line."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from eoepca_gitops import yaml_io

__all__ = ["Key", "as_flux_sees_it", "diff", "documents", "key"]

Key = tuple[str, str, str, str]


def key(obj: Mapping[str, Any]) -> Key:
    """(API group, kind, namespace, name): the identity of an object across API versions."""
    api = str(obj.get("apiVersion", ""))
    meta = obj.get("metadata") or {}
    return (
        api.rpartition("/")[0],
        str(obj.get("kind", "")),
        meta.get("namespace") or "",
        meta.get("name", ""),
    )


def documents(text: str) -> Iterator[dict[str, Any]]:
    """The mapping documents of a multi-document YAML text (empty ones skipped)."""
    for doc in yaml_io.load_all(text):
        if isinstance(doc, dict):
            yield doc


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Every difference between two values, one line each, with its path (ours vs original)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append(f"{p}: only in ours: {a[k]!r:.200}")
            elif k not in a:
                out.append(f"{p}: only in original: {b[k]!r:.200}")
            else:
                out += diff(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items in ours, {len(b)} in original")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            out += diff(x, y, f"{path}[{i}]")
        return out
    if isinstance(a, str) and isinstance(b, str) and a != b and max(len(a), len(b)) > 120:
        i = next((n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        lo = max(0, i - 40)
        return [
            f"{path}: strings differ at {i}: ours ...{a[lo : i + 60]!r}... "
            f"!= original ...{b[lo : i + 60]!r}..."
        ]
    if a != b or type(a) is not type(b):
        return [f"{path}: ours {a!r:.200} != original {b!r:.200}"]
    return []


def as_flux_sees_it(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as Kubernetes and Flux act on it, for comparisons: `pulumi.com/...` annotations steer
    only Pulumi's provider, and `spec.suspend: false` (which the stack declares so that a suspend by
    hand is drift) means what an absent one means."""
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("pulumi.com/")
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    spec = out.get("spec")
    if isinstance(spec, dict) and spec.get("suspend") is False:
        out["spec"] = {k: v for k, v in spec.items() if k != "suspend"}
    return out
