"""`reconcile` waits with the project's one verdict (eoepca_gitops.readiness): each wave asked
together, each object waited for until its controller has handled the request and Flux's answer is
final; a transient state keeps waiting, a final failure ends the run after its wave; the timeout
names what each object was waiting for. A fake cluster plays Flux's controllers, a fake clock the time."""

from __future__ import annotations

from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.operations import reconcile as reconcile_module
from eoepca_gitops.operations.collect import FluxObject
from eoepca_gitops.operations.reconcile import reconcile
from eoepca_gitops.readiness.verdict import State
from tests.readiness.fake_cluster import FakeClock, FakeCluster
from tests.readiness.fake_cluster import condition as c
from tests.readiness.fake_cluster import flux_object as o

SOURCE: FluxObject = ("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "flux-system")
KUSTOMIZATION: FluxObject = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "portal")
DB: FluxObject = ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "demo", "db")
PORTAL: FluxObject = ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "demo", "portal")
WAVES = [[SOURCE], [KUSTOMIZATION], [DB, PORTAL]]
READY = {"Ready": ("True", "Succeeded", "")}


class Flux:
    """The controllers: a request is handled `after` seconds later, each object then showing the
    conditions `answers` gives for it (Ready by default), one set per request in turn."""

    def __init__(self, cluster: FakeCluster, clock: FakeClock, after: float = 1.0) -> None:
        self.cluster, self.clock, self.after = cluster, clock, after
        self.answers: dict[str, list[dict[str, tuple[str, str, str]]]] = {}
        self.silent: set[str] = set()
        cluster.on_request = self.request

    def request(self, key: tuple[str, str, str], token: str) -> None:
        if key[2] in self.silent:
            return

        def handle() -> None:
            obj = self.cluster.objects[key]
            answers = self.answers.get(key[2]) or [READY]
            conditions = answers.pop(0) if len(answers) > 1 else answers[0]
            obj["status"] = {
                "lastHandledReconcileAt": token,
                "conditions": [c(kind, *value) for kind, value in conditions.items()],
            }

        self.clock.after(self.after, handle)

    def later(self, name: str, seconds: float, conditions: dict[str, tuple[str, str, str]]) -> None:
        """Flux changes `name`'s conditions `seconds` from now (a retry, a dependency now Ready)."""

        def change() -> None:
            obj = self.cluster.objects[(next(k for k in self.cluster.objects if k[2] == name))]
            obj["status"]["conditions"] = [c(kind, *value) for kind, value in conditions.items()]

        self.clock.after(seconds, change)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(reconcile_module, "time", fake)
    return fake


@pytest.fixture
def flux(clock: FakeClock) -> Flux:
    cluster = FakeCluster(*(o(kind, name, ns, generation=2) for wave in WAVES for _, kind, ns, name in wave))
    return Flux(cluster, clock)


def run(flux: Flux, waves: list[list[FluxObject]] = WAVES, timeout: float = 60, **kw: Any) -> Any:
    return reconcile(flux.cluster, waves, timeout, **kw)  # type: ignore[arg-type]


def test_every_wave_in_order_when_each_is_ready(flux: Flux) -> None:
    said: list[str] = []
    done = run(flux, progress=said.append)
    assert flux.cluster.requests == [SOURCE, KUSTOMIZATION, DB, PORTAL]
    assert [(r.status.ref, r.verdict.state, r.seconds) for r in done] == [
        ("GitRepository flux-system/flux-system", State.READY, 1.0),
        ("Kustomization flux-system/portal", State.READY, 1.0),
        ("HelmRelease demo/db", State.READY, 1.0),
        ("HelmRelease demo/portal", State.READY, 1.0),
    ]
    assert said[:2] == [
        "reconciling GitRepository flux-system/flux-system",
        "GitRepository flux-system/flux-system: Ready",
    ]
    assert said[-3:] == [
        "reconciling HelmRelease demo/db, HelmRelease demo/portal",
        "HelmRelease demo/db: Ready",
        "HelmRelease demo/portal: Ready",
    ]


def test_a_transient_failure_keeps_waiting_until_flux_gets_past_it(flux: Flux, clock: FakeClock) -> None:
    # The first apply fails on a kind whose CRD a release installs later; Flux retries and succeeds.
    flux.answers["portal"] = [
        {"Ready": ("False", "ReconciliationFailed", "no matches for kind ClusterIssuer")}
    ]
    flux.later("portal", 5.0, {"Ready": ("True", "ReconciliationSucceeded", "")})
    done = run(flux, [[KUSTOMIZATION]], poll=1.0)
    assert [(r.verdict.state, r.seconds) for r in done] == [(State.READY, 5.0)]


def test_a_final_failure_ends_the_run_after_its_wave(flux: Flux) -> None:
    failure = {"Ready": ("False", "InstallFailed", "boom"), "Stalled": ("True", "RetriesExceeded", "gave up")}
    flux.answers["db"] = [failure]
    done = run(flux, [[DB, PORTAL], [SOURCE]])
    assert [(r.status.name, r.verdict.state, r.verdict.reason) for r in done] == [
        ("db", State.FAILED, "InstallFailed"),
        ("portal", State.READY, "Succeeded"),
    ]
    assert flux.cluster.requests == [DB, PORTAL]  # the next wave is not asked for


def test_a_dependency_that_failed_is_final_for_its_dependent(flux: Flux) -> None:
    flux.cluster.objects[("HelmRelease", "demo", "portal")]["spec"] = {"dependsOn": [{"name": "db"}]}
    flux.answers["db"] = [
        {"Stalled": ("True", "RetriesExceeded", "gave up"), "Ready": ("False", "InstallFailed", "x")}
    ]
    flux.answers["portal"] = [{"Ready": ("False", "DependencyNotReady", "dependency 'demo/db' is not ready")}]
    done = run(flux, [[DB, PORTAL]])
    db = "InstallFailed: x (RetriesExceeded: gave up)"
    assert [str(r.verdict) for r in done] == [
        db,
        f"DependencyNotReady: dependency HelmRelease demo/db failed: {db}",
    ]


def test_an_earlier_answer_is_not_this_request_s(flux: Flux) -> None:
    flux.cluster.objects[("GitRepository", "flux-system", "flux-system")]["status"] = {
        "lastHandledReconcileAt": "an-earlier-token",
        "conditions": [c("Ready", "True", "Succeeded")],
    }
    assert run(flux, [[SOURCE]])[0].seconds == 1.0


def test_a_suspended_object_is_failed_at_once(flux: Flux, clock: FakeClock) -> None:
    flux.silent = {"portal"}  # a suspended object's controller never handles the request
    flux.cluster.objects[("Kustomization", "flux-system", "portal")]["spec"] = {"suspend": True}
    done = run(flux, [[KUSTOMIZATION]])
    assert [(r.verdict.state, r.verdict.reason) for r in done] == [(State.FAILED, "Suspended")]
    assert clock.slept == []


def test_the_timeout_is_for_the_whole_run_and_says_what_each_was_waiting_for(
    flux: Flux, clock: FakeClock
) -> None:
    flux.silent = {"portal"}
    with pytest.raises(GitopsError) as caught:
        run(flux, [[SOURCE], [DB, PORTAL]], timeout=30, poll=0.5)
    assert str(caught.value) == (
        "timed out after 30 s waiting for HelmRelease demo/portal "
        "(ReconcileRequested: its controller has not handled the reconcile request yet)"
    )
    assert 30.0 < clock.now - 1000.0 <= 30.5


def test_an_object_not_in_the_cluster_says_to_run_pulumi_up(flux: Flux) -> None:
    gone: FluxObject = ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "demo", "gone")
    flux.cluster.objects[("HelmRelease", "demo", "gone")] = o("HelmRelease", "gone", "demo")
    flux.silent = {"gone"}
    del_after_request = flux.cluster.request_reconcile

    def request(*ref: str) -> str:
        token = del_after_request(*ref)
        flux.cluster.objects.pop(("HelmRelease", "demo", "gone"))
        return token

    flux.cluster.request_reconcile = request  # type: ignore[method-assign, assignment]
    with pytest.raises(
        GitopsError, match=r"^HelmRelease demo/gone is not in the cluster: run pulumi up first$"
    ):
        run(flux, [[gone]])


def test_no_wave_is_nothing_to_do(flux: Flux, clock: FakeClock) -> None:
    assert run(flux, []) == []
    assert (flux.cluster.requests, clock.slept) == ([], [])
