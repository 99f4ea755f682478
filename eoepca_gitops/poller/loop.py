"""The tick loop: read the branch head, decide per stack, run at most one operation per stack in a
bounded pool, record outcomes, and shut down within a grace period on SIGTERM.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoepca_gitops.model import defaults
from eoepca_gitops.model.types import parse_duration

from . import conditions as c
from . import transitions
from .conditions import Reason
from .decide import Action, Decision, DriftMode, Policy, decide
from .guard import FluxCheckLike, Guard
from .hold import HoldStore
from .log import log, log_event
from .metrics import Metrics
from .ports import CheckoutLike, Source, StackAutomationLike
from .source import SourceError
from .state import StackState, StateStore

__all__ = ["LoopConfig", "PollLoop"]


@dataclass(frozen=True)
class LoopConfig:
    stacks: tuple[str, ...]
    interval: float = parse_duration(defaults.POLLER_INTERVAL)
    policy: Policy = field(default_factory=Policy)
    max_workers: int = defaults.POLLER_MAX_PARALLEL
    grace: float = parse_duration(defaults.POLLER_GRACE)
    rollback_after: float = 0.0  # automatic roll-back deadline (poller.guard); 0: off

    def __post_init__(self) -> None:
        if not self.stacks:
            raise ValueError("at least one --stack is required")
        if len(set(self.stacks)) != len(self.stacks):
            raise ValueError("each --stack may be given once")
        if self.interval <= 0 or self.max_workers < 1 or self.grace < 0:
            raise ValueError("interval > 0, max_workers >= 1 and grace >= 0 are required")


class PollLoop:
    def __init__(
        self,
        config: LoopConfig,
        source: Source,
        checkout: CheckoutLike,
        automations: Mapping[str, StackAutomationLike],
        store: StateStore,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        flux: Mapping[str, FluxCheckLike] | None = None,
        holds: HoldStore | None = None,
        notify: Callable[[str, str, str, str], None] | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.checkout = checkout
        self.automations = automations
        self.store = store
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.rand = rand
        self.pool = ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="stack")
        self.busy: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.recovered = threading.Event()
        self.source_ok = threading.Event()
        self.last_tick = 0.0
        self.host = socket.gethostname()
        self.pid = os.getpid()
        for stack in config.stacks:
            self.metrics.observe(store.get(stack))
        self.guard = Guard(
            store, self._put, checkout, flux or {}, holds, config.rollback_after, self.metrics, clock, notify
        )

    # -- state helpers ---------------------------------------------------------------------------
    def _put(self, s: StackState) -> None:
        self.store.put(s)
        self.metrics.observe(s)

    def _begin(self, stack: str, op: str, revision: str, reason: Reason) -> StackState:
        s = transitions.begun(self.store.get(stack), op, revision, reason, self.clock(), self.pid, self.host)
        self._put(s)
        log_event(op, stack=stack, revision=revision, reason=str(reason))
        return s

    def _failure(
        self, s: StackState, op: str, reason: Reason, message: str, transient: bool, keep: bool = False
    ) -> None:
        now = self.clock()
        f = transitions.failed(
            s,
            reason,
            message,
            transient,
            now,
            self.config.policy,
            self.rand(),
            stopping=self.stopping.is_set(),
            keep_in_progress=keep,
        )
        self._put(f.state)
        self.metrics.failures.labels(s.stack, str(f.reason)).inc()
        log_event(
            f"{op}-failed",
            logging.WARNING,
            stack=s.stack,
            revision=s.attempted_revision,
            reason=str(f.reason),
            failures=f.state.failures,
            stalled=f.stalled,
            retry_in=None if f.retry_at is None else round(f.retry_at - now, 1),
            error=message,
        )

    # -- jobs --------------------------------------------------------------------------------------
    def _tree(self, s: StackState, op: str, revision: str) -> Path | None:
        try:
            return self.checkout.worktree(revision)
        except SourceError as exc:
            self._failure(s, op, Reason.SOURCE_UNAVAILABLE, str(exc), transient=True)
            return None

    def _update(self, stack: str, revision: str, reason: Reason) -> None:
        before = self.store.get(stack)
        previous_host = before.in_progress.host if before.in_progress else None
        s = self._begin(stack, "update", revision, reason)
        tree = self._tree(s, "update", revision)
        if tree is None:
            return
        pulumi = self.automations[stack]
        # Another poller on the same stack (its lock made ours fail, or it was simply first)
        # may have applied this revision already: then there is nothing to update.
        if pulumi.already_applied(tree, revision):
            self._success(s, revision, Reason.ALREADY_APPLIED, 0.0, ("applied by another poller",))
            return
        out = pulumi.update(tree, revision, previous_host=previous_host)
        self.metrics.duration.labels(stack, "update").observe(out.duration)
        if out.ok:
            self._success(s, revision, Reason.SYNCED, out.duration, out.notes, changes=out.changes)
        else:
            self._failure(
                s.with_(notes=out.notes or s.notes), "update", out.reason, out.message, out.transient
            )

    def _success(
        self,
        s: StackState,
        revision: str,
        reason: Reason,
        duration: float,
        notes: tuple[str, ...],
        changes: Mapping[str, int] | None = None,
    ) -> None:
        s = transitions.succeeded(s, revision, reason, duration, notes, self.clock())
        self._put(s)
        log_event(
            "applied",
            stack=s.stack,
            revision=revision,
            reason=str(reason),
            seconds=round(duration, 2),
            changes=dict(changes or {}),
            notes=list(notes),
        )
        self.checkout.prune(
            {r for st in self.store.all().values() for r in (st.applied_revision,) if r}
            | {b.in_progress.revision for b in self.store.all().values() if b.in_progress}
        )

    def _drift(self, stack: str, revision: str, reason: Reason) -> None:
        s = self._begin(stack, "drift-check", revision, reason)
        tree = self._tree(s, "drift-check", revision)
        if tree is None:
            return
        pulumi = self.automations[stack]
        out = pulumi.check_drift(tree)
        self.metrics.duration.labels(stack, "drift-check").observe(out.duration)
        if not out.ok and self.stopping.is_set():
            # A read-only check cut short by shutdown found nothing either way: the stack stays as it was.
            self._put(s.with_(in_progress=None))
            log_event("drift-check-cancelled", stack=stack, revision=revision)
            return
        if not out.ok:
            self._failure(s, "drift-check", out.reason, out.message, out.transient)
            return
        now = self.clock()
        result = "drift" if out.drift else "clean"
        self.metrics.drift_checks.labels(stack, result).inc()
        if not out.drift:
            self._put(transitions.drift_clean(s, now))
            said: dict[str, Any] = {"notes": list(out.notes)} if out.notes else {}  # e.g. not previewed
            log_event("drift-check", stack=stack, revision=revision, result=result, **said)
            return
        log_event(
            "drift-detected",
            logging.WARNING,
            stack=stack,
            revision=revision,
            detail=out.message,
            drifted=[i.to_json() for i in out.drift_items],
            mode=str(self.config.policy.drift_mode),
        )
        for item in out.drift_items:
            self.metrics.drift_found.labels(stack, item.kind).inc()
        if self.config.policy.drift_mode is DriftMode.DETECT:
            items = tuple(i.to_json() for i in out.drift_items)
            self._put(transitions.drift_detected(s, out.message, now, items))
            self.metrics.drift.labels(stack).set(1)
            return
        s = transitions.begun(
            s.with_(drift=True), "drift-correct", revision, Reason.DRIFT_DETECTED, now, self.pid, self.host
        )
        self._put(s)
        self.metrics.drift.labels(stack).set(1)
        fix = pulumi.correct(tree, revision, out)
        self.metrics.duration.labels(stack, "drift-correct").observe(fix.duration)
        if fix.ok:
            notes = (f"corrected {out.message}", *fix.notes)
            self._success(s, revision, Reason.DRIFT_CORRECTED, fix.duration, notes)
        else:
            self._failure(s, "drift-correct", fix.reason, fix.message, fix.transient)

    def _recover(self, stack: str) -> None:
        s = self.store.get(stack)
        ip = s.in_progress
        if ip is None:
            return
        log_event(
            "recovering",
            logging.WARNING,
            stack=stack,
            operation=ip.operation,
            revision=ip.revision,
            previous_pid=ip.pid,
            previous_host=ip.host,
        )
        try:
            tree = self.checkout.worktree(ip.revision)
        except SourceError as exc:
            # in_progress stays: the loop retries the recovery (with backoff) before any update.
            self._failure(s, "recover", Reason.SOURCE_UNAVAILABLE, str(exc), transient=True, keep=True)
            return
        out = self.automations[stack].recover(tree, ip.host)
        notes = tuple(out.notes) or (f"previous {ip.operation} of {ip.revision[:12]} was interrupted",)
        if out.ok:
            msg = f"interrupted {ip.operation} of {ip.revision[:12]} recovered"
            if out.reason == Reason.PENDING_OPERATIONS:
                msg += f": {out.message}"
            self._put(transitions.recovered(s, out.reason, msg, notes))
            log_event("recovered", logging.WARNING, stack=stack, reason=str(out.reason), notes=list(notes))
        else:
            self._failure(s.with_(notes=notes), "recover", out.reason, out.message, True, keep=True)

    # -- scheduling --------------------------------------------------------------------------------
    def _submit(self, stack: str, fn: Callable[..., None], *args: Any) -> None:
        def job() -> None:
            try:
                fn(stack, *args)
            except Exception as exc:  # a bug: record it, keep the loop alive
                log.exception("job for stack %s crashed", stack)
                s = self.store.get(stack)
                self._failure(s, "job", Reason.UPDATE_FAILED, f"internal error: {exc!r}", transient=True)
            finally:
                with self._lock:
                    self.busy.pop(stack, None)
                self.wake.set()

        with self._lock:
            self.busy[stack] = self.pool.submit(job)

    def recover_all(self) -> None:
        """At start: every stack whose state says an operation was running is recovered first."""
        pending = [s for s in self.config.stacks if self.store.get(s).in_progress is not None]
        for stack in pending:
            self._submit(stack, self._recover)
        with self._lock:
            futures = list(self.busy.values())
        wait_futures(futures)
        self.recovered.set()

    def tick(self) -> float | None:
        """One pass; returns the earliest wake-up time any stack asked for."""
        now = self.clock()
        self.last_tick = time.monotonic()
        head: str | None
        try:
            head = self.source.current_commit()
            self.source_ok.set()
        except SourceError as exc:
            head = None
            self.metrics.source_errors.inc()
            log_event("source-unavailable", logging.WARNING, error=str(exc))
            self._note_source_down(str(exc))
        self.guard.read_holds()
        wake: float | None = None
        for stack in self.config.stacks:
            with self._lock:
                if stack in self.busy or self.stopping.is_set():
                    continue
            s = self.store.get(stack)
            if s.in_progress is not None:
                # Left by a run that died (ours are in self.busy): recover before anything else.
                if s.retry_at is None or now >= s.retry_at:
                    self._submit(stack, self._recover)
                elif s.retry_at is not None:
                    wake = s.retry_at if wake is None else min(wake, s.retry_at)
                continue
            if head is not None and (s.git_revision != head or _source_down(s)):
                s = s.with_(
                    git_revision=head, git_revision_at=now if s.git_revision != head else s.git_revision_at
                )
                if _source_down(s):
                    s = s.with_(
                        conditions=c.ready() if head == s.applied_revision and not s.drift else c.waiting(),
                        last_error=None,
                    )
                self._put(s)
            s, target = self.guard.target(s, head, now, self.automations[stack])
            d: Decision = decide(s, target, now, self.config.policy)
            if d.action is Action.UPDATE:
                assert s.git_revision is not None or target is not None
                self._submit(stack, self._update, target or s.git_revision, d.reason)
            elif d.action is Action.DRIFT_CHECK:
                assert s.applied_revision is not None
                self._submit(stack, self._drift, s.applied_revision, d.reason)
            elif d.reason == Reason.TOO_MANY_FAILURES and s.phase != c.Phase.STALLED:
                self._put(s.with_(conditions=c.stalled(Reason.TOO_MANY_FAILURES, d.message)))
            elif self.guard.check_due(s, now):
                self._submit(stack, self.guard.check, s.applied_revision)
            if d.wake_at is not None:
                wake = d.wake_at if wake is None else min(wake, d.wake_at)
        return wake

    def _note_source_down(self, message: str) -> None:
        for stack in self.config.stacks:
            with self._lock:
                if stack in self.busy:
                    continue
            s = self.store.get(stack)
            if s.phase in (c.Phase.SYNCED, c.Phase.PENDING) and not _source_down(s):
                self._put(
                    s.with_(
                        conditions=c.waiting(Reason.SOURCE_UNAVAILABLE, message),
                        last_error=f"{Reason.SOURCE_UNAVAILABLE}: {message}",
                    )
                )

    def run(self, stop: threading.Event, *, once: bool = False) -> None:
        """Ticks until `stop` is set (`once`: one tick, waited for), then shuts down with the grace period."""
        self.recover_all()
        while not stop.is_set():
            # Cleared before the tick: a push webhook or a job ending during it wakes the next one.
            self.wake.clear()
            wake = self.tick()
            if once:
                with self._lock:
                    running = list(self.busy.values())
                while running and not stop.is_set():
                    running = list(wait_futures(running, timeout=0.2).not_done)
                break
            delay = self.config.interval
            if wake is not None:
                delay = max(0.05, min(delay, wake - self.clock()))
            # A finished job wakes the loop at once (a commit pushed meanwhile is seen sooner).
            deadline = time.monotonic() + delay
            while not stop.is_set() and not self.wake.is_set() and time.monotonic() < deadline:
                stop.wait(min(0.2, max(0.0, deadline - time.monotonic())))
        self.shutdown()

    def shutdown(self) -> None:
        from .automation import interrupt_pulumi_children  # the only pulumi-importing module

        self.stopping.set()
        with self._lock:
            running = list(self.busy.values())
        if running:
            log_event("shutdown-waiting", stacks=sorted(self.busy), grace=self.config.grace)
            _, not_done = wait_futures(running, timeout=self.config.grace)
            if not_done:
                pids = interrupt_pulumi_children()
                log_event("shutdown-cancelling", logging.WARNING, pulumi_pids=pids)
                wait_futures(not_done, timeout=60)
        self.pool.shutdown(wait=False, cancel_futures=True)
        log_event("stopped")

    def healthy(self) -> bool:
        return time.monotonic() - self.last_tick < max(3 * self.config.interval, 60.0)

    def ready(self) -> bool:
        return self.recovered.is_set() and self.source_ok.is_set()


def _source_down(s: StackState) -> bool:
    return (
        bool(s.conditions) and s.conditions[0].reason == Reason.SOURCE_UNAVAILABLE and s.in_progress is None
    )
