"""The loop's roll-backs with fakes (poller.guard): the last good revision recorded once Flux says
Ready, the automatic roll-back past its deadline (pinned, held until a newer commit), and an
operator's hold until it is released."""

from __future__ import annotations

import json
from pathlib import Path

from eoepca_gitops.poller.conditions import Phase, Reason
from eoepca_gitops.poller.decide import Policy
from eoepca_gitops.poller.hold import OPERATOR, Hold, HoldStore, Until, holds_file
from eoepca_gitops.poller.lastgood import FluxCheck
from eoepca_gitops.poller.loop import LoopConfig, PollLoop
from eoepca_gitops.poller.metrics import Metrics
from eoepca_gitops.poller.state import StateStore
from tests.poller.test_loop import A, B, Clock, FakeCheckout, FakeRunner, FakeSource, Out, settle

C = "c" * 40


class PinnedRunner(FakeRunner):
    """Records the pin each update ran with, as StackAutomation runs pinned."""

    def __init__(self) -> None:
        super().__init__()
        self.pin: str | None = None
        self.pins: list[str | None] = []

    def update(
        self, tree: Path, revision: str, *, refresh: bool = False, previous_host: str | None = None
    ) -> Out:
        self.pins.append(self.pin)
        return super().update(tree, revision, refresh=refresh, previous_host=previous_host)


class FakeFlux:
    def __init__(self) -> None:
        self.ready: set[str] = set()
        self.asked: list[str] = []

    def check(self, tree: Path, revision: str) -> FluxCheck:
        self.asked.append(revision)
        return FluxCheck(
            revision in self.ready, () if revision in self.ready else ("HelmRelease x: not Ready",)
        )


def make(
    tmp_path: Path, rollback_after: float = 0.0
) -> tuple[PollLoop, FakeSource, PinnedRunner, FakeFlux, Clock]:
    src, runner, flux, clock = FakeSource(A), PinnedRunner(), FakeFlux(), Clock()
    policy = Policy(drift_interval=0, backoff_base=10, backoff_cap=100, jitter=0, stall_after=2)
    rec = PollLoop(
        LoopConfig(stacks=("dev",), interval=1, policy=policy, rollback_after=rollback_after),
        src,
        FakeCheckout(),
        {"dev": runner},
        StateStore(tmp_path / "state.json"),
        Metrics(),
        clock=clock,
        rand=lambda: 0.5,
        flux={"dev": flux},
        holds=HoldStore(holds_file(tmp_path / "state.json")),
    )
    return rec, src, runner, flux, clock


def rounds(rec: PollLoop, n: int = 2) -> None:
    for _ in range(n):
        rec.tick()
        settle(rec)


def test_a_revision_is_good_once_flux_has_every_object_ready(tmp_path: Path) -> None:
    rec, _, _, flux, clock = make(tmp_path)
    rounds(rec)
    assert rec.store.get("dev").last_good_revision is None  # applied, Flux not Ready yet
    flux.ready.add(A)
    rounds(rec)
    assert (rec.store.get("dev").last_good_revision, flux.asked) == (None, [A])  # asked again in 5 s
    clock.now += 5
    rounds(rec)
    s = rec.store.get("dev")
    assert (s.applied_revision, s.last_good_revision, s.phase) == (A, A, Phase.SYNCED)
    asked = len(flux.asked)
    rounds(rec)
    assert len(flux.asked) == asked  # known good: Flux is not asked again


def test_a_broken_push_is_rolled_back_alone_past_the_deadline_until_a_newer_commit(tmp_path: Path) -> None:
    rec, src, runner, flux, clock = make(tmp_path, rollback_after=60)
    flux.ready |= {A, C}
    rounds(rec)
    src.head = B
    runner.fail[B] = Out(False, Reason.FLUX_FAILED, "HelmRelease x: chart 9.9.9 not found")
    rounds(rec)
    s = rec.store.get("dev")
    assert (s.phase, s.last_good_revision, s.held_revision) == (Phase.FAILED, A, None)
    clock.now += 61
    rounds(rec)
    s = rec.store.get("dev")
    assert (s.held_revision, s.held_until, s.rollbacks, s.applied_revision) == (A, "new-commit", 1, A)
    assert s.held_reason is not None and s.held_reason.startswith(f"automatic rollback: {B[:12]} not Ready")
    assert (s.phase, s.git_revision) == (Phase.SYNCED, B)
    assert runner.updates[-1] == A and runner.pins[-1] == A  # pinned at the good revision
    assert b'eoepca_gitops_rollbacks_total{stack="dev"} 1.0' in rec.metrics.render()
    src.head = C  # a fix is pushed: the hold ends, the poller goes on with the branch
    rounds(rec)
    s = rec.store.get("dev")
    assert (s.held_revision, s.applied_revision, s.last_good_revision) == (None, C, C)
    assert runner.pins[-1] is None


def test_an_operators_hold_keeps_the_stack_until_released(tmp_path: Path) -> None:
    rec, src, runner, flux, clock = make(tmp_path)
    flux.ready |= {A, B}
    rounds(rec)
    src.head = B
    rounds(rec)
    holds = HoldStore(holds_file(tmp_path / "state.json"))
    holds.put("dev", Hold(A, clock.now, OPERATOR, Until.RELEASE, B))
    rounds(rec)
    s = rec.store.get("dev")
    assert (s.held_revision, s.applied_revision, runner.pins[-1]) == (A, A, A)
    src.head = C
    rounds(rec)
    assert rec.store.get("dev").applied_revision == A  # held whatever is pushed
    holds.put("dev", None)
    rounds(rec)
    s = rec.store.get("dev")
    assert (s.held_revision, s.applied_revision, runner.pins[-1]) == (None, C, None)


def test_an_automatic_rollback_is_told_to_flux(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from eoepca_gitops.poller.flux_event import FluxEvents

    received: list[dict[str, object]] = []

    class Events(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(202)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Events)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        rec, src, runner, flux, clock = make(tmp_path, rollback_after=60)
        rec.guard.notify = FluxEvents(f"http://127.0.0.1:{server.server_address[1]}/")
        flux.ready.add(A)
        rounds(rec)
        src.head = B
        runner.fail[B] = Out(False, Reason.FLUX_FAILED, "chart 9.9.9 not found")
        rounds(rec)
        clock.now += 61
        rounds(rec)
    finally:
        server.shutdown()
        server.server_close()
    (sent,) = received
    assert sent["reason"] == "RolledBack" and sent["severity"] == "error"
    assert sent["involvedObject"] == {
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "namespace": "flux-system", "name": "flux-system",
    }  # fmt: skip
    assert sent["metadata"] == {"revision": B, "rolledBackTo": A, "stack": "dev"}
    assert str(sent["message"]).startswith(f"stack dev rolled back to {A[:12]}: {B[:12]} not Ready 60 s")
