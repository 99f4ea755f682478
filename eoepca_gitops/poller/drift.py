"""What drifted, in words an operator can act on: the object, the field, the value the stack declares,
the value in the cluster, and the field manager that changed it (from the object's managedFields).

Pure: a refresh-preview step (its op, the live object, the declared one, Pulumi's property diff) in,
DriftItems out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eoepca_gitops.manifests.identity import api_version_of

__all__ = ["DriftItem", "describe_step", "field_owner", "parse_path"]

_SEGMENT = re.compile(r'([^.\[\]]+)|\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]')
# Pulumi's own field manager (pulumi-kubernetes-<id>): never the one that drifted.
_PULUMI_MANAGER = re.compile(r"^pulumi-kubernetes")
_WHOLE = "(object)"


@dataclass(frozen=True)
class DriftItem:
    kind: str
    object: str  # Kind/namespace/name, as the stack names it
    field: str  # dotted path, or "(object)"
    declared: str
    live: str
    manager: str  # who changed it; "?" when Kubernetes keeps no owner (a removed field)
    api_version: str = ""

    def __str__(self) -> str:
        return f"{self.object} {self.field}: {self.live} (by {self.manager}), declared {self.declared}"

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def parse_path(path: str) -> list[str | int]:
    """Pulumi's property path (`spec.values.replicaCount`, `metadata.labels["a.b/c"]`, `x[0].y`) as keys."""
    out: list[str | int] = []
    for name, quoted, index in _SEGMENT.findall(path):
        out.append(int(index) if index else (name or json.loads(f'"{quoted}"')))
    return out


def _at(value: Any, keys: list[str | int]) -> Any:
    for key in keys:
        if isinstance(key, str) and isinstance(value, dict):
            value = value.get(key)
        elif isinstance(key, int) and isinstance(value, list) and key < len(value):
            value = value[key]
        else:
            return None
    return value


def _short(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _owns(fields: Any, keys: list[str | int], live: Any) -> bool:
    """Whether a managedFields entry (fieldsV1) holds the field at `keys` of the live object."""
    node = fields
    for i, key in enumerate(keys):
        if not isinstance(node, dict):
            return False
        if isinstance(key, str):
            node = node.get(f"f:{key}")
            continue
        element = _at(live, keys[: i + 1])
        match = None
        for item_key, child in node.items():
            if item_key.startswith("k:") and isinstance(element, dict):
                wanted = json.loads(item_key[2:])
                if all(element.get(k) == v for k, v in wanted.items()):
                    match = child
            elif (
                item_key.startswith("v:") and json.loads(item_key[2:]) == element
            ) or item_key == f"i:{key}":
                match = child
        node = match
    return node is not None


def field_owner(managed_fields: Sequence[Mapping[str, Any]], keys: list[str | int], live: Any) -> str | None:
    """The manager that owns the field now (not Pulumi's), or None."""
    for entry in managed_fields:
        manager = str(entry.get("manager", ""))
        if _PULUMI_MANAGER.match(manager):
            continue
        if _owns(entry.get("fieldsV1") or {}, keys, live):
            return manager
    return None


def _last_writer(managed_fields: Sequence[Mapping[str, Any]]) -> str:
    """For a field no one owns any more (it was removed): the last one to update the object."""
    # Status writes (subresource status) are controllers reporting, not someone changing the spec.
    updates = [
        e
        for e in managed_fields
        if e.get("operation") == "Update"
        and not e.get("subresource")
        and not _PULUMI_MANAGER.match(str(e.get("manager", "")))
    ]
    if not updates:
        return "?"
    return f"{max(updates, key=lambda e: str(e.get('time', ''))).get('manager', '?')}?"


def describe_step(
    op: str,
    name: str,
    token: str,
    live: Mapping[str, Any] | None,
    declared: Mapping[str, Any] | None,
    detailed_diff: Mapping[str, Any] | None,
) -> list[DriftItem]:
    """The drift one step of a refresh-preview shows (`name`: the resource name, Kind/ns/name;
    `token`: the provider's type token, `kubernetes:apps/v1:Deployment`)."""
    kind, api_version = token.rsplit(":", 1)[-1], api_version_of(token)
    if op in ("create", "create-replacement") and not live:
        return [DriftItem(kind, name, _WHOLE, "present", "deleted", "?", api_version)]
    if op in ("delete", "delete-replaced"):
        return [DriftItem(kind, name, _WHOLE, "absent", "present", "?", api_version)]
    managed = list(((live or {}).get("metadata") or {}).get("managedFields") or [])
    secret = kind == "Secret"  # its values never leave the cluster
    items = []
    for path in sorted(detailed_diff or {}):
        keys = parse_path(path)
        was, wanted = _at(live, keys), _at(declared, keys)
        owner = field_owner(managed, keys, live) if was is not None else None
        values = ("***", "***") if secret else (_short(wanted), _short(was))
        items.append(DriftItem(kind, name, path, *values, owner or _last_writer(managed), api_version))
    if not items and op not in ("same", "read", "refresh"):
        items.append(
            DriftItem(kind, name, _WHOLE, "(as declared)", f"({op})", _last_writer(managed), api_version)
        )
    return items
