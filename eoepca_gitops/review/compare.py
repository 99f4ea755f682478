"""Two revisions' objects (by identity: group, kind, namespace, name) into changed objects, each with
the unified diff of its shown YAML (eoepca_gitops.review.shown).

An object whose API version changed is the same object, changed in place (its versions are named in
`detail`), as Kubernetes and Flux's inventory see it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from eoepca_gitops.fluxtree import Key
from eoepca_gitops.review.changes import Change, ObjectChange
from eoepca_gitops.review.shown import shown, shown_pair

__all__ = ["CONTEXT_LINES", "compare", "unified"]

Objects = Mapping[Key, Mapping[str, Any]]
#: Lines of context around a change: enough to see the keys above a changed field in most objects.
CONTEXT_LINES = 4


def unified(old: str, new: str) -> str:
    """The hunks of a unified diff of two texts (no file header lines: the object's title says it)."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=CONTEXT_LINES)
    return "\n".join(line for i, line in enumerate(lines) if i >= 2)


def _version(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[2]


def _change(k: Key, obj: Mapping[str, Any], change: Change, diff: str, detail: str = "") -> ObjectChange:
    return ObjectChange(str(obj.get("apiVersion", "")), k[1], k[2], k[3], change, diff, detail)


def compare(old: Objects, new: Objects) -> list[tuple[Key, ObjectChange]]:
    """Every object added, changed or deleted from `old` to `new`, in key order."""
    out: list[tuple[Key, ObjectChange]] = []
    for k in sorted(set(old) | set(new)):
        before, after = old.get(k), new.get(k)
        if before is None and after is not None:
            out.append((k, _change(k, after, "added", unified("", shown(after)))))
        elif after is None and before is not None:
            out.append((k, _change(k, before, "deleted", unified(shown(before), ""))))
        elif before is not None and after is not None and before != after:
            was, now = _version(before), _version(after)
            detail = f"{k[0]}/{was} -> {now}, in place" if was != now else ""
            diff = unified(*shown_pair(before, after))
            if not diff:  # what changed is a credential, which is never shown
                detail = ", ".join(d for d in (detail, "the change is in a redacted value") if d)
            out.append((k, _change(k, after, "changed", diff, detail)))
    return out
