"""How a stack's state changes when an operation begins, succeeds, fails, or finds drift.

Pure: the old state, what happened and the time in, the new state out. The loop persists it, logs
and counts; decide.py reads it. Keeping these apart means the conditions a state carries always
agree with its fields (the Pulumi Kubernetes Operator's helpers do the same for its Stack status).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import conditions as c
from .conditions import Reason
from .decide import Policy, backoff
from .state import InProgress, StackState

__all__ = ["Failure", "begun", "drift_clean", "drift_detected", "failed", "recovered", "succeeded"]


def begun(
    s: StackState, op: str, revision: str, reason: Reason, now: float, pid: int, host: str
) -> StackState:
    same = s.attempted_revision == revision
    return s.with_(
        in_progress=InProgress(op, revision, pid, host, now),
        attempted_revision=revision,
        failures=s.failures if same else 0,
        last_failure_transient=s.last_failure_transient if same else False,
        last_attempt_at=now,
        # A drift check changes nothing: the stack keeps showing synced / drifted meanwhile.
        conditions=s.conditions if op == "drift-check" else c.applying(reason, f"{op} {revision[:12]}"),
    )


@dataclass(frozen=True)
class Failure:
    state: StackState
    reason: Reason
    stalled: bool
    retry_at: float | None


def failed(
    s: StackState,
    reason: Reason,
    message: str,
    transient: bool,
    now: float,
    policy: Policy,
    rand: float,
    *,
    stopping: bool = False,
    keep_in_progress: bool = False,
) -> Failure:
    """One more failure on the attempted revision: a retry after backoff, or Stalled."""
    if stopping and not transient:
        reason, transient = Reason.CANCELLED, True
    failures = s.failures + 1
    stall = failures >= policy.stall_after and not transient
    retry_at = None if stall else now + backoff(failures, policy, rand)
    rev = (s.attempted_revision or "-")[:12]
    explained = f"{failures} consecutive failures on {rev}; waiting for a new commit"
    state = s.with_(
        in_progress=s.in_progress if keep_in_progress else None,
        failures=failures,
        last_failure_transient=transient,
        retry_at=retry_at,
        last_error=f"{reason}: {message}",
        conditions=c.stalled(reason, explained) if stall else c.failed(reason, message),
    )
    return Failure(state, reason, stall, retry_at)


def succeeded(
    s: StackState, revision: str, reason: Reason, duration: float, notes: tuple[str, ...], now: float
) -> StackState:
    return s.with_(
        in_progress=None,
        applied_revision=revision,
        failures=0,
        last_failure_transient=False,
        retry_at=None,
        last_error=None,
        last_success_at=now,
        last_drift_check_at=now,
        drift=False,
        drift_items=(),
        last_duration_seconds=round(duration, 3),
        notes=notes or s.notes,
        conditions=c.ready(reason),
    )


def drift_clean(s: StackState, now: float) -> StackState:
    return s.with_(
        in_progress=None,
        failures=0,
        retry_at=None,
        last_error=None,
        drift=False,
        drift_items=(),
        last_drift_check_at=now,
        conditions=c.ready(),
    )


def drift_detected(
    s: StackState, message: str, now: float, items: tuple[dict[str, str], ...] = ()
) -> StackState:
    """Drift found and reported, not corrected (mode `detect`)."""
    return s.with_(
        in_progress=None,
        failures=0,
        retry_at=None,
        drift=True,
        drift_items=items,
        last_drift_check_at=now,
        last_error=None,
        conditions=c.drifted(message),
    )


def recovered(s: StackState, reason: Reason, message: str, notes: tuple[str, ...]) -> StackState:
    """An operation a dead process left running was cleaned up; work starts again from here."""
    return s.with_(
        in_progress=None,
        notes=notes,
        failures=0,
        retry_at=None,
        last_failure_transient=False,
        last_error=None,
        conditions=c.waiting(reason, message),
    )
