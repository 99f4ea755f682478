"""Per-stack reconcile state, persisted as one JSON document: a file written atomically, or (in the
cluster, where a pod's disk does not survive it) a ConfigMap (eoepca_gitops.kube.state_configmap).

The document survives restarts: the last applied revision, the failure count on the revision last
attempted, the conditions, and `in_progress` (which process ran which operation), from which a
restart knows that the previous run died mid-update. It never holds secrets: errors are redacted
before they reach a StackState, and every string of the document once more as it is written
(eoepca_gitops.credentials).

A document is read through eoepca_gitops.files (a regular file, bounded) and checked field by
field: one of another shape (`{"stacks": []}`, a failure count that is not a number, JSON nested
deeper than a state is) is a ValueError naming the field, never a state half read.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from eoepca_gitops.credentials import env_secrets, redact_value
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import read_bytes, write_file

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
    git_revision_at: float | None = None  # when the branch head was first seen at git_revision
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
    #: The last revision at which both layers were Ready: the update succeeded and Flux reported
    #: every Kustomization and HelmRelease of the stack Ready at it (poller.lastgood).
    last_good_revision: str | None = None
    last_good_at: float | None = None
    #: A roll-back keeps the stack at this revision (poller.hold): by whom, since when, until what.
    held_revision: str | None = None
    held_since: float | None = None
    held_reason: str | None = None
    held_until: str | None = None  # "release" | "new-commit"
    held_head: str | None = None  # the branch head when the hold began
    rollbacks: int = 0  # automatic roll-backs done
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
    def from_json(cls, data: Any) -> StackState:
        """A state as stored (fields it does not know are left out); ValueError naming the field
        that is not of its type."""
        data = _typed(data, dict, "the stack's state")
        values: dict[str, Any] = {"stack": _typed(data.get("stack"), str, "stack")}
        for name, kind in _SCALARS.items():
            if data.get(name) is not None:
                values[name] = _typed(data[name], kind, name)
        values["conditions"] = (
            tuple(
                Condition(
                    ConditionType(_typed(c.get("type"), str, "conditions[].type")),
                    _typed(c.get("status"), bool, "conditions[].status"),
                    Reason(_typed(c.get("reason"), str, "conditions[].reason")),
                    _typed(c.get("message", ""), str, "conditions[].message"),
                )
                for c in _items(data.get("conditions"), dict, "conditions")
            )
            or waiting()
        )
        values["notes"] = tuple(_items(data.get("notes"), str, "notes"))
        values["drift_items"] = tuple(
            {_typed(k, str, "drift_items"): _typed(v, str, "drift_items") for k, v in item.items()}
            for item in _items(data.get("drift_items"), dict, "drift_items")
        )
        ip = data.get("in_progress")
        if ip:
            ip = _typed(ip, dict, "in_progress")
            values["in_progress"] = InProgress(
                **{k: _typed(ip.get(k), kind, f"in_progress.{k}") for k, kind in _IN_PROGRESS.items()}
            )
        return cls(**values)


# The fields of a stored state besides its collections, by type (a float may be stored as an int).
_SCALARS: dict[str, type | tuple[type, ...]] = {
    "git_revision": str,
    "git_revision_at": (int, float),
    "applied_revision": str,
    "attempted_revision": str,
    "failures": int,
    "last_failure_transient": bool,
    "retry_at": (int, float),
    "last_error": str,
    "last_attempt_at": (int, float),
    "last_success_at": (int, float),
    "last_drift_check_at": (int, float),
    "drift": bool,
    "last_duration_seconds": (int, float),
    "last_good_revision": str,
    "last_good_at": (int, float),
    "held_revision": str,
    "held_since": (int, float),
    "held_reason": str,
    "held_until": str,
    "held_head": str,
    "rollbacks": int,
}
_IN_PROGRESS: dict[str, type | tuple[type, ...]] = {
    "operation": str,
    "revision": str,
    "pid": int,
    "host": str,
    "started_at": (int, float),
}


def _typed(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """`value` if it is of `kind` (a bool is no number; a number is finite); ValueError otherwise."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    number = any(k in (int, float) for k in kinds)
    if (
        not isinstance(value, kinds)
        or (isinstance(value, bool) and bool not in kinds)
        or (number and isinstance(value, int | float) and not math.isfinite(value))
    ):
        names = " or ".join("a number" if k in (int, float) else f"a {k.__name__}" for k in kinds)
        raise ValueError(f"{what}: not {names}")
    return value


def _items(value: Any, kind: type, what: str) -> list[Any]:
    """The items of a list of `kind` (None: an empty list)."""
    return [_typed(item, kind, what) for item in _typed(value if value is not None else [], list, what)]


def encode(states: Mapping[str, StackState]) -> dict[str, Any]:
    """The document as it is stored: credentials redacted (errors and notes are redacted where they
    are made; this catches any that slipped through), the stacks' names and revisions kept."""
    doc = {"version": SCHEMA_VERSION, "stacks": {name: s.to_json() for name, s in sorted(states.items())}}
    stored: dict[str, Any] = redact_value(doc, env_secrets(os.environ), IDENTIFIERS)
    return stored


def decode(raw: Any) -> dict[str, StackState]:
    """The states of a document as stored (None, or a document that is not a mapping: none);
    ValueError naming the stack and field that is not of its type."""
    stacks = raw.get("stacks", {}) if isinstance(raw, dict) else {}
    stacks = _typed(stacks, dict, "stacks")
    states = {}
    for name, state in stacks.items():
        try:
            states[name] = StackState.from_json(state)
        except ValueError as exc:
            raise ValueError(f"stacks.{name}: {exc}") from None
    return states


def read_document(path: Path) -> Any:
    """The JSON document of a state file (GitopsError if it cannot be read; ValueError if it is not
    JSON, or is nested deeper than a state is)."""
    data = read_bytes(path)
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deep to be a state document") from None


class StateBackend(Protocol):
    """Where the JSON document lives. `load` returns None when nothing was saved yet."""

    def load(self) -> Any: ...
    def save(self, payload: Mapping[str, Any]) -> None: ...
    def describe(self) -> str: ...


class FileBackend:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Any:
        if not self.path.exists() and not self.path.is_symlink():
            return None
        return read_document(self.path)

    def describe(self) -> str:
        return str(self.path)

    def save(self, payload: Mapping[str, Any]) -> None:
        # JSON of ASCII only (json's default): the same bytes in any locale
        text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GitopsError(f"{self.path.parent}: cannot create the folder: {exc.strerror}") from None
        write_file(self.path.parent, self.path.name, text, replace=True, durable=True)


class StateStore:
    """All stacks' states in one document; every `put` rewrites it (a file: atomically).

    `StateStore(path)` keeps it in a file; `StateStore(backend)` anywhere a StateBackend writes.
    """

    def __init__(self, where: Path | StateBackend) -> None:
        self.backend: StateBackend = FileBackend(where) if isinstance(where, Path) else where
        self._lock = threading.Lock()
        try:
            self._states: dict[str, StackState] = decode(self.backend.load())
        except ValueError as exc:
            raise GitopsError(f"{self.backend.describe()}: unreadable state: {exc}") from None

    @staticmethod
    def read(path: Path) -> dict[str, StackState]:
        """The states a state file holds; GitopsError naming the file if it is not one."""
        try:
            return decode(read_document(path))
        except ValueError as exc:
            raise GitopsError(f"{path}: unreadable state: {exc}") from None

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
