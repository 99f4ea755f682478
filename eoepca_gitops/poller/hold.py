"""A stack held at a revision by a roll-back, and when the hold ends.

`eoepca-gitops rollback` asks for a hold by writing it into the holds document (next to the
poller's state: `<state>-holds.json`, or the ConfigMap `<state ConfigMap>-holds`); the poller only
reads that document, so neither overwrites the other's writes. An automatic roll-back holds the
stack in the poller's own state. The pure `held()` says which hold applies: the operator's first,
and a hold `until: new-commit` ends once the branch head is not the one it began with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .state import FileBackend, StackState, StateBackend, _typed

__all__ = [
    "OPERATOR",
    "Hold",
    "HoldStore",
    "Until",
    "held",
    "holds_file",
    "of_state",
    "released",
    "with_hold",
]


class Until(StrEnum):
    """What ends a hold: the operator (`rollback --release`), or a commit pushed after it began."""

    RELEASE = "release"
    NEW_COMMIT = "new-commit"


@dataclass(frozen=True)
class Hold:
    revision: str
    since: float
    reason: str
    until: Until = Until.RELEASE
    head: str | None = None  # the branch head when the hold began

    def over(self, head: str | None) -> bool:
        """True when a newer commit ends this hold."""
        return (
            self.until is Until.NEW_COMMIT
            and head is not None
            and self.head is not None
            and head not in (self.head, self.revision)
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "until": str(self.until)}

    @classmethod
    def from_json(cls, data: Any, what: str) -> Hold:
        data = _typed(data, dict, what)
        head = data.get("head")
        return cls(
            revision=_typed(data.get("revision"), str, f"{what}.revision"),
            since=_typed(data.get("since"), (int, float), f"{what}.since"),
            reason=_typed(data.get("reason", ""), str, f"{what}.reason"),
            until=Until(_typed(data.get("until", "release"), str, f"{what}.until")),
            head=None if head is None else _typed(head, str, f"{what}.head"),
        )


def of_state(s: StackState) -> Hold | None:
    """The hold a state records (an automatic roll-back's, or the operator's as last seen)."""
    if s.held_revision is None:
        return None
    until = Until(s.held_until) if s.held_until in tuple(Until) else Until.RELEASE
    return Hold(s.held_revision, s.held_since or 0.0, s.held_reason or "", until, s.held_head)


def held(s: StackState, asked: Hold | None, head: str | None) -> Hold | None:
    """The hold that applies now: the operator's (`asked`), else an automatic roll-back's the state
    records (an operator's hold gone from the document was released); none once a newer commit
    ends it."""
    if asked is not None:
        return None if asked.over(head) else asked
    own = of_state(s)
    if own is None or own.reason.startswith(OPERATOR) or own.over(head):
        return None
    return own


#: The reason of every hold `eoepca-gitops rollback` asks for.
OPERATOR = "rollback by an operator"


def with_hold(s: StackState, hold: Hold | None) -> StackState:
    """The state recording `hold` (None: no hold)."""
    if hold is None:
        return released(s)
    return s.with_(
        held_revision=hold.revision,
        held_since=hold.since,
        held_reason=hold.reason,
        held_until=str(hold.until),
        held_head=hold.head,
    )


def released(s: StackState) -> StackState:
    return s.with_(held_revision=None, held_since=None, held_reason=None, held_until=None, held_head=None)


def holds_file(state_file: Path) -> Path:
    """Where the holds of a poller keeping its state in `state_file` are asked for."""
    return state_file.with_name(f"{state_file.stem}-holds.json")


def holds_configmap(state_configmap: str) -> str:
    """The ConfigMap of the holds of a poller keeping its state in the ConfigMap `state_configmap`."""
    return f"{state_configmap}-holds"


class HoldStore:
    """The holds document: {"version": 1, "holds": {stack: hold}}, read whole, written whole."""

    def __init__(self, where: Path | StateBackend) -> None:
        self.backend: StateBackend = FileBackend(where) if isinstance(where, Path) else where

    def all(self) -> dict[str, Hold]:
        """ValueError naming the field that is not of its type."""
        raw = self.backend.load()
        holds = _typed((raw or {}).get("holds", {}) if isinstance(raw, dict) else {}, dict, "holds")
        return {str(k): Hold.from_json(v, f"holds.{k}") for k, v in holds.items()}

    def get(self, stack: str) -> Hold | None:
        return self.all().get(stack)

    def put(self, stack: str, hold: Hold | None) -> None:
        holds = {k: v for k, v in self.all().items() if k != stack}
        if hold is not None:
            holds[stack] = hold
        self.backend.save(_document(holds))


def _document(holds: Mapping[str, Hold]) -> dict[str, Any]:
    return {"version": 1, "holds": {k: h.to_json() for k, h in sorted(holds.items())}}
