"""`logs`: the lines of Flux's controllers that concern a stack's objects, as `flux logs` shows them.

The controllers' pods are found by their Deployment's selector (the stack's install manifest, as
the builders made it) and their logs read through the Kubernetes API. Flux's controllers log one
JSON record a line (zap's JSON encoder) naming the object reconciled (`controllerKind`, `namespace`,
`name`); a line in zap's console encoding (time, level, message, then the same fields as JSON) is
read too. A line that names no object of interest is left out; the rest come oldest first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import PLURALS
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.operations.targets import Target

__all__ = ["LogRecord", "parse_line", "pick", "read_logs"]

CONTAINER = "manager"  # the container of every Flux controller's pod


@dataclass(frozen=True)
class LogRecord:
    time: str
    level: str
    controller: str
    kind: str
    namespace: str
    name: str
    message: str
    error: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def object(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "level": self.level,
            "controller": self.controller,
            "object": {"kind": self.kind, "namespace": self.namespace, "name": self.name},
            "message": self.message,
            "error": self.error,
            "fields": dict(self.fields),
        }


def _time(value: Any) -> str:
    if isinstance(value, (int, float)):  # zap's epoch seconds
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value or "")


def _fields(line: str) -> dict[str, Any] | None:
    """The record of one line: JSON, or zap's console line (tab-separated, fields last as JSON)."""
    text = line.strip()
    try:
        if text.startswith("{"):
            record = json.loads(text)
            return record if isinstance(record, dict) else None
        parts = text.split("\t")
        if len(parts) >= 4 and parts[-1].startswith("{"):
            record = json.loads(parts[-1])
            if isinstance(record, dict):
                return {**record, "ts": parts[0], "level": parts[1].lower(), "msg": parts[-2]}
    except ValueError:
        return None
    return None


def _object(record: Mapping[str, Any]) -> tuple[str, str, str] | None:
    kind = record.get("controllerKind")
    if not kind:  # older controllers: the object under its kind's key
        kind = next((k for k in PLURALS if isinstance(record.get(k), dict)), None)
    if not kind:
        return None
    inner = record.get(kind)
    named: Mapping[str, Any] = inner if isinstance(inner, dict) else record
    return str(kind), str(named.get("namespace") or ""), str(named.get("name") or "")


def parse_line(controller: str, line: str) -> LogRecord | None:
    """The record of one log line of `controller`, or None when it names no Flux object."""
    record = _fields(line)
    if record is None or (found := _object(record)) is None:
        return None
    return LogRecord(
        time=_time(record.get("ts")),
        level=str(record.get("level") or ""),
        controller=controller,
        kind=found[0],
        namespace=found[1],
        name=found[2],
        message=str(record.get("msg") or ""),
        error=str(record.get("error") or ""),
        fields=record,
    )


def pick(lines: Iterable[tuple[str, str]], targets: Sequence[Target] | None) -> list[LogRecord]:
    """The records of (controller, line) that concern `targets` (None: any Flux object), oldest first."""
    wanted = set(targets) if targets is not None else None
    records = (parse_line(controller, line) for controller, line in lines)
    kept = [r for r in records if r and (wanted is None or (r.kind, r.namespace, r.name) in wanted)]
    return sorted(kept, key=lambda r: r.time)


def _pods(access: ClusterAccess, deployment: Mapping[str, Any]) -> list[tuple[str, str]]:
    meta = deployment["metadata"]
    namespace = str(meta.get("namespace") or "")
    labels = (((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels")) or {}
    pods = access.list("v1", "Pod", namespace=namespace, labels=labels)
    return [(namespace, str(p["metadata"]["name"])) for p in pods]


def read_logs(
    access: ClusterAccess,
    install: Sequence[Mapping[str, Any]],
    targets: Sequence[Target] | None,
    *,
    controller: str | None = None,
    since: int | None = None,
    tail: int | None = None,
) -> list[LogRecord]:
    """The records of the controllers' pods (of `controller` only, when named) concerning `targets`."""
    deployments = {str(o["metadata"]["name"]): o for o in install if o.get("kind") == "Deployment"}
    if controller and controller not in deployments:
        raise GitopsError(f"no controller {controller} in the stack's Flux (one of {', '.join(deployments)})")
    lines: list[tuple[str, str]] = []
    for name, deployment in deployments.items():
        if controller and name != controller:
            continue
        for namespace, pod in _pods(access, deployment):
            lines += [(name, line) for line in access.pod_log(namespace, pod, CONTAINER, since, tail)]
    return pick(lines, targets)
