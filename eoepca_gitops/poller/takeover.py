"""Keeping other people's fields out of the Kubernetes provider's takeover before a drift correction.

Before every real server-side-apply update the Pulumi Kubernetes provider hands to its own field
manager every managedFields entry whose manager name starts with `kubectl` (Update or Apply) or is
`before-first-apply` (its `fixCSAFieldManagers`). Its apply then prunes whatever of those fields the
stack does not declare: an annotation someone set with `kubectl annotate`, a label from `kubectl
label`, a field added in `kubectl edit`, all gone with the correction of an unrelated field on the same
object. A correction must take back what the stack declares and nothing else, so before it the poller
renames those entries (`kubectl-annotate` -> `kept:kubectl-annotate`): the fields stay with their
owner, the provider's apply then forces only the declared ones away from it (pulumi.com/patchForce),
and the rest stays as the operator left it.

The rename is one JSON patch per object carrying a `test` of the resourceVersion read, so an object
that changed in between is left to the next drift check rather than overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.poller.drift import DriftItem

__all__ = ["KEPT", "keep_others_fields", "kept_entries", "taken_over"]

KEPT = "kept:"
# What the provider takes over: (name prefix, operation). Its own client-side names are left out:
# those fields are the stack's anyway.
_TAKEN: tuple[tuple[str, str], ...] = (
    ("kubectl", "Update"),
    ("kubectl", "Apply"),
    ("before-first-apply", "Update"),
)
_MAX_MANAGER = 128  # the API server's limit on a field manager's name


def taken_over(entry: Mapping[str, Any]) -> bool:
    """Whether the provider would take this managedFields entry over on an update."""
    if entry.get("subresource"):
        return False
    manager, operation = str(entry.get("manager", "")), entry.get("operation")
    return any(manager.startswith(prefix) and operation == op for prefix, op in _TAKEN)


def kept_entries(managed_fields: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The managedFields with every entry the provider would take over renamed; None if none would be."""
    if not any(taken_over(e) for e in managed_fields):
        return None
    return [
        {**e, "manager": (KEPT + str(e["manager"]))[:_MAX_MANAGER]} if taken_over(e) else dict(e)
        for e in managed_fields
    ]


def _targets(items: Iterable[DriftItem]) -> dict[tuple[str, str, str, str], None]:
    """The objects a correction will update: those with a changed field (deleted ones are re-created)."""
    out: dict[tuple[str, str, str, str], None] = {}
    for item in items:
        if item.field == "(object)" or not item.api_version:
            continue
        parts = item.object.split("/")
        namespace, name = (parts[1], parts[2]) if len(parts) == 3 else ("", parts[-1])
        out[(item.api_version, item.kind, namespace, name)] = None
    return out


def keep_others_fields(access: ClusterAccess, items: Iterable[DriftItem]) -> list[str]:
    """Renames the entries the provider would take over on each drifted object; says what it kept."""
    notes = []
    for api_version, kind, namespace, name in _targets(items):
        where = f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
        try:
            live = access.get(api_version, kind, namespace, name)
            meta = (live or {}).get("metadata") or {}
            entries = kept_entries(meta.get("managedFields") or [])
            if live is None or entries is None:
                continue
            access.json_patch(
                api_version,
                kind,
                namespace,
                name,
                [
                    {"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
                    {"op": "replace", "path": "/metadata/managedFields", "value": entries},
                ],
            )
        except GitopsError as exc:
            notes.append(f"could not keep other managers' fields on {where}: {exc}")
            continue
        kept = sorted({e["manager"].removeprefix(KEPT) for e in entries if e["manager"].startswith(KEPT)})
        notes.append(f"kept the fields of {', '.join(kept)} on {where} out of the correction")
    return notes
