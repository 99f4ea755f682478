"""An object as a review shows it: stable YAML (sorted keys), no secret value.

Secret values are masked (`***`), with `*** (changed)` where the other revision's value at the same
place differs, so that a reviewer sees that a secret changes but never what it is: every value of a
Secret's `data` and `stringData`, and anywhere (a chart's values may hold credentials in plain
text) a value under a key that names one (`password`, `adminPassword`, `token`, `clientSecret`,
`apiKey`, ...; not `secretName` or `passwordSecretRef`, which name where a secret is). The
placeholders of an offline render (`<secret KEY>`, `<unset KEY>`) stay as they are: they hold no
value. Every other string goes through eoepca_gitops.credentials.redact_value (credentials in URLs,
Authorization headers, tokens, private keys, `password=...` in text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.credentials import MASK, redact_value, secret_key

__all__ = ["CHANGED_MASK", "secret_key", "shown", "shown_pair"]

CHANGED_MASK = f"{MASK} (changed)"
_PLACEHOLDER = re.compile(r"<(?:secret|unset) [^<>\n]*>")
_SECRET_FIELDS = ("data", "stringData")
_ABSENT = object()  # nothing at this place in the other revision: an added line says enough


def _masked(value: Any, before: Any) -> Any:
    if value is None or isinstance(value, bool | Mapping | list):
        return value
    if isinstance(value, str) and _PLACEHOLDER.fullmatch(value):
        return value
    return CHANGED_MASK if before is not _ABSENT and before != value else MASK


def _walk(value: Any, other: Any, secret: bool) -> Any:
    """`value` with the secret values masked; `other` is what the other revision has at this place."""
    if isinstance(value, Mapping):
        theirs = other if isinstance(other, Mapping) else {}
        return {k: _walk(v, theirs.get(k, _ABSENT), secret or secret_key(str(k))) for k, v in value.items()}
    if isinstance(value, list):
        items = other if isinstance(other, list) else []
        return [_walk(v, items[i] if i < len(items) else _ABSENT, secret) for i, v in enumerate(value)]
    return _masked(value, other) if secret else value


def _prepared(obj: Mapping[str, Any], other: Mapping[str, Any] | None) -> Any:
    secret_object = obj.get("kind") == "Secret" and str(obj.get("apiVersion", "")) == "v1"
    out = {}
    for k, v in obj.items():
        before = other.get(k, _ABSENT) if other is not None else _ABSENT
        out[k] = _walk(v, before, (secret_object and k in _SECRET_FIELDS) or secret_key(str(k)))
    return redact_value(out)


def shown(obj: Mapping[str, Any]) -> str:
    """The YAML of an object shown alone (added or deleted)."""
    return str(yaml_io.dump(_prepared(obj, None)))


def shown_pair(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, str]:
    """The YAML of an object at both revisions; a secret value that changed says so on the new side."""
    return str(yaml_io.dump(_prepared(old, None))), str(yaml_io.dump(_prepared(new, old)))
