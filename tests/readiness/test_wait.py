"""The one wait loop (eoepca_gitops/readiness/wait.py) with a fake clock and a fake cluster reader:
when it stops, what it shows, what it reads, and the block's report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from eoepca_gitops.readiness.verdict import State, Verdict, failed, ready, waiting
from eoepca_gitops.readiness.wait import (
    FluxRef,
    Settled,
    block_report,
    describe,
    flux_assess,
    one_line,
    settle,
)
from tests.readiness.fake_cluster import FakeClock, FakeCluster
from tests.readiness.fake_cluster import condition as c
from tests.readiness.fake_cluster import flux_object as o


class Script:
    """An assessor that answers, per target, the verdicts given in turn (the last one for ever)."""

    def __init__(self, **answers: list[Verdict]) -> None:
        self.answers = answers
        self.asked: list[list[str]] = []

    def __call__(self, targets: Sequence[str]) -> Mapping[str, Verdict]:
        self.asked.append(list(targets))
        return {
            t: self.answers[t].pop(0) if len(self.answers[t]) > 1 else self.answers[t][0] for t in targets
        }


def test_ready_at_once_neither_sleeps_nor_shows_anything() -> None:
    clock, said = FakeClock(), list[str]()
    out = settle(["a", "b"], Script(a=[ready("R")], b=[ready("R")]), 60, clock=clock, progress=said.append)
    assert out.ok and not out.timed_out and out.failed == [] and out.pending == []
    assert (clock.slept, said, out.seconds) == ([], [], {"a": 0.0, "b": 0.0})


def test_each_target_is_asked_for_until_it_is_final_and_timed_from_the_start() -> None:
    clock = FakeClock()
    script = Script(a=[waiting("W"), ready("R")], b=[waiting("W"), waiting("W"), waiting("W"), ready("R")])
    out = settle(["a", "b"], script, 60, clock=clock, poll=2)
    assert script.asked == [["a", "b"], ["a", "b"], ["b"], ["b"]]
    assert out.ok and out.seconds == {"a": 2.0, "b": 6.0} and clock.slept == [2, 2, 2]


def test_a_failure_ends_the_wait_at_once_with_the_others_still_pending() -> None:
    clock = FakeClock()
    script = Script(a=[waiting("Progressing"), failed("InstallFailed", "boom")], b=[waiting("Progressing")])
    out = settle(["a", "b"], script, 600, clock=clock)
    assert out.failed == [("a", failed("InstallFailed", "boom"))]
    assert out.pending == [("b", waiting("Progressing"))]
    assert not out.timed_out and clock.slept == [1.0]


def test_without_stop_on_failure_every_target_gets_its_final_verdict() -> None:
    clock = FakeClock()
    script = Script(a=[failed("F")], b=[waiting("W"), waiting("W"), ready("R")])
    out = settle(["a", "b"], script, 600, clock=clock, stop_on_failure=False)
    assert [v.state for v in out.verdicts.values()] == [State.FAILED, State.READY]
    assert out.seconds == {"a": 0.0, "b": 2.0} and not out.ok


def test_the_timeout_ends_the_wait_with_what_each_target_was_waiting_for() -> None:
    clock = FakeClock()
    script = Script(a=[ready("R")], b=[waiting("DependencyNotReady", "dependency 'ns/a' is not ready")])
    out = settle(["a", "b"], script, 10, clock=clock, poll=3)
    assert out.timed_out and out.pending == [
        ("b", waiting("DependencyNotReady", "dependency 'ns/a' is not ready"))
    ]
    assert clock.slept == [3, 3, 3, 3] and clock.now == 1012.0  # asked once more after the last sleep


def test_progress_shows_the_first_pending_reason_when_it_changes() -> None:
    said: list[str] = []
    script = Script(
        a=[
            waiting("SourceNotReady", "HelmChart 'c/a' is not ready"),
            waiting("Progressing", "install\nnow"),
            ready("R"),
        ],
        b=[*[waiting("W")] * 4, ready("R")],
    )
    settle(["a", "b"], script, 60, clock=FakeClock(), progress=said.append, name=str.upper)
    assert said == [
        "A: SourceNotReady: HelmChart 'c/a' is not ready (0 of 2 settled)",
        "A: Progressing: install now (0 of 2 settled)",  # one line, whatever Flux's message holds
        "B: W (1 of 2 settled)",
    ]


def test_no_target_is_nothing_to_wait_for() -> None:
    clock = FakeClock()
    out: Settled[str] = settle([], Script(), 1, clock=clock)
    assert out.ok and out.verdicts == {} and clock.slept == []


# -- the Flux assessor -----------------------------------------------------------------------------

APIS = {"HelmRelease": "helm/v2", "HelmChart": "source/v1", "Kustomization": "kustomize/v1"}
APP: FluxRef = ("helm/v2", "HelmRelease", "ns", "app")
WEB: FluxRef = ("helm/v2", "HelmRelease", "ns", "web")


def test_each_object_is_read_once_a_round_in_the_version_of_its_kind() -> None:
    shared: dict[str, Any] = {"spec": {"dependsOn": [{"name": "db"}]}, "status": {"helmChart": "common/ns-x"}}
    cluster = FakeCluster(
        o("HelmRelease", "app", "ns", c("Ready", "False", "DependencyNotReady"), **shared),
        o("HelmRelease", "web", "ns", c("Ready", "False", "DependencyNotReady"), **shared),
        o("HelmRelease", "db", "ns", c("Ready", "Unknown", "Progressing")),
    )
    verdicts = flux_assess(cluster.get, APIS)([APP, WEB])
    assert [v.reason for v in verdicts.values()] == ["DependencyNotReady", "DependencyNotReady"]
    assert cluster.reads == [APP, ("helm/v2", "HelmRelease", "ns", "db"), WEB]
    cluster.reads.clear()
    flux_assess(cluster.get, APIS)([APP])
    assert cluster.reads == [APP, ("helm/v2", "HelmRelease", "ns", "db")]  # a new round reads again


def test_a_kind_whose_version_is_unknown_is_not_read() -> None:
    cluster = FakeCluster(
        o("Kustomization", "app", "ns", c("Ready", "False", "ArtifactFailed", "Source artifact not found"),
          spec={"sourceRef": {"kind": "ExternalArtifact", "name": "x"}}),
    )  # fmt: skip
    ref = ("kustomize/v1", "Kustomization", "ns", "app")
    assert flux_assess(cluster.get, APIS)([ref])[ref].state is State.WAITING
    assert cluster.reads == [ref]


def test_a_read_that_fails_is_waiting_not_an_error() -> None:
    cluster = FakeCluster(o("HelmRelease", "app", "ns", c("Ready", "True", "InstallSucceeded")))
    cluster.unreadable = {("HelmRelease", "ns", "app")}
    verdict = flux_assess(cluster.get, APIS)([APP])[APP]
    assert verdict == waiting("Unreadable", "the cluster does not answer: connection refused")


def test_a_dependency_that_cannot_be_read_is_waiting_too() -> None:
    cluster = FakeCluster(o("HelmRelease", "app", "ns", spec={"dependsOn": [{"name": "db"}]}))
    cluster.unreadable = {("HelmRelease", "ns", "db")}
    assert flux_assess(cluster.get, APIS)([APP])[APP].reason == "Unreadable"


def test_the_gate_answers_first_and_sees_the_object() -> None:
    cluster = FakeCluster(o("HelmRelease", "app", "ns", c("Ready", "True", "InstallSucceeded")))
    seen: list[object] = []

    def gate(ref: FluxRef, obj: Mapping[str, object] | None) -> Verdict | None:
        seen.append((ref, obj is not None))
        return waiting("ReconcileRequested") if ref == APP else None

    verdicts = flux_assess(cluster.get, APIS, gate)([APP, WEB])
    assert verdicts == {APP: waiting("ReconcileRequested"), WEB: waiting("NotFound", "not in the cluster")}
    assert seen == [(APP, True), (WEB, False)]


def test_what_the_gate_refuses_is_refused() -> None:
    from eoepca_gitops.errors import GitopsError

    def gate(ref: FluxRef, obj: Mapping[str, object] | None) -> Verdict | None:
        raise GitopsError("not in the cluster: run pulumi up first")

    with pytest.raises(GitopsError, match="run pulumi up first"):
        flux_assess(FakeCluster().get, APIS, gate)([APP])


# -- the block's report ----------------------------------------------------------------------------


def test_the_report_names_the_block_each_failed_object_and_flux_s_words() -> None:
    settled = Settled(
        {
            APP: failed("SourceNotReady", "HelmChart 'common/ns-app' is not ready:\nno chart"),
            WEB: waiting("W"),
        },
        {APP: 3.0},
    )
    assert block_report("portal", settled, "10m") == (
        "block portal: Flux reports HelmRelease ns/app failed: SourceNotReady: "
        "HelmChart 'common/ns-app' is not ready: no chart"
    )


def test_at_the_timeout_the_report_says_what_each_object_was_waiting_for() -> None:
    settled = Settled(
        {APP: ready("R"), WEB: waiting("DependencyNotReady", "dependency 'ns/db' is not ready")},
        {APP: 1.0},
        timed_out=True,
    )
    assert block_report("portal", settled, "5m") == (
        "block portal: not Ready within await.timeout (5m): "
        "HelmRelease ns/web was waiting: DependencyNotReady: dependency 'ns/db' is not ready"
    )


def test_all_ready_is_no_report() -> None:
    assert block_report("portal", Settled({APP: ready("R")}, {APP: 1.0}), "5m") is None


def test_names() -> None:
    assert describe(APP) == "HelmRelease ns/app"
    assert describe(("v1", "Namespace", "", "x")) == "Namespace x"
    assert one_line(" a\n  b\tc ") == "a b c"
