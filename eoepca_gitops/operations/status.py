"""One view of a cluster's two layers: the Pulumi stack, and what Flux does with it.

Pure: objects as the API server returns them (and the stack's last update, and the poller's state)
in, rows out. `not Ready` first, each with its controller's message; a JSON form for scripts; an
exit code (0 all Ready, 1 something not Ready, 2 cannot tell).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from eoepca_gitops.manifests.drift import EXEMPT, EXEMPT_FIELDS

__all__ = [
    "EXIT_ALL_READY",
    "EXIT_CANNOT_TELL",
    "EXIT_NOT_READY",
    "BlockStatus",
    "ClusterStatus",
    "ObjectStatus",
    "StackLayer",
    "object_status",
]

EXIT_ALL_READY, EXIT_NOT_READY, EXIT_CANNOT_TELL = 0, 1, 2


@dataclass(frozen=True)
class ObjectStatus:
    kind: str
    namespace: str
    name: str
    ready: str  # True | False | Unknown | Missing | Suspended
    reason: str = ""
    message: str = ""
    revision: str = ""  # the Git revision applied, the chart version installed, the artifact fetched
    since: str = ""  # when Ready last changed
    exempt: str = ""  # drift the stack leaves alone on purpose: "object" or "fields: a,b"

    @property
    def ok(self) -> bool:
        return self.ready == "True"

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


def _condition(obj: Mapping[str, Any], kind: str = "Ready") -> dict[str, Any]:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return {}


def _revision(obj: Mapping[str, Any]) -> str:
    status = obj.get("status") or {}
    if obj.get("kind") == "HelmRelease":
        history = status.get("history") or []
        if history:
            return str(history[0].get("chartVersion", ""))
        return str(status.get("lastAppliedRevision") or status.get("lastAttemptedRevision") or "")
    if obj.get("kind") == "Kustomization":
        return str(status.get("lastAppliedRevision") or "")
    return str((status.get("artifact") or {}).get("revision") or "")


def object_status(kind: str, namespace: str, name: str, obj: Mapping[str, Any] | None) -> ObjectStatus:
    """The row of one Flux object, or of a Deployment (Available stands for Ready)."""
    if obj is None:
        return ObjectStatus(kind, namespace, name, "Missing", "NotFound", "not in the cluster")
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    exempt = "object" if annotations.get(EXEMPT) == "true" else ""
    if annotations.get(EXEMPT_FIELDS):
        exempt = f"fields: {annotations[EXEMPT_FIELDS]}"
    if kind == "Deployment":
        cond = _condition(obj, "Available")
        ready = "True" if cond.get("status") == "True" else ("False" if cond else "Unknown")
        image = ((spec.get("template") or {}).get("spec") or {}).get("containers", [{}])[0].get("image", "")
        return ObjectStatus(
            kind, namespace, name, ready, str(cond.get("reason", "")), str(cond.get("message", "")),
            image.rpartition(":")[2], str(cond.get("lastTransitionTime", "")), exempt,
        )  # fmt: skip
    cond = _condition(obj)
    generation = (obj.get("metadata") or {}).get("generation", 0)
    if spec.get("suspend"):
        ready = "Suspended"
    elif cond and cond.get("observedGeneration", status.get("observedGeneration", generation)) < generation:
        ready = (
            "Unknown"  # the controller has not looked at the current spec yet (Flux stamps each condition)
        )
    else:
        ready = str(cond.get("status", "Unknown"))
    return ObjectStatus(
        kind,
        namespace,
        name,
        ready,
        str(cond.get("reason", "")),
        str(cond.get("message", "")),
        _revision(obj),
        str(cond.get("lastTransitionTime", "")),
        exempt,
    )


@dataclass(frozen=True)
class BlockStatus:
    name: str
    objects: tuple[ObjectStatus, ...]
    depends_on: tuple[str, ...] = ()  # the blocks it waits for (the block's dependsOn)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.objects)


@dataclass(frozen=True)
class StackLayer:
    """What Pulumi says of the stack: its last update and, with --preview, what an update would change."""

    name: str
    last_update: str = ""  # when it ended
    result: str = ""  # succeeded | failed | in-progress | "" (never updated)
    revision: str = ""  # the Git revision the update ran at
    pending: Mapping[str, int] | None = None  # e.g. {"update": 1}; None when not asked for
    error: str = ""  # why the stack could not be read


@dataclass(frozen=True)
class ClusterStatus:
    stack: StackLayer
    flux_version: str
    controllers: tuple[ObjectStatus, ...]
    source: ObjectStatus | None
    blocks: tuple[BlockStatus, ...]
    poller: Mapping[str, Any] | None = None
    error: str = ""  # set when the cluster could not be read: nothing else can be told
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows(self) -> list[tuple[str, ObjectStatus]]:
        """(component, object) for every object, not Ready first, then in the stack's order."""
        rows = [("flux", c) for c in self.controllers]
        rows += [("source", self.source)] if self.source else []
        rows += [(b.name, o) for b in self.blocks for o in b.objects]
        return sorted(rows, key=lambda r: r[1].ok)

    @property
    def exit_code(self) -> int:
        if self.error:
            return EXIT_CANNOT_TELL
        return EXIT_ALL_READY if all(o.ok for _, o in self.rows) else EXIT_NOT_READY

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": asdict(self.stack),
            "flux": {"version": self.flux_version, "controllers": [asdict(c) for c in self.controllers]},
            "source": asdict(self.source) if self.source else None,
            "blocks": [
                {
                    "name": b.name,
                    "ready": b.ok,
                    "dependsOn": list(b.depends_on),
                    "objects": [asdict(o) for o in b.objects],
                }
                for b in self.blocks
            ],
            "notReady": [{"component": c, **asdict(o)} for c, o in self.rows if not o.ok],
            "poller": dict(self.poller) if self.poller is not None else None,
            "ready": self.exit_code == EXIT_ALL_READY,
            "error": self.error or None,
            "notes": list(self.notes),
        }


def block_statuses(
    blocks: Sequence[tuple[str, Sequence[tuple[str, str, str]]]],
    found: Mapping[tuple[str, str, str], Mapping[str, Any] | None],
    depends_on: Mapping[str, Sequence[str]] | None = None,
) -> tuple[BlockStatus, ...]:
    """Each block's rows, from (block, [(kind, namespace, name)]) and the objects read."""
    return tuple(
        BlockStatus(
            name,
            tuple(object_status(k, ns, n, found.get((k, ns, n))) for k, ns, n in refs),
            tuple((depends_on or {}).get(name, ())),
        )
        for name, refs in blocks
    )
