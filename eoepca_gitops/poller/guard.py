"""The loop's part in roll-backs: which revision a stack is held at, the last good revision, and
the automatic roll-back.

Each tick, for a stack no job runs for: the holds an operator asked for are read (poller.hold), the
hold that applies is recorded in the state (shown by `status`), and the revision the loop decides
for is the held one instead of the branch head. Pulumi runs pinned there (the program makes Flux's
source that commit). While the applied revision is not known good, Flux is asked (a job, like an
update) and a revision Flux has Ready becomes the last good one. An automatic roll-back, when on and
due (poller.lastgood.rollback_due), is a hold at the last good revision until a newer commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from eoepca_gitops.errors import GitopsError

from .conditions import Phase
from .hold import Hold, HoldStore, Until, held, of_state, with_hold
from .lastgood import FluxCheck, good, rollback_due
from .log import log_event
from .metrics import Metrics
from .ports import CheckoutLike
from .source import SourceError
from .state import StackState, StateStore

__all__ = ["FLUX_CHECK_EVERY", "FluxCheckLike", "Guard", "Pinnable"]

FLUX_CHECK_EVERY = 5.0  # seconds between two questions to Flux about one stack


class FluxCheckLike(Protocol):
    def check(self, tree: Path, revision: str) -> FluxCheck: ...


@runtime_checkable
class Pinnable(Protocol):
    """A stack's Pulumi operations that can run pinned at a commit (automation.StackAutomation)."""

    pin: str | None


class Guard:
    def __init__(
        self,
        store: StateStore,
        put: Callable[[StackState], None],
        checkout: CheckoutLike,
        flux: Mapping[str, FluxCheckLike],
        holds: HoldStore | None,
        deadline: float,
        metrics: Metrics,
        clock: Callable[[], float],
        notify: Callable[[str, str, str, str], None] | None = None,
    ) -> None:
        """`notify(stack, revision, to, message)`: tells Flux of an automatic roll-back (flux_event)."""
        self.store, self.put, self.checkout, self.flux = store, put, checkout, flux
        self.notify = notify
        self.holds, self.deadline, self.metrics, self.clock = holds, deadline, metrics, clock
        self._asked: dict[str, Hold] = {}
        self._checked: dict[str, float] = {}  # stack -> when Flux was last asked

    def read_holds(self) -> None:
        """The holds asked for, read once a tick (unreadable: the last ones read stand, and it is logged)."""
        if self.holds is None:
            return
        try:
            self._asked = self.holds.all()
        except (GitopsError, ValueError) as exc:
            log_event("holds-unreadable", logging.WARNING, error=str(exc))

    def target(
        self, s: StackState, head: str | None, now: float, pulumi: object
    ) -> tuple[StackState, str | None]:
        """The state with the hold that applies now, and the revision to decide for."""
        hold = held(s, self._asked.get(s.stack), head)
        if hold != of_state(s):
            s = self._hold(s, hold)
            log_event(
                "held" if hold else "hold-released",
                logging.WARNING if hold else logging.INFO,
                stack=s.stack,
                held_revision=hold.revision if hold else None,
                reason=hold.reason if hold else None,
            )
        if hold is None and s.last_good_revision and (why := rollback_due(s, head, now, self.deadline)):
            hold = Hold(s.last_good_revision, now, f"automatic rollback: {why}", Until.NEW_COMMIT, head)
            s = self._hold(s.with_(rollbacks=s.rollbacks + 1), hold)
            self.metrics.rollbacks.labels(s.stack).inc()
            log_event(
                "rolled-back", logging.WARNING, stack=s.stack, revision=head, to=hold.revision, reason=why
            )
            if self.notify is not None and head is not None:
                self.notify(s.stack, head, hold.revision, why)
        if isinstance(pulumi, Pinnable):
            pulumi.pin = hold.revision if hold else None
        return s, hold.revision if hold else head

    def _hold(self, s: StackState, hold: Hold | None) -> StackState:
        """The state under another hold (or none). What is applied was applied pinned otherwise (or
        half applied by a failed update): no revision counts as applied until the next update."""
        s = with_hold(s, hold).with_(applied_revision=None)
        self.put(s)
        return s

    def check_due(self, s: StackState, now: float) -> bool:
        """Whether Flux is to be asked now if the applied revision is good (at most every few seconds:
        each time reads every Flux object of the stack)."""
        return (
            s.stack in self.flux
            and s.applied_revision is not None
            and s.applied_revision != s.last_good_revision
            and s.phase == Phase.SYNCED
            and now - self._checked.get(s.stack, -FLUX_CHECK_EVERY) >= FLUX_CHECK_EVERY
        )

    def check(self, stack: str, revision: str) -> None:
        """A job: asks Flux about `revision`; records it as the last good revision when Ready."""
        try:
            tree = self.checkout.worktree(revision)
        except SourceError as exc:
            log_event("flux-check-skipped", logging.WARNING, stack=stack, revision=revision, error=str(exc))
            return
        self._checked[stack] = self.clock()
        found = self.flux[stack].check(tree, revision)
        s = self.store.get(stack)
        if found.ok and s.applied_revision == revision:
            self.put(good(s, revision, self.clock()))
            log_event("good", stack=stack, revision=revision)
        elif not found.ok:
            log_event("flux-not-ready", logging.DEBUG, stack=stack, revision=revision, detail=found.message)
