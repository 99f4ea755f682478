"""Ready / Reconciling / Stalled conditions with named reasons, set together by a few helpers.

The three conditions are never set one by one: each helper returns the full, consistent set, the way
the Pulumi Kubernetes Operator keeps them. `phase()` folds them into the one word `status` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Condition",
    "ConditionType",
    "Phase",
    "Reason",
    "applying",
    "drifted",
    "failed",
    "phase",
    "ready",
    "stalled",
    "waiting",
]


class ConditionType(StrEnum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"


class Reason(StrEnum):
    # Ready=True
    SYNCED = "Synced"
    ALREADY_APPLIED = "AlreadyApplied"
    DRIFT_CORRECTED = "DriftCorrected"
    # Reconciling=True
    NOT_YET_APPLIED = "NotYetApplied"
    NEW_COMMIT = "NewCommit"
    UPDATING = "Updating"
    DRIFT_CHECK_DUE = "DriftCheckDue"
    CHECKING_DRIFT = "CheckingDrift"
    RETRYING_AFTER_FAILURE = "RetryingAfterFailure"
    # failures
    UPDATE_FAILED = "UpdateFailed"
    CONFIG_INVALID = "ConfigInvalid"
    CLUSTER_UNREACHABLE = "ClusterUnreachable"
    FIELD_CONFLICT = "FieldConflict"  # another field manager owns a field the stack sets
    PROVIDER_ERROR = "ProviderError"  # the API server refused an object (invalid, forbidden, ...)
    FLUX_FAILED = "FluxFailed"  # Flux failed an object the update awaited, or it did not settle in time
    SOURCE_UNAVAILABLE = "SourceUnavailable"
    CONCURRENT_UPDATE = "ConcurrentUpdate"
    PENDING_OPERATIONS = "PendingOperations"
    CANCELLED = "Cancelled"
    # drift
    DRIFT_DETECTED = "DriftDetected"
    # Stalled=True
    TOO_MANY_FAILURES = "TooManyFailures"


class Phase(StrEnum):
    """The one-word state shown by `eoepca-gitops status` and the `state` metric label."""

    PENDING = "pending"
    SYNCED = "synced"
    APPLYING = "applying"
    DRIFTED = "drifted"
    FAILED = "failed"
    STALLED = "stalled"


@dataclass(frozen=True)
class Condition:
    type: ConditionType
    status: bool
    reason: Reason
    message: str = ""


Conditions = tuple[Condition, Condition, Condition]


def _set(
    ready_: tuple[bool, Reason, str],
    reconciling: tuple[bool, Reason, str],
    stalled_: tuple[bool, Reason, str],
) -> Conditions:
    return (
        Condition(ConditionType.READY, *ready_),
        Condition(ConditionType.RECONCILING, *reconciling),
        Condition(ConditionType.STALLED, *stalled_),
    )


def ready(reason: Reason = Reason.SYNCED, message: str = "") -> Conditions:
    """The declared revision is applied and no drift is known."""
    return _set((True, reason, message), (False, reason, ""), (False, reason, ""))


def waiting(reason: Reason = Reason.NOT_YET_APPLIED, message: str = "") -> Conditions:
    """Nothing applied yet, or the source cannot be read: work is expected but not running."""
    return _set((False, reason, message), (True, reason, message), (False, reason, ""))


def applying(reason: Reason, message: str = "") -> Conditions:
    """An update or a drift check runs now."""
    return _set((False, Reason.UPDATING, message), (True, reason, message), (False, reason, ""))


def failed(reason: Reason, message: str) -> Conditions:
    """The last attempt failed; a retry is scheduled (Reconciling stays True)."""
    return _set(
        (False, reason, message),
        (True, Reason.RETRYING_AFTER_FAILURE, message),
        (False, reason, ""),
    )


def stalled(reason: Reason, message: str) -> Conditions:
    """No retry until the inputs change (a new commit)."""
    return _set((False, reason, message), (False, reason, ""), (True, Reason.TOO_MANY_FAILURES, message))


def drifted(message: str) -> Conditions:
    """The cluster differs from the applied revision and the mode is `detect`."""
    r = Reason.DRIFT_DETECTED
    return _set((False, r, message), (False, r, ""), (False, r, ""))


def phase(conditions: tuple[Condition, ...]) -> Phase:
    by_type = {c.type: c for c in conditions}
    ready_c = by_type.get(ConditionType.READY)
    rec = by_type.get(ConditionType.RECONCILING)
    st = by_type.get(ConditionType.STALLED)
    if st is not None and st.status:
        return Phase.STALLED
    if ready_c is not None and ready_c.status:
        return Phase.SYNCED
    if ready_c is not None and ready_c.reason == Reason.DRIFT_DETECTED:
        return Phase.DRIFTED
    if rec is not None and rec.status and rec.reason == Reason.RETRYING_AFTER_FAILURE:
        return Phase.FAILED
    if ready_c is not None and ready_c.reason == Reason.UPDATING:
        return Phase.APPLYING
    if ready_c is not None and ready_c.reason == Reason.SOURCE_UNAVAILABLE:
        return Phase.FAILED
    return Phase.PENDING
