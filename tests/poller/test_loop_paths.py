"""The poll loop's other paths, with the fakes of test_loop.py (Git, worktrees, the runner, a clock):
its settings, a worktree that cannot be made, a job that crashes, recovery that fails, a stall found
in a saved state, wake-ups, the source going down and coming back, the metrics it keeps, the worktrees
it keeps, running until told to stop and a shutdown past its grace period."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from eoepca_gitops.poller.conditions import Phase, Reason
from eoepca_gitops.poller.decide import DriftMode, Policy
from eoepca_gitops.poller.loop import LoopConfig, PollLoop
from eoepca_gitops.poller.source import SourceError
from eoepca_gitops.poller.state import InProgress, StackState, StateStore
from tests.poller.test_loop import (
    REPLICAS,
    A,
    B,
    Clock,
    FakeCheckout,
    FakeRunner,
    FakeSource,
    Out,
    settle,
)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"stacks": ()}, "at least one --stack is required"),
        ({"stacks": ("a", "a")}, "each --stack may be given once"),
        ({"interval": 0}, "interval > 0, max_workers >= 1 and grace >= 0 are required"),
        ({"max_workers": 0}, "interval > 0, max_workers >= 1 and grace >= 0 are required"),
        ({"grace": -1}, "interval > 0, max_workers >= 1 and grace >= 0 are required"),
    ],
)
def test_settings_that_cannot_work_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        LoopConfig(**{"stacks": ("dev",), **settings})  # type: ignore[arg-type]


def test_the_edges_of_the_settings_are_allowed() -> None:
    config = LoopConfig(stacks=("a", "b"), interval=0.01, max_workers=1, grace=0)
    assert (config.stacks, config.grace) == (("a", "b"), 0)
    assert LoopConfig(stacks=("a",)).interval > 0


class BrokenCheckout(FakeCheckout):
    def __init__(self) -> None:
        self.kept: list[set[str]] = []
        self.broken = True

    def worktree(self, revision: str) -> Path:
        if self.broken:
            raise SourceError(f"git worktree add {revision[:7]}: no space left on device")
        return Path("/nonexistent") / revision

    def prune(self, keep: set[str]) -> None:
        self.kept.append(set(keep))


def loop_with(
    tmp_path: Path, checkout: FakeCheckout, *stacks: str, **policy: float | DriftMode
) -> tuple[PollLoop, FakeSource, dict[str, FakeRunner], Clock]:
    settings: dict[str, float | DriftMode] = {
        "backoff_base": 10,
        "backoff_cap": 100,
        "jitter": 0,
        "stall_after": 2,
        "drift_interval": 0,
    }
    runners = {s: FakeRunner() for s in stacks or ("dev",)}
    source, clock = FakeSource(A), Clock()
    loop = PollLoop(
        LoopConfig(stacks=tuple(runners), interval=1, policy=Policy(**{**settings, **policy})),  # type: ignore[arg-type]
        source,
        checkout,
        runners,
        StateStore(tmp_path / "state.json"),
        clock=clock,
        rand=lambda: 0.5,
    )
    return loop, source, runners, clock


def test_a_worktree_that_cannot_be_made_is_a_transient_source_failure(tmp_path: Path) -> None:
    checkout = BrokenCheckout()
    loop, _, runners, clock = loop_with(tmp_path, checkout)
    loop.tick()
    settle(loop)
    s = loop.store.get("dev")
    assert runners["dev"].updates == []
    assert (s.phase, s.failures, s.last_failure_transient, s.retry_at) == (Phase.FAILED, 1, True, 1010.0)
    assert s.last_error == f"SourceUnavailable: git worktree add {A[:7]}: no space left on device"
    assert s.in_progress is None
    assert loop.tick() == 1010.0  # waits for the backoff
    checkout.broken = False
    clock.now = 1010
    loop.tick()
    settle(loop)
    assert loop.store.get("dev").applied_revision == A
    assert checkout.kept == [{A}]  # the worktrees kept: what each stack has applied


def test_a_drift_check_without_a_worktree_fails_the_same_way(tmp_path: Path) -> None:
    checkout = BrokenCheckout()
    checkout.broken = False
    loop, _, _, clock = loop_with(tmp_path, checkout, drift_interval=60)
    loop.tick()
    settle(loop)
    checkout.broken = True
    clock.now += 61
    loop.tick()
    settle(loop)
    s = loop.store.get("dev")
    assert (s.failures, s.conditions[0].reason, s.applied_revision) == (1, Reason.SOURCE_UNAVAILABLE, A)


def test_a_job_that_crashes_is_recorded_and_the_loop_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loop, _, runners, clock = loop_with(tmp_path, FakeCheckout())

    def crash(*args: object, **kwargs: object) -> Out:
        raise RuntimeError("a bug")

    runners["dev"].update = crash  # type: ignore[method-assign]
    loop.wake.clear()
    with caplog.at_level(logging.WARNING):
        loop.tick()
        settle(loop)
    s = loop.store.get("dev")
    assert s.last_error == "UpdateFailed: internal error: RuntimeError('a bug')"
    assert "job-failed" in caplog.text
    assert (s.last_failure_transient, s.in_progress, loop.busy) == (True, None, {})
    assert loop.wake.is_set()  # a finished job wakes the loop
    assert "job for stack dev crashed" in caplog.text
    del runners["dev"].update
    clock.now = 2000
    loop.tick()
    settle(loop)
    assert loop.store.get("dev").applied_revision == A


def test_an_interrupted_run_whose_worktree_cannot_be_made_is_recovered_later(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.put(
        StackState("dev", attempted_revision=B, in_progress=InProgress("update", B, 1, "old-host", 1.0))
    )
    checkout = BrokenCheckout()
    loop, _, runners, clock = loop_with(tmp_path, checkout)
    loop.recover_all()
    s = loop.store.get("dev")
    assert s.in_progress is not None and s.retry_at == 1010.0  # kept, to be recovered before anything
    assert loop.ready() is False  # no successful read of the source yet
    assert loop.tick() == 1010.0 and runners["dev"].updates == []
    checkout.broken = False
    clock.now = 1010
    loop.tick()  # recovers
    settle(loop)
    s = loop.store.get("dev")
    assert s.in_progress is None
    assert s.conditions[0].message == f"interrupted update of {B[:12]} recovered: pending creating of x"
    loop.tick()
    settle(loop)
    assert runners["dev"].updates == [A]
    assert loop.ready() is True


def test_a_recovery_that_fails_keeps_the_run_to_recover(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.put(
        StackState("dev", attempted_revision=B, in_progress=InProgress("update", B, 1, "old-host", 1.0))
    )
    loop, _, runners, _ = loop_with(tmp_path, FakeCheckout())
    asked: list[str | None] = []

    def recover(tree: Path, previous_host: str | None) -> Out:
        asked.append(previous_host)
        return Out(False, Reason.CONCURRENT_UPDATE, "the stack is locked")

    runners["dev"].recover = recover  # type: ignore[method-assign]
    loop.recover_all()
    s = loop.store.get("dev")
    assert asked == ["old-host"]
    assert s.in_progress is not None and s.failures == 1 and s.last_failure_transient
    assert s.notes == (f"previous update of {B[:12]} was interrupted",)
    assert s.last_error == "ConcurrentUpdate: the stack is locked"


def test_a_recovery_that_finds_nothing_pending_says_so_plainly(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.put(StackState("dev", attempted_revision=B, in_progress=InProgress("drift-check", B, 1, "h", 1.0)))
    loop, _, runners, _ = loop_with(tmp_path, FakeCheckout())
    runners["dev"].recover = lambda tree, previous_host: Out(True, Reason.SYNCED, "")  # type: ignore[method-assign]
    loop.recover_all()
    s = loop.store.get("dev")
    assert s.conditions[0].message == f"interrupted drift-check of {B[:12]} recovered"
    assert s.notes == (f"previous drift-check of {B[:12]} was interrupted",)


def test_a_saved_state_with_too_many_failures_is_shown_stalled(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.put(StackState("dev", git_revision=A, attempted_revision=A, failures=2))
    loop, _, runners, _ = loop_with(tmp_path, FakeCheckout())
    assert loop.store.get("dev").phase != Phase.STALLED
    loop.tick()
    s = loop.store.get("dev")
    assert (s.phase, runners["dev"].updates) == (Phase.STALLED, [])
    assert s.conditions[0].message == f"2 consecutive failures on {A[:12]}; waiting for a new commit"


def test_the_next_wake_up_is_the_earliest_any_stack_asks_for(tmp_path: Path) -> None:
    loop, _, runners, clock = loop_with(tmp_path, FakeCheckout(), "a", "b", drift_interval=60)
    runners["a"].fail[A] = Out(False, Reason.CONFIG_INVALID, "bad")
    loop.tick()
    settle(loop)
    assert loop.tick() == 1010.0  # a's retry; b's drift check is due at 1060
    clock.now = 1020
    loop.tick()  # a's second failure stalls it: only b asks
    settle(loop)
    assert loop.tick() == 1060.0


def test_a_busy_stack_is_left_alone_and_nothing_starts_once_stopping(tmp_path: Path) -> None:
    loop, _, runners, _ = loop_with(tmp_path, FakeCheckout())
    runners["dev"].block.clear()
    loop.tick()
    loop.tick()  # still running: not submitted twice
    runners["dev"].block.set()
    settle(loop)
    assert runners["dev"].updates == [A]
    loop.stopping.set()
    loop.source.head = B  # type: ignore[attr-defined]
    loop.tick()
    assert loop.busy == {} and runners["dev"].updates == [A]


def test_the_source_going_down_marks_only_settled_stacks_and_its_return_restores_them(tmp_path: Path) -> None:
    loop, source, runners, _ = loop_with(tmp_path, FakeCheckout(), "ok", "broken", "drifted")
    runners["broken"].fail[A] = Out(False, Reason.CONFIG_INVALID, "bad value")
    loop.tick()
    settle(loop)
    loop._put(loop.store.get("drifted").with_(drift=True))
    source.head = None
    loop.tick()
    assert loop.store.get("ok").conditions[0].reason == Reason.SOURCE_UNAVAILABLE
    assert loop.store.get("broken").last_error == "ConfigInvalid: bad value"  # its own problem stays
    assert b"eoepca_gitops_source_errors_total 1.0" in loop.metrics.render()
    loop.tick()  # still down: said once
    assert loop.store.get("ok").last_error == "SourceUnavailable: git ls-remote failed: connection refused"
    source.head = A
    loop.tick()
    assert (loop.store.get("ok").phase, loop.store.get("ok").last_error) == (Phase.SYNCED, None)
    assert loop.store.get("drifted").conditions[0].reason != Reason.SOURCE_UNAVAILABLE
    assert loop.store.get("drifted").phase != Phase.SYNCED  # it drifted: not shown Ready


def failed_once_then_applied(loop: PollLoop, runner: FakeRunner, clock: Clock, error: str) -> None:
    """The stack's first update fails (ConfigInvalid: error); its retry, at 1010, is applied."""
    runner.fail[A] = Out(False, Reason.CONFIG_INVALID, error)
    loop.tick()
    settle(loop)
    runner.fail.clear()
    clock.now = 1010
    loop.tick()
    settle(loop)


def test_metrics_follow_every_operation(tmp_path: Path) -> None:
    loop, _, runners, clock = loop_with(tmp_path, FakeCheckout(), drift_interval=60)
    failed_once_then_applied(loop, runners["dev"], clock, "bad")
    runners["dev"].drift_out = Out(True, Reason.DRIFT_DETECTED, "drift", drift=True, drift_items=(REPLICAS,))
    clock.now = 2000
    loop.tick()
    settle(loop)
    text = loop.metrics.render().decode()
    assert 'eoepca_gitops_failures_total{reason="ConfigInvalid",stack="dev"} 1.0' in text
    assert 'eoepca_gitops_drift_checks_total{result="drift",stack="dev"} 1.0' in text
    assert 'eoepca_gitops_drift_total{kind="Deployment",stack="dev"} 1.0' in text
    assert 'eoepca_gitops_operation_duration_seconds_count{operation="update",stack="dev"} 2.0' in text
    assert 'eoepca_gitops_operation_duration_seconds_count{operation="drift-check",stack="dev"} 1.0' in text


def test_a_clean_drift_check_and_a_failed_correction(tmp_path: Path) -> None:
    loop, _, runners, clock = loop_with(
        tmp_path, FakeCheckout(), drift_interval=60, drift_mode=DriftMode.CORRECT
    )
    loop.tick()
    settle(loop)
    clock.now += 61
    loop.tick()
    settle(loop)
    s = loop.store.get("dev")
    assert (s.phase, s.last_drift_check_at) == (Phase.SYNCED, clock.now)
    assert 'result="clean"' in loop.metrics.render().decode()
    runners["dev"].drift_out = Out(True, Reason.DRIFT_DETECTED, "drift", drift=True, drift_items=(REPLICAS,))
    runners["dev"].fail[A] = Out(False, Reason.PROVIDER_ERROR, "field is immutable")
    clock.now += 61
    loop.tick()
    settle(loop)
    s = loop.store.get("dev")
    assert s.last_error == "ProviderError: field is immutable" and s.drift
    runners["dev"].drift_out = Out(False, Reason.CLUSTER_UNREACHABLE, "connection refused", transient=True)
    runners["dev"].fail.clear()
    loop._put(s.with_(retry_at=None, failures=0, drift=False))
    clock.now += 61
    loop.tick()
    settle(loop)
    assert loop.store.get("dev").last_error == "ClusterUnreachable: connection refused"


def test_an_update_that_fails_keeps_its_notes(tmp_path: Path) -> None:
    loop, _, runners, _ = loop_with(tmp_path, FakeCheckout())
    runners["dev"].fail[A] = Out(False, Reason.PROVIDER_ERROR, "x", notes=("kept a field",))
    loop.tick()
    settle(loop)
    assert loop.store.get("dev").notes == ("kept a field",)


def test_run_ticks_until_stopped_then_shuts_down(tmp_path: Path) -> None:
    loop, source, runners, _ = loop_with(tmp_path, FakeCheckout())
    stop = threading.Event()
    reads: list[float] = []
    real = source.current_commit

    def current_commit() -> str:
        reads.append(time.monotonic())
        if len(reads) == 3:
            stop.set()
        return real()

    source.current_commit = current_commit  # type: ignore[method-assign]
    loop.config = LoopConfig(stacks=("dev",), interval=0.05, policy=loop.config.policy, grace=1)
    thread = threading.Thread(target=loop.run, args=(stop,))
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and loop.stopping.is_set()
    assert runners["dev"].updates == [A] and len(reads) == 3
    assert loop.healthy()
    loop.last_tick = time.monotonic() - 61
    assert not loop.healthy()  # no tick for 60 s: the liveness probe fails


def test_a_shutdown_past_its_grace_interrupts_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eoepca_gitops.poller import automation

    loop, _, runners, _ = loop_with(tmp_path, FakeCheckout())
    loop.config = LoopConfig(stacks=("dev",), interval=1, policy=loop.config.policy, grace=0.05)
    runners["dev"].block.clear()
    interrupted: list[bool] = []

    def interrupt() -> list[int]:
        interrupted.append(True)
        runners["dev"].block.set()  # the update ends once its pulumi is interrupted
        return [4242]

    monkeypatch.setattr(automation, "interrupt_pulumi_children", interrupt)
    loop.tick()
    loop.shutdown()
    assert interrupted == [True]
    assert loop.busy == {}


class Stop(threading.Event):
    """The stop event of `run`, recording how long each wait is asked for."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.after = after

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        if len(self.waits) >= self.after:
            self.set()
        return super().wait(0)


def test_run_waits_no_longer_than_the_interval_or_the_next_wake_up(tmp_path: Path) -> None:
    loop, _, _, _ = loop_with(tmp_path, FakeCheckout())
    loop.config = LoopConfig(stacks=("dev",), interval=0.05, policy=loop.config.policy, grace=1)
    stop = Stop(after=20)
    loop.run(stop)
    assert stop.waits and all(0 <= w <= 0.05 for w in stop.waits)


def test_health_allows_three_intervals_or_a_minute_without_a_tick(tmp_path: Path) -> None:
    loop, _, _, _ = loop_with(tmp_path, FakeCheckout())
    loop.config = LoopConfig(stacks=("dev",), interval=30, policy=loop.config.policy)
    loop.last_tick = time.monotonic() - 85
    assert loop.healthy()
    loop.last_tick = time.monotonic() - 95
    assert not loop.healthy()
    loop.config = LoopConfig(stacks=("dev",), interval=1, policy=loop.config.policy)
    loop.last_tick = time.monotonic() - 55
    assert loop.healthy()


def events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    import json

    return [
        {"level": r.levelname, **json.loads(r.getMessage())}
        for r in caplog.records
        if r.name == "eoepca_gitops.poller"
    ]


def test_every_operation_says_what_happened_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loop, _, runners, clock = loop_with(
        tmp_path, FakeCheckout(), drift_interval=60, drift_mode=DriftMode.CORRECT
    )
    with caplog.at_level(logging.INFO, logger="eoepca_gitops.poller"):
        failed_once_then_applied(loop, runners["dev"], clock, "bad value")
        clock.now += 61
        loop.tick()
        settle(loop)
        runners["dev"].drift_out = Out(
            True, Reason.DRIFT_DETECTED, "drift: 1 to update", drift=True, drift_items=(REPLICAS,)
        )
        clock.now += 61
        loop.tick()
        settle(loop)
    seen = events(caplog)
    failed = next(e for e in seen if e["event"] == "update-failed")
    assert failed == {
        "level": "WARNING",
        "event": "update-failed",
        "stack": "dev",
        "revision": A,
        "reason": "ConfigInvalid",
        "failures": 1,
        "stalled": False,
        "retry_in": 10.0,
        "error": "bad value",
    }
    assert {"level": "INFO", "event": "drift-check", "stack": "dev", "revision": A, "result": "clean"} in seen
    begun = [e for e in seen if e["event"] == "update"]
    assert begun and all(e["stack"] == "dev" and e["revision"] == A for e in begun)
    applied = next(e for e in seen if e["event"] == "applied")
    assert (applied["stack"], applied["revision"], applied["reason"]) == ("dev", A, "Synced")
    detected = next(e for e in seen if e["event"] == "drift-detected")
    assert detected == {
        "level": "WARNING",
        "event": "drift-detected",
        "stack": "dev",
        "revision": A,
        "detail": "drift: 1 to update",
        "drifted": [REPLICAS.to_json()],
        "mode": "correct",
    }
    text = loop.metrics.render().decode()
    assert 'stack="None"' not in text
    assert 'eoepca_gitops_operation_duration_seconds_count{operation="drift-correct",stack="dev"} 1.0' in text


def test_recovery_and_shutdown_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eoepca_gitops.poller import automation
    from eoepca_gitops.poller import loop as loop_module

    store = StateStore(tmp_path / "state.json")
    store.put(
        StackState("dev", attempted_revision=B, in_progress=InProgress("update", B, 7, "old-host", 1.0))
    )
    loop, _, runners, _ = loop_with(tmp_path, FakeCheckout())
    loop.config = LoopConfig(stacks=("dev",), interval=1, policy=loop.config.policy, grace=0.01)
    waited: list[float | None] = []
    from concurrent.futures import wait as real_wait

    def wait_futures(futures: object, timeout: float | None = None) -> object:
        waited.append(timeout)
        return real_wait(futures, timeout=timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(loop_module, "wait_futures", wait_futures)
    runners["dev"].block.clear()

    def interrupt() -> list[int]:
        runners["dev"].block.set()  # the update ends once its pulumi is interrupted
        return [99]

    monkeypatch.setattr(automation, "interrupt_pulumi_children", interrupt)
    with caplog.at_level(logging.INFO, logger="eoepca_gitops.poller"):
        loop.recover_all()
        loop.tick()
        loop.shutdown()
    seen = events(caplog)
    assert seen[0] == {
        "level": "WARNING",
        "event": "recovering",
        "stack": "dev",
        "operation": "update",
        "revision": B,
        "previous_pid": 7,
        "previous_host": "old-host",
    }
    assert {"level": "WARNING", "event": "shutdown-cancelling", "pulumi_pids": [99]} in seen
    assert seen[-1] == {"level": "INFO", "event": "stopped"}
    assert waited[-2:] == [0.01, 60]  # the grace, then a minute for the interrupted update to end


def test_a_cancelled_drift_check_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    loop, _, runners, clock = loop_with(tmp_path, FakeCheckout(), drift_interval=1)
    loop.tick()
    settle(loop)
    runners["dev"].drift_out = Out(False, Reason.PROVIDER_ERROR, "preview interrupted")
    runners["dev"].during_check = loop.stopping.set
    clock.now += 5
    with caplog.at_level(logging.INFO, logger="eoepca_gitops.poller"):
        loop.tick()
        settle(loop)
    assert {"level": "INFO", "event": "drift-check-cancelled", "stack": "dev", "revision": A} in events(
        caplog
    )


def test_a_retry_due_while_the_source_is_down_runs_on_the_revision_it_had(tmp_path: Path) -> None:
    loop, source, runners, clock = loop_with(tmp_path, FakeCheckout())
    runners["dev"].fail[A] = Out(False, Reason.PROVIDER_ERROR, "the API server went away", transient=True)
    loop.tick()
    settle(loop)
    runners["dev"].fail.clear()
    source.head = None
    clock.now = 1010
    loop.tick()
    settle(loop)
    assert loop.store.get("dev").applied_revision == A
