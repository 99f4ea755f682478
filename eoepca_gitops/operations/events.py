"""`events`: the Kubernetes Events Flux's controllers recorded for a stack's objects, oldest first, as
`flux events` and `kubectl events --for` show them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.operations.targets import Target

__all__ = ["Event", "event", "pick", "read_events"]


@dataclass(frozen=True)
class Event:
    time: str  # when it last happened
    type: str  # Normal | Warning
    reason: str
    object: str  # Kind namespace/name
    message: str
    count: int = 1
    source: str = ""  # the controller that recorded it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def event(raw: Mapping[str, Any]) -> Event:
    """One Event as the API server returns it (core/v1)."""
    involved = raw.get("involvedObject") or {}
    source = raw.get("reportingComponent") or (raw.get("source") or {}).get("component") or ""
    series = raw.get("series") or {}
    return Event(
        time=str(
            series.get("lastObservedTime")
            or raw.get("lastTimestamp")
            or raw.get("eventTime")
            or raw.get("firstTimestamp")
            or (raw.get("metadata") or {}).get("creationTimestamp")
            or ""
        ),
        type=str(raw.get("type") or ""),
        reason=str(raw.get("reason") or ""),
        object=f"{involved.get('kind', '')} {involved.get('namespace', '')}/{involved.get('name', '')}",
        message=str(raw.get("message") or "").strip(),
        count=int(series.get("count") or raw.get("count") or 1),
        source=str(source),
    )


def _concerns(raw: Mapping[str, Any], targets: set[Target]) -> bool:
    involved = raw.get("involvedObject") or {}
    return (involved.get("kind"), involved.get("namespace") or "", involved.get("name")) in targets


def pick(found: Iterable[Mapping[str, Any]], targets: Sequence[Target]) -> list[Event]:
    """The events of `targets` among `found`, oldest first."""
    wanted = set(targets)
    return sorted((event(e) for e in found if _concerns(e, wanted)), key=lambda e: (e.time, e.object))


def read_events(access: ClusterAccess, targets: Sequence[Target]) -> list[Event]:
    """The events of `targets`, read namespace by namespace (theirs only), oldest first."""
    namespaces = sorted({namespace for _, namespace, _ in targets})
    return pick((e for ns in namespaces for e in access.list("v1", "Event", namespace=ns)), targets)
