"""The loop with fakes for Git, worktrees and the runner: fast, no engine."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eoepca_gitops.poller.conditions import Phase, Reason
from eoepca_gitops.poller.decide import DriftMode, Policy
from eoepca_gitops.poller.drift import DriftItem
from eoepca_gitops.poller.log import configure, log_event
from eoepca_gitops.poller.loop import LoopConfig, PollLoop
from eoepca_gitops.poller.ports import OutcomeLike
from eoepca_gitops.poller.source import SourceError
from eoepca_gitops.poller.state import InProgress, StateStore

A, B = "a" * 40, "b" * 40


class FakeSource:
    def __init__(self, head: str | None) -> None:
        self.head = head

    def current_commit(self) -> str:
        if self.head is None:
            raise SourceError("git ls-remote failed: connection refused")
        return self.head


class FakeCheckout:
    def worktree(self, revision: str) -> Path:
        return Path("/nonexistent") / revision

    def prune(self, keep: set[str]) -> None:
        pass


@dataclass(frozen=True)
class Out:
    ok: bool
    reason: Reason = Reason.SYNCED
    message: str = ""
    transient: bool = False
    drift: bool = False
    duration: float = 0.0
    notes: tuple[str, ...] = ()
    changes: Mapping[str, int] = field(default_factory=dict)
    drift_items: tuple[DriftItem, ...] = ()
    drifted: tuple[str, ...] = ()


class FakeRunner:
    def __init__(self) -> None:
        self.updates: list[str] = []
        self.fail: dict[str, Out] = {}
        self.applied_elsewhere: set[str] = set()
        self.block = threading.Event()
        self.block.set()
        self.drift_out = Out(True)
        self.during_check: Callable[[], None] = lambda: None
        self.corrections: list[tuple[str, tuple[DriftItem, ...]]] = []

    def update(
        self, tree: Path, revision: str, *, refresh: bool = False, previous_host: str | None = None
    ) -> Out:
        self.block.wait(10)
        self.updates.append(revision)
        return self.fail.get(revision, Out(True))

    def check_drift(self, tree: Path, *, previous_host: str | None = None) -> Out:
        self.during_check()
        return self.drift_out

    def correct(self, tree: Path, revision: str, found: OutcomeLike) -> Out:
        self.corrections.append((revision, found.drift_items))
        return self.update(tree, revision, refresh=True)

    def recover(self, tree: Path, previous_host: str | None) -> Out:
        return Out(True, Reason.PENDING_OPERATIONS, "pending creating of x", notes=("pending creating of x",))

    def already_applied(self, tree: Path, revision: str) -> bool:
        return revision in self.applied_elsewhere


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(
    tmp_path: Path, head: str | None, **policy: float | DriftMode
) -> tuple[PollLoop, FakeSource, FakeRunner, Clock]:
    src, runner, clock = FakeSource(head), FakeRunner(), Clock()
    settings: dict[str, float] = {"backoff_base": 10, "backoff_cap": 100, "jitter": 0, "stall_after": 2}
    pol = Policy(**{"drift_interval": 0, **settings, **policy})  # type: ignore[arg-type]
    rec = PollLoop(
        LoopConfig(stacks=("dev",), interval=1, policy=pol),
        src,
        FakeCheckout(),
        {"dev": runner},
        StateStore(tmp_path / "state.json"),
        clock=clock,
        rand=lambda: 0.5,
    )
    return rec, src, runner, clock


def settle(rec: PollLoop) -> None:
    deadline = time.monotonic() + 10
    while rec.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not rec.busy


def test_new_commit_then_next(tmp_path: Path) -> None:
    rec, src, runner, _ = make(tmp_path, A)
    rec.tick()
    settle(rec)
    src.head = B
    rec.tick()
    settle(rec)
    rec.tick()
    settle(rec)
    assert runner.updates == [A, B]
    s = rec.store.get("dev")
    assert (s.applied_revision, s.phase) == (B, Phase.SYNCED)


def test_failure_backoff_stall_and_new_commit(tmp_path: Path) -> None:
    rec, src, runner, clock = make(tmp_path, A)
    runner.fail[A] = Out(False, Reason.CONFIG_INVALID, "bad value")
    rec.tick()
    settle(rec)
    s = rec.store.get("dev")
    assert (s.failures, s.retry_at, s.phase) == (1, 1010.0, Phase.FAILED)
    assert s.last_error == "ConfigInvalid: bad value"
    rec.tick()  # backoff not elapsed
    settle(rec)
    assert runner.updates == [A]
    clock.now = 1011
    rec.tick()
    settle(rec)
    s = rec.store.get("dev")
    assert (s.failures, s.phase, s.retry_at) == (2, Phase.STALLED, None)
    clock.now = 5000
    rec.tick()
    settle(rec)
    assert runner.updates == [A, A]  # stalled: no retry however long we wait
    src.head = B
    rec.tick()
    settle(rec)
    s = rec.store.get("dev")
    assert (s.applied_revision, s.failures, s.phase) == (B, 0, Phase.SYNCED)


def test_transient_failures_never_stall(tmp_path: Path) -> None:
    rec, _, runner, clock = make(tmp_path, A)
    runner.fail[A] = Out(False, Reason.CLUSTER_UNREACHABLE, "connection refused", transient=True)
    for _ in range(4):
        rec.tick()
        settle(rec)
        clock.now += 1000
    s = rec.store.get("dev")
    assert (len(runner.updates), s.phase) == (4, Phase.FAILED)


def test_applied_by_another_runner(tmp_path: Path) -> None:
    rec, _, runner, _ = make(tmp_path, A)
    runner.applied_elsewhere.add(A)
    rec.tick()
    settle(rec)
    s = rec.store.get("dev")
    assert runner.updates == []
    assert (s.applied_revision, s.conditions[0].reason) == (A, Reason.ALREADY_APPLIED)


def test_source_down_reported_then_cleared(tmp_path: Path) -> None:
    rec, src, _, _ = make(tmp_path, A)
    rec.tick()
    settle(rec)
    src.head = None
    rec.tick()
    s = rec.store.get("dev")
    assert s.last_error is not None and s.last_error.startswith("SourceUnavailable")
    assert s.applied_revision == A
    src.head = A
    rec.tick()
    s = rec.store.get("dev")
    assert (s.phase, s.last_error) == (Phase.SYNCED, None)


def test_interrupted_run_recovered_before_update(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.put(
        store.get("dev").with_(in_progress=InProgress("update", A, 1, "gone", 1.0), attempted_revision=A)
    )
    rec, _, runner, _ = make(tmp_path, B)
    rec.recover_all()
    s = rec.store.get("dev")
    assert s.in_progress is None and s.notes == ("pending creating of x",)
    rec.tick()
    settle(rec)
    assert runner.updates == [B]


def test_shutdown_waits_for_the_running_update(tmp_path: Path) -> None:
    rec, _, runner, _ = make(tmp_path, A)
    runner.block.clear()
    rec.tick()
    t = threading.Thread(target=rec.shutdown)
    t.start()
    time.sleep(0.2)
    assert t.is_alive()  # waiting within the grace period
    runner.block.set()
    t.join(10)
    assert not t.is_alive()
    assert rec.store.get("dev").applied_revision == A


def test_a_drift_check_cut_short_by_shutdown_leaves_the_stack_as_it_was(tmp_path: Path) -> None:
    rec, _, runner, clock = make(tmp_path, A, drift_interval=1)
    rec.tick()
    settle(rec)
    before = rec.store.get("dev")
    runner.drift_out = Out(False, Reason.PROVIDER_ERROR, "preview interrupted")
    runner.during_check = rec.stopping.set  # SIGTERM arrives while the check runs
    clock.now += 5
    rec.tick()
    settle(rec)
    assert rec.stopping.is_set()  # the check ran
    s = rec.store.get("dev")
    assert (s.phase, s.failures, s.in_progress, s.last_error) == (Phase.SYNCED, 0, None, None)
    assert s.conditions == before.conditions


@pytest.mark.usefixtures("logging_restored")
def test_every_log_line_is_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    configure("INFO")
    log_event("applied", stack="dev", notes=["a note"])
    logging.getLogger("eoepca_gitops.poller").info("plain text, by mistake")
    logging.getLogger("lightkube").warning("a library says %s", "something")
    logging.getLogger("httpx2").info("HTTP Request: GET https://127.0.0.1:6443/api")  # a library's INFO
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["log"] for line in lines] == [
        {"event": "applied", "notes": ["a note"], "stack": "dev"},
        {"logger": "eoepca_gitops.poller", "text": "plain text, by mistake"},
        {"logger": "lightkube", "text": "a library says something"},
    ]


REPLICAS = DriftItem("Deployment", "Deployment/demo/web", "spec.replicas", "1", "3", "kubectl-scale")


@pytest.mark.parametrize("mode", [DriftMode.DETECT, DriftMode.CORRECT])
def test_drift_is_corrected_only_in_correct_mode(tmp_path: Path, mode: DriftMode) -> None:
    rec, _, runner, clock = make(tmp_path, A, drift_interval=60, drift_mode=mode)
    rec.tick()
    settle(rec)
    runner.drift_out = Out(
        True, Reason.DRIFT_DETECTED, "drift: 1 to update", drift=True, drift_items=(REPLICAS,)
    )
    clock.now += 61
    rec.tick()
    settle(rec)
    s = rec.store.get("dev")
    if mode is DriftMode.DETECT:
        assert runner.corrections == [] and runner.updates == [A]
        assert (s.phase, s.drift, s.applied_revision) == (Phase.DRIFTED, True, A)
        assert s.drift_items == (REPLICAS.to_json(),)
        assert s.conditions[0].reason == Reason.DRIFT_DETECTED
    else:
        assert runner.corrections == [(A, (REPLICAS,))] and runner.updates == [A, A]
        assert (s.phase, s.drift, s.applied_revision) == (Phase.SYNCED, False, A)
        assert s.conditions[0].reason == Reason.DRIFT_CORRECTED
        assert s.notes == ("corrected drift: 1 to update",)
