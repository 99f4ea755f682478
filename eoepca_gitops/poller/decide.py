"""The pure decision: given a stack's state, the branch head and the time, what to do next.

No I/O, no clock, no randomness: the loop passes `now`, and the jitter of a backoff is drawn by the
loop when it records a failure (`retry_at`), so the same inputs always give the same Decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eoepca_gitops.model import defaults
from eoepca_gitops.model.poller import DriftMode
from eoepca_gitops.model.types import parse_duration

from .conditions import Reason
from .state import StackState

__all__ = ["Action", "Decision", "DriftMode", "Policy", "backoff", "decide"]


class Action(StrEnum):
    NONE = "none"
    UPDATE = "update"
    DRIFT_CHECK = "drift-check"


@dataclass(frozen=True)
class Policy:
    backoff_base: float = parse_duration(defaults.POLLER_BACKOFF_BASE)
    backoff_factor: float = 3.0
    backoff_cap: float = parse_duration(defaults.POLLER_BACKOFF_CAP)
    jitter: float = 0.2  # +/- this fraction of the delay
    stall_after: int = defaults.POLLER_STALL_AFTER  # consecutive non-transient failures on one revision
    drift_interval: float = parse_duration(defaults.POLLER_DRIFT_INTERVAL)  # 0 disables drift checks
    drift_mode: DriftMode = DriftMode(defaults.POLLER_DRIFT_MODE)

    def __post_init__(self) -> None:
        if self.backoff_base <= 0 or self.backoff_factor < 1 or self.backoff_cap < self.backoff_base:
            raise ValueError("backoff needs base > 0, factor >= 1 and cap >= base")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.stall_after < 1:
            raise ValueError("stall_after must be at least 1")
        if self.drift_interval < 0:
            raise ValueError("drift_interval must be >= 0 (0 disables drift checks)")


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: Reason
    message: str = ""
    wake_at: float | None = None  # earliest time the answer may change without new input


def backoff(failures: int, policy: Policy, rand: float = 0.5) -> float:
    """Delay before retry number `failures` (1-based): base x factor^(failures-1), jittered, capped.

    `rand` in [0, 1) picks the jitter; 0.5 means none.
    """
    if failures < 1:
        return 0.0
    try:
        delay = min(policy.backoff_base * policy.backoff_factor ** (failures - 1), policy.backoff_cap)
    except OverflowError:  # far beyond any cap
        delay = policy.backoff_cap
    delay *= 1.0 + policy.jitter * (2.0 * rand - 1.0)
    return min(max(delay, 0.0), policy.backoff_cap)


def _retry(state: StackState, revision: str, now: float, policy: Policy, action: Action) -> Decision:
    if state.failures >= policy.stall_after and not state.last_failure_transient:
        return Decision(
            Action.NONE,
            Reason.TOO_MANY_FAILURES,
            f"{state.failures} consecutive failures on {revision[:12]}; waiting for a new commit",
        )
    if state.retry_at is not None and now < state.retry_at:
        return Decision(
            Action.NONE,
            Reason.RETRYING_AFTER_FAILURE,
            f"retry {state.failures + 1} in {state.retry_at - now:.0f}s",
            wake_at=state.retry_at,
        )
    return Decision(action, Reason.RETRYING_AFTER_FAILURE, f"retry {state.failures + 1}")


def decide(state: StackState, head: str | None, now: float, policy: Policy) -> Decision:
    """What the loop should do for one stack now.

    `head` is the tracked branch's commit, or None when the source could not be read (then the
    last known `state.git_revision` stands in for it, so drift checks continue while Git is down).
    """
    if state.in_progress is not None:
        return Decision(Action.NONE, Reason.UPDATING, f"{state.in_progress.operation} running")
    target = head or state.git_revision
    if target is None:
        return Decision(Action.NONE, Reason.SOURCE_UNAVAILABLE, "branch head not known yet")

    if target != state.applied_revision:
        if state.attempted_revision == target and state.failures > 0:
            return _retry(state, target, now, policy, Action.UPDATE)
        reason = Reason.NEW_COMMIT if state.applied_revision else Reason.NOT_YET_APPLIED
        return Decision(Action.UPDATE, reason, f"apply {target[:12]}")

    # The head is applied: only drift checks remain (and retries of failed ones).
    if state.failures > 0 and state.attempted_revision == target:
        return _retry(state, target, now, policy, Action.DRIFT_CHECK)
    if policy.drift_interval <= 0:
        return Decision(Action.NONE, Reason.SYNCED)
    marks = [t for t in (state.last_drift_check_at, state.last_success_at) if t is not None]
    due = max(marks) + policy.drift_interval if marks else now
    if now >= due:
        return Decision(Action.DRIFT_CHECK, Reason.DRIFT_CHECK_DUE, f"drift check ({policy.drift_mode})")
    return Decision(Action.NONE, Reason.SYNCED, wake_at=due)
