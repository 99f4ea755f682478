"""A review as JSON for tools: stacks -> layers -> objects (group, apiVersion, kind, namespace, name,
change, detail, diff); the Helm layer also lists its releases (chart, note, error) and names each
object's release. Keys and order are stable: a tool may rely on them."""

from __future__ import annotations

import json
from typing import Any

from eoepca_gitops.review.changes import LAYERS, ObjectChange, Review, Section, StackReview, counts

__all__ = ["as_json", "document", "state"]


def state(stack: StackReview) -> str:
    """added, deleted, changed or unchanged."""
    return stack.state if stack.state != "changed" or stack.changed else "unchanged"


def _object(obj: ObjectChange, section: Section) -> dict[str, Any]:
    return {
        "group": section.group,
        **({"release": section.release} if section.release else {}),
        "apiVersion": obj.api_version,
        "kind": obj.kind,
        "namespace": obj.namespace,
        "name": obj.name,
        "change": obj.change,
        "detail": obj.detail,
        "diff": obj.diff,
    }


def _layer(stack: StackReview, layer: str) -> dict[str, Any]:
    sections = stack.layer(layer)
    out: dict[str, Any] = {
        "summary": counts(sections),
        "objects": [_object(o, s) for s in sections for o in s.objects],
    }
    if layer == "helm":
        out["shown"] = not stack.helm_note
        out["note"] = stack.helm_note
        out["releases"] = [
            {"release": s.release, "group": s.group, "chart": s.chart, "note": s.note, "error": s.error}
            for s in sections
        ]
    return out


def _stack(stack: StackReview) -> dict[str, Any]:
    return {
        "name": stack.name,
        "state": state(stack),
        "upgrade": list(stack.upgrade),
        "notes": list(stack.notes),
        "errors": list(stack.errors),
        "layers": {layer: _layer(stack, layer) for layer in LAYERS},
    }


def as_json(review: Review) -> str:
    return json.dumps(document(review), indent=2) + "\n"


def document(review: Review) -> dict[str, Any]:
    """The review as JSON-like data (`diff --format json`, `--json-out`)."""
    return {
        "base": review.base,
        "head": review.head,
        "changed": review.changed,
        "errors": review.errors,
        "stacks": [_stack(s) for s in review.stacks],
    }
