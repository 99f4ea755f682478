"""An object as a review shows it: stable YAML (sorted keys), no secret value.

A Secret's values are masked (`***`), with `*** (changed)` where the other revision's value
differs, so that a reviewer sees that a secret changes but never what it is; the placeholders of
an offline render (`<secret KEY>`, `<unset KEY>`) stay as they are, since they hold no value.
Every other string goes through eoepca_gitops.credentials.redact_value (credentials in URLs,
Authorization headers, tokens, private keys, `password=...`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.credentials import MASK, redact_value

__all__ = ["CHANGED_MASK", "shown", "shown_pair"]

CHANGED_MASK = f"{MASK} (changed)"
_PLACEHOLDER = re.compile(r"<(?:secret|unset) [^<>\n]*>")
_SECRET_FIELDS = ("data", "stringData")
_ABSENT = object()  # a key the other revision does not have: an added line says enough


def _masked(value: Any, before: Any) -> Any:
    if isinstance(value, str) and _PLACEHOLDER.fullmatch(value):
        return value
    return CHANGED_MASK if before is not _ABSENT and before != value else MASK


def _secret(obj: Mapping[str, Any], other: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(obj)
    for field in _SECRET_FIELDS:
        values = obj.get(field)
        if not isinstance(values, Mapping):
            continue
        before = (other or {}).get(field)
        before = before if isinstance(before, Mapping) else {}
        out[field] = {k: _masked(v, before.get(k, _ABSENT)) for k, v in values.items()}
    return out


def _prepared(obj: Mapping[str, Any], other: Mapping[str, Any] | None) -> Any:
    if obj.get("kind") == "Secret" and str(obj.get("apiVersion", "")) == "v1":
        obj = _secret(obj, other)
    return redact_value(obj)


def shown(obj: Mapping[str, Any]) -> str:
    """The YAML of an object shown alone (added or deleted)."""
    return str(yaml_io.dump(_prepared(obj, None)))


def shown_pair(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, str]:
    """The YAML of an object at both revisions; a Secret's value that changed says so on the new side."""
    return str(yaml_io.dump(_prepared(old, None))), str(yaml_io.dump(_prepared(new, old)))
