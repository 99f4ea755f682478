"""Table tests for the pure decide() and backoff()."""

from __future__ import annotations

import pytest

from eoepca_gitops.poller.conditions import Reason
from eoepca_gitops.poller.decide import Action, Decision, Policy, backoff, decide
from eoepca_gitops.poller.state import InProgress, StackState

P = Policy(backoff_base=10, backoff_factor=3, backoff_cap=3600, jitter=0.2, stall_after=3, drift_interval=600)
A, B = "a" * 40, "b" * 40
NOW = 10_000.0


@pytest.mark.parametrize(
    ("failures", "rand", "expected"),
    [
        (0, 0.5, 0.0),
        (1, 0.5, 10.0),
        (2, 0.5, 30.0),
        (3, 0.5, 90.0),
        (4, 0.5, 270.0),
        (8, 0.5, 3600.0),  # 21870 capped
        (100, 0.5, 3600.0),  # no overflow
        (1, 0.0, 8.0),  # -20 %
        (1, 0.999999, 12.0),  # +20 % (almost)
        (8, 0.999999, 3600.0),  # jitter never exceeds the cap
        (8, 0.0, 2880.0),
    ],
)
def test_backoff(failures: int, rand: float, expected: float) -> None:
    assert backoff(failures, P, rand) == pytest.approx(expected, abs=1e-3)


def test_backoff_cap_configurable() -> None:
    assert backoff(5, Policy(backoff_cap=60, jitter=0), 0.5) == 60


BACKOFF = "backoff needs base > 0, factor >= 1 and cap >= base"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backoff_base": 0}, BACKOFF),
        ({"backoff_cap": 1}, BACKOFF),
        ({"backoff_factor": 0.99}, BACKOFF),
        ({"jitter": 1.0}, "jitter must be in [0, 1)"),
        ({"jitter": -0.1}, "jitter must be in [0, 1)"),
        ({"stall_after": 0}, "stall_after must be at least 1"),
        ({"drift_interval": -1}, "drift_interval must be >= 0 (0 disables drift checks)"),
    ],
)
def test_policy_rejects(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError) as info:
        Policy(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_policy_limits_are_inclusive() -> None:
    # a constant delay (factor 1, cap = base), no jitter, stalled after the first failure
    flat = Policy(
        backoff_base=30, backoff_factor=1, backoff_cap=30, jitter=0, stall_after=1, drift_interval=0
    )
    assert [backoff(n, flat) for n in (1, 2, 50)] == [30.0, 30.0, 30.0]
    failed = SYNCED.with_(attempted_revision=B, failures=1)
    assert decide(failed, B, NOW, flat) == Decision(
        Action.NONE,
        Reason.TOO_MANY_FAILURES,
        "1 consecutive failures on bbbbbbbbbbbb; waiting for a new commit",
    )


def test_backoff_without_rand_has_no_jitter() -> None:
    assert [backoff(n, P) for n in (1, 2, 3)] == [10.0, 30.0, 90.0]


@pytest.mark.parametrize("factor", [3.0, 60_000.0, 1e6, 1e300])
def test_backoff_never_overflows_whatever_the_factor(factor: float) -> None:
    policy = Policy(backoff_base=1, backoff_factor=factor, backoff_cap=3600, jitter=0)
    assert [backoff(n, policy) for n in (65, 66, 1000, 10**9)] == [3600.0] * 4


S = StackState(stack="s")
SYNCED = S.with_(git_revision=A, applied_revision=A, attempted_revision=A, last_success_at=NOW - 10)

CASES: list[tuple[str, StackState, str | None, Action, Reason, float | None]] = [
    ("nothing known", S, None, Action.NONE, Reason.SOURCE_UNAVAILABLE, None),
    ("first revision", S, A, Action.UPDATE, Reason.NOT_YET_APPLIED, None),
    ("new commit", SYNCED, B, Action.UPDATE, Reason.NEW_COMMIT, None),
    ("synced, drift not due", SYNCED, A, Action.NONE, Reason.SYNCED, NOW + 590),
    (
        "synced, drift due",
        SYNCED.with_(last_success_at=NOW - 700),
        A,
        Action.DRIFT_CHECK,
        Reason.DRIFT_CHECK_DUE,
        None,
    ),
    (
        "drift due from the last check, not the last success",
        SYNCED.with_(last_success_at=NOW - 700, last_drift_check_at=NOW - 100),
        A,
        Action.NONE,
        Reason.SYNCED,
        NOW + 500,
    ),
    (
        "git down: the last known head stands in",
        SYNCED.with_(last_success_at=NOW - 700),
        None,
        Action.DRIFT_CHECK,
        Reason.DRIFT_CHECK_DUE,
        None,
    ),
    (
        "git down, head known but not applied",
        SYNCED.with_(git_revision=B),
        None,
        Action.UPDATE,
        Reason.NEW_COMMIT,
        None,
    ),
    (
        "failed, backoff running",
        SYNCED.with_(attempted_revision=B, failures=1, retry_at=NOW + 5),
        B,
        Action.NONE,
        Reason.RETRYING_AFTER_FAILURE,
        NOW + 5,
    ),
    (
        "failed, backoff elapsed",
        SYNCED.with_(attempted_revision=B, failures=2, retry_at=NOW - 1),
        B,
        Action.UPDATE,
        Reason.RETRYING_AFTER_FAILURE,
        None,
    ),
    (
        "stalled after N failures",
        SYNCED.with_(attempted_revision=B, failures=3, retry_at=NOW - 1),
        B,
        Action.NONE,
        Reason.TOO_MANY_FAILURES,
        None,
    ),
    (
        "transient failures never stall",
        SYNCED.with_(attempted_revision=B, failures=5, retry_at=NOW - 1, last_failure_transient=True),
        B,
        Action.UPDATE,
        Reason.RETRYING_AFTER_FAILURE,
        None,
    ),
    (
        "stalled, then a new commit",
        SYNCED.with_(attempted_revision=B, failures=3),
        "c" * 40,
        Action.UPDATE,
        Reason.NEW_COMMIT,
        None,
    ),
    (
        "attempted without a failure recorded: a plain update",
        SYNCED.with_(attempted_revision=B, failures=0),
        B,
        Action.UPDATE,
        Reason.NEW_COMMIT,
        None,
    ),
    (
        "failed drift correction retried with backoff",
        SYNCED.with_(failures=1, retry_at=NOW - 1),
        A,
        Action.DRIFT_CHECK,
        Reason.RETRYING_AFTER_FAILURE,
        None,
    ),
    (
        "drift corrections failing stall too",
        SYNCED.with_(failures=3, retry_at=NOW - 1),
        A,
        Action.NONE,
        Reason.TOO_MANY_FAILURES,
        None,
    ),
    (
        "operation running",
        SYNCED.with_(in_progress=InProgress("update", B, 1, "h", NOW)),
        B,
        Action.NONE,
        Reason.UPDATING,
        None,
    ),
]


# The message each case's Decision carries (shown in status and the log).
MESSAGES = {
    "nothing known": "branch head not known yet",
    "first revision": "apply aaaaaaaaaaaa",
    "new commit": "apply bbbbbbbbbbbb",
    "synced, drift not due": "",
    "synced, drift due": "drift check (detect)",
    "drift due from the last check, not the last success": "",
    "git down: the last known head stands in": "drift check (detect)",
    "git down, head known but not applied": "apply bbbbbbbbbbbb",
    "failed, backoff running": "retry 2 in 5s",
    "failed, backoff elapsed": "retry 3",
    "stalled after N failures": "3 consecutive failures on bbbbbbbbbbbb; waiting for a new commit",
    "transient failures never stall": "retry 6",
    "stalled, then a new commit": "apply cccccccccccc",
    "attempted without a failure recorded: a plain update": "apply bbbbbbbbbbbb",
    "failed drift correction retried with backoff": "retry 2",
    "drift corrections failing stall too": "3 consecutive failures on aaaaaaaaaaaa; waiting for a new commit",
    "operation running": "update running",
}


@pytest.mark.parametrize(
    ("state", "head", "action", "reason", "wake_at", "message"),
    [(*c[1:], MESSAGES[c[0]]) for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide(
    state: StackState, head: str | None, action: Action, reason: Reason, wake_at: float | None, message: str
) -> None:
    assert decide(state, head, NOW, P) == Decision(action, reason, message, wake_at)


def test_a_retry_is_due_at_its_time_exactly() -> None:
    failed = SYNCED.with_(attempted_revision=B, failures=1, retry_at=NOW)
    assert decide(failed, B, NOW, P) == Decision(Action.UPDATE, Reason.RETRYING_AFTER_FAILURE, "retry 2")
    assert decide(failed, B, NOW - 0.5, P) == Decision(
        Action.NONE, Reason.RETRYING_AFTER_FAILURE, "retry 2 in 0s", wake_at=NOW
    )


def test_a_drift_check_is_due_at_its_time_exactly() -> None:
    state = SYNCED.with_(last_success_at=NOW - 600)
    assert decide(state, A, NOW, P) == Decision(
        Action.DRIFT_CHECK, Reason.DRIFT_CHECK_DUE, "drift check (detect)"
    )
    never_checked = S.with_(git_revision=A, applied_revision=A)
    assert decide(never_checked, A, NOW, P).action == Action.DRIFT_CHECK


def test_a_delay_below_one_second_is_kept() -> None:
    assert backoff(1, Policy(backoff_base=0.25, backoff_cap=10, jitter=0), 0.5) == 0.25


def test_drift_disabled() -> None:
    d = decide(SYNCED.with_(last_success_at=0), A, NOW, Policy(drift_interval=0))
    assert d == Decision(Action.NONE, Reason.SYNCED, "", None)


def test_stalled_message_explains() -> None:
    d = decide(SYNCED.with_(attempted_revision=B, failures=3), B, NOW, P)
    assert d.message == "3 consecutive failures on bbbbbbbbbbbb; waiting for a new commit"
