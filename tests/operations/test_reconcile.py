"""`reconcile`: each wave (the source, then a block's Kustomization, then its HelmReleases) asked
together through the requestedAt annotation, waited for until its controllers have handled that very
request, the next wave only once every object of this one is Ready; a timeout over all the waves.
A fake ClusterAccess plays the cluster and its controllers, a fake clock the time."""

from __future__ import annotations

from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import REQUESTED_AT
from eoepca_gitops.operations import reconcile as reconcile_module
from eoepca_gitops.operations.collect import FluxObject
from eoepca_gitops.operations.reconcile import handled, reconcile
from tests.fakes import FakeAccess, FakeClock

SOURCE: FluxObject = ("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "flux-system")
KUSTOMIZATION: FluxObject = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "portal")
PORTAL: FluxObject = ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "demo", "eoepca-portal")
LOGIN: FluxObject = ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "um", "login")
WAVES = [[SOURCE], [KUSTOMIZATION], [PORTAL, LOGIN]]


def flux_object(ref: FluxObject, **status: Any) -> dict[str, Any]:
    _, kind, namespace, name = ref
    return {
        "kind": kind,
        "metadata": {"namespace": namespace, "name": name, "generation": 1},
        "spec": {},
        "status": status,
    }


class Controllers:
    """Flux's controllers: each request is handled `after` seconds later (never, for those in
    `silent`), the object then Ready as `ready` says for its generation; "False" is a failure Flux
    stops retrying (Stalled), so the run does not wait for it."""

    def __init__(self, access: FakeAccess, clock: FakeClock, after: float = 1.0) -> None:
        self.access, self.clock, self.after = access, clock, after
        self.ready: dict[str, str] = {}  # name -> "True" | "False"
        self.silent: set[str] = set()
        access.on_request = self.request

    def request(self, ref: tuple[str, str, str, str], token: str, obj: dict[str, Any]) -> None:
        _, kind, namespace, name = ref
        if name in self.silent:
            return

        def handle() -> None:
            obj = self.access.objects[(kind, namespace, name)]
            status = obj["status"]
            status["lastHandledReconcileAt"] = token
            # as Flux: the answer is for the spec the controller saw
            status["observedGeneration"] = obj["metadata"]["generation"]
            ready = self.ready.get(name, "True")
            reason = "ReconciliationSucceeded" if ready == "True" else "ReconciliationFailed"
            status["conditions"] = [{"type": "Ready", "status": ready, "reason": reason, "message": "m"}]
            if ready == "False":
                status["conditions"].append(
                    {"type": "Stalled", "status": "True", "reason": reason, "message": "m"}
                )
            status["lastAppliedRevision"] = "main@sha1:abc"

        self.clock.after(self.after, handle)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(reconcile_module, "time", fake)
    return fake


@pytest.fixture
def cluster(clock: FakeClock) -> tuple[FakeAccess, Controllers]:
    access = FakeAccess(*(flux_object(ref) for wave in WAVES for ref in wave))
    return access, Controllers(access, clock)


def test_every_wave_is_reconciled_in_order_when_each_is_ready(
    cluster: tuple[FakeAccess, Controllers],
) -> None:
    access, _ = cluster
    said: list[str] = []
    done = reconcile(access, WAVES, timeout=60, progress=said.append)  # type: ignore[arg-type]
    assert access.requests == [SOURCE, KUSTOMIZATION, PORTAL, LOGIN]
    assert [(r.status.ref, r.status.ready, r.seconds) for r in done] == [
        ("GitRepository flux-system/flux-system", "True", 1.0),
        ("Kustomization flux-system/portal", "True", 1.0),
        ("HelmRelease demo/eoepca-portal", "True", 1.0),
        ("HelmRelease um/login", "True", 1.0),
    ]
    assert said == [
        "reconciling GitRepository flux-system/flux-system",
        "GitRepository flux-system/flux-system: Ready",
        "reconciling Kustomization flux-system/portal",
        "Kustomization flux-system/portal: Ready main@sha1:abc",
        "reconciling HelmRelease demo/eoepca-portal, HelmRelease um/login",
        "HelmRelease demo/eoepca-portal: Ready main@sha1:abc",
        "HelmRelease um/login: Ready main@sha1:abc",
    ]
    annotations = access.objects[("HelmRelease", "um", "login")]["metadata"]["annotations"]
    assert (
        annotations[REQUESTED_AT]
        == access.objects[("HelmRelease", "um", "login")]["status"]["lastHandledReconcileAt"]
    )


def test_a_wave_not_ready_stops_the_next_ones(cluster: tuple[FakeAccess, Controllers]) -> None:
    access, controllers = cluster
    controllers.ready["portal"] = "False"
    done = reconcile(access, WAVES, timeout=60)  # type: ignore[arg-type]
    assert access.requests == [SOURCE, KUSTOMIZATION]  # its HelmReleases would be asked for nothing
    assert [(r.status.name, r.status.ready, r.status.reason) for r in done] == [
        ("flux-system", "True", "ReconciliationSucceeded"),
        ("portal", "False", "ReconciliationFailed"),
    ]


def test_one_object_not_ready_in_a_wave_stops_the_next_after_the_whole_wave(
    cluster: tuple[FakeAccess, Controllers],
) -> None:
    access, controllers = cluster
    controllers.ready["eoepca-portal"] = "False"
    done = reconcile(access, [[PORTAL, LOGIN], [SOURCE]], timeout=60)  # type: ignore[arg-type]
    assert [r.status.name for r in done] == ["eoepca-portal", "login"]
    assert access.requests == [PORTAL, LOGIN]


def test_the_controllers_answer_is_waited_for_polling_without_asking_again(
    cluster: tuple[FakeAccess, Controllers], clock: FakeClock
) -> None:
    access, controllers = cluster
    controllers.after = 2.2
    done = reconcile(access, [[SOURCE], [KUSTOMIZATION]], timeout=60, poll=0.5)  # type: ignore[arg-type]
    assert access.requests == [SOURCE, KUSTOMIZATION]
    assert clock.slept == [0.5] * 10  # 2.5 s per wave: the answer is seen at the first poll after it
    assert [r.seconds for r in done] == [2.5, 2.5]
    assert len(access.reads) == 12


def test_an_answer_to_an_earlier_request_is_not_this_one(cluster: tuple[FakeAccess, Controllers]) -> None:
    access, _ = cluster
    access.objects[("GitRepository", "flux-system", "flux-system")]["status"] = {
        "lastHandledReconcileAt": "2026-11-29T00:00:00.000000Z",
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    done = reconcile(access, [[SOURCE]], timeout=60)  # type: ignore[arg-type]
    assert done[0].seconds == 1.0  # waited for its own request


def test_a_controller_that_never_answers_times_out_naming_what_it_waited_for(
    cluster: tuple[FakeAccess, Controllers], clock: FakeClock
) -> None:
    access, controllers = cluster
    controllers.silent = {"login"}
    with pytest.raises(GitopsError) as exc:
        reconcile(access, WAVES, timeout=30, poll=0.5)  # type: ignore[arg-type]
    assert str(exc.value) == (
        "timed out after 30 s waiting for HelmRelease um/login"
        " (ReconcileRequested: its controller has not handled the reconcile request yet)"
    )
    # one deadline for the whole run: the first waves took 2 of its 30 s
    assert 30.0 < clock.now - 1000.0 <= 30.5


def test_the_timeout_is_for_the_whole_run(cluster: tuple[FakeAccess, Controllers], clock: FakeClock) -> None:
    access, controllers = cluster
    controllers.after = 20
    with pytest.raises(GitopsError, match="waiting for Kustomization flux-system/portal"):
        reconcile(access, WAVES, timeout=30, poll=1)  # type: ignore[arg-type]
    assert clock.now - 1000.0 == 31.0


def test_an_object_not_in_the_cluster_says_to_run_pulumi_up(cluster: tuple[FakeAccess, Controllers]) -> None:
    access, _ = cluster
    missing: FluxObject = ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "demo", "gone")
    access.on_request = lambda *_: None
    access.objects[("HelmRelease", "demo", "gone")] = flux_object(missing)
    real = access.get

    def get(*ref: str) -> dict[str, Any] | None:
        return None if ref[3] == "gone" else real(*ref)

    access.get = get  # type: ignore[method-assign, assignment]
    with pytest.raises(GitopsError) as exc:
        reconcile(access, [[missing]], timeout=30)  # type: ignore[arg-type]
    assert str(exc.value) == "HelmRelease demo/gone is not in the cluster: run pulumi up first"


def test_no_wave_is_nothing_to_do(cluster: tuple[FakeAccess, Controllers], clock: FakeClock) -> None:
    access, _ = cluster
    assert reconcile(access, [], timeout=1) == []  # type: ignore[arg-type]
    assert (access.requests, clock.slept) == ([], [])


@pytest.mark.parametrize(
    ("obj", "answered"),
    [
        (None, False),
        ({}, False),
        ({"status": "weird"}, False),
        ({"status": {}}, False),
        ({"status": {"lastHandledReconcileAt": "other"}}, False),
        ({"status": {"lastHandledReconcileAt": "token"}}, True),
    ],
)
def test_handled_is_the_answer_to_this_request(obj: dict[str, object] | None, answered: bool) -> None:
    assert handled(obj, "token") is answered
