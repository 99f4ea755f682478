"""Per-stack reconcile state, persisted as one JSON document: a file written atomically, or (in the
cluster, where a pod's disk does not survive it) a ConfigMap (eoepca_gitops.poller.kube).

The document survives restarts: the last applied revision, the failure count on the revision last
attempted, the conditions, and `in_progress` (which process ran which operation), from which a
restart knows that the previous run died mid-update. It never holds secrets: errors are redacted
before they reach a StackState, and every string of the document once more as it is written
(eoepca_gitops.credentials).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from eoepca_gitops.credentials import env_secrets, redact_value

from .conditions import Condition, ConditionType, Phase, Reason, phase, waiting
from .log import IDENTIFIERS

__all__ = ["FileBackend", "InProgress", "StackState", "StateBackend", "StateStore", "decode", "encode"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class InProgress:
    operation: str  # "update" | "drift-check" | "drift-correct"
    revision: str
    pid: int
    host: str
    started_at: float


@dataclass(frozen=True)
class StackState:
    stack: str
    git_revision: str | None = None
    applied_revision: str | None = None
    attempted_revision: str | None = None
    failures: int = 0
    last_failure_transient: bool = False
    retry_at: float | None = None
    last_error: str | None = None
    last_attempt_at: float | None = None
    last_success_at: float | None = None
    last_drift_check_at: float | None = None
    drift: bool = False
    #: What the last drift check found (poller.drift.DriftItem as JSON): object, field, values, manager.
    drift_items: tuple[dict[str, str], ...] = ()
    last_duration_seconds: float | None = None
    in_progress: InProgress | None = None
    notes: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = field(default_factory=waiting)

    @property
    def phase(self) -> Phase:
        return phase(self.conditions)

    def with_(self, **changes: Any) -> StackState:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["conditions"] = [
            {"type": str(c.type), "status": c.status, "reason": str(c.reason), "message": c.message}
            for c in self.conditions
        ]
        data["notes"] = list(self.notes)
        data["drift_items"] = [dict(i) for i in self.drift_items]
        data["phase"] = str(self.phase)
        redacted: dict[str, Any] = redact_value(data)
        return redacted

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StackState:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["conditions"] = (
            tuple(
                Condition(
                    ConditionType(c["type"]), bool(c["status"]), Reason(c["reason"]), c.get("message", "")
                )
                for c in data.get("conditions", [])
            )
            or waiting()
        )
        values["notes"] = tuple(data.get("notes", ()))
        values["drift_items"] = tuple(dict(i) for i in data.get("drift_items", ()))
        ip = data.get("in_progress")
        values["in_progress"] = InProgress(**ip) if ip else None
        return cls(**values)


def encode(states: Mapping[str, StackState]) -> dict[str, Any]:
    """The document as it is stored: credentials redacted (errors and notes are redacted where they
    are made; this catches any that slipped through), the stacks' names and revisions kept."""
    doc = {"version": SCHEMA_VERSION, "stacks": {name: s.to_json() for name, s in sorted(states.items())}}
    stored: dict[str, Any] = redact_value(doc, env_secrets(os.environ), IDENTIFIERS)
    return stored


def decode(raw: Any) -> dict[str, StackState]:
    stacks = raw.get("stacks", {}) if isinstance(raw, dict) else {}
    return {name: StackState.from_json(s) for name, s in stacks.items()}


class StateBackend(Protocol):
    """Where the JSON document lives. `load` returns None when nothing was saved yet."""

    def load(self) -> Any: ...
    def save(self, payload: Mapping[str, Any]) -> None: ...
    def describe(self) -> str: ...


class FileBackend:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Any:
        if not self.path.exists():
            return None
        return json.loads(self.path.read_bytes())

    def describe(self) -> str:
        return str(self.path)

    def save(self, payload: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            # JSON of ASCII only (json's default): the same bytes in any locale
            with os.fdopen(fd, "w") as fh:
                json.dump(payload, fh, indent=2, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class StateStore:
    """All stacks' states in one document; every `put` rewrites it (a file: atomically).

    `StateStore(path)` keeps it in a file; `StateStore(backend)` anywhere a StateBackend writes.
    """

    def __init__(self, where: Path | StateBackend) -> None:
        self.backend: StateBackend = FileBackend(where) if isinstance(where, Path) else where
        self._lock = threading.Lock()
        self._states: dict[str, StackState] = decode(self.backend.load())

    @staticmethod
    def read(path: Path) -> dict[str, StackState]:
        return decode(json.loads(path.read_bytes()))

    def get(self, stack: str) -> StackState:
        with self._lock:
            return self._states.get(stack) or StackState(stack=stack)

    def all(self) -> dict[str, StackState]:
        with self._lock:
            return dict(self._states)

    def put(self, state: StackState) -> None:
        with self._lock:
            self._states[state.stack] = state
            self.backend.save(encode(self._states))
