"""LeaseElector's rules with an in-memory API (resourceVersion conflicts included) and a fake clock;
the same code against the real API server is in test_incluster.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from lightkube import ApiError
from lightkube.models.meta_v1 import Status
from lightkube.resources.coordination_v1 import Lease

from eoepca_gitops.kube.lease import LeaseElector
from eoepca_gitops.poller.log import log_event


def _error(code: int) -> ApiError:
    return ApiError(status=Status(code=code, message=str(code)))


class FakeApi:
    """get/create/replace of one Lease with optimistic concurrency, or an outage."""

    def __init__(self) -> None:
        self.lease: Lease | None = None
        self.version = 0
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("connection refused")

    def get(self, _res: Any, name: str, namespace: str) -> Lease:
        self._check()
        if self.lease is None:
            raise _error(404)
        return copy.deepcopy(self.lease)

    def create(self, obj: Lease) -> None:
        self._check()
        if self.lease is not None:
            raise _error(409)
        self.version += 1
        assert obj.metadata is not None
        obj.metadata.resourceVersion = str(self.version)
        self.lease = copy.deepcopy(obj)

    def replace(self, obj: Lease) -> None:
        self._check()
        assert self.lease is not None
        assert obj.metadata is not None and self.lease.metadata is not None
        if obj.metadata.resourceVersion != self.lease.metadata.resourceVersion:
            raise _error(409)
        self.version += 1
        assert obj.metadata is not None
        obj.metadata.resourceVersion = str(self.version)
        self.lease = copy.deepcopy(obj)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def elector(api: FakeApi, ident: str, clock: Clock) -> LeaseElector:
    return LeaseElector(api, "ns", "poller", ident, duration=10, renew_every=2, clock=clock, log=log_event)  # type: ignore[arg-type]


def holder(api: FakeApi) -> str | None:
    assert api.lease is not None and api.lease.spec is not None
    return api.lease.spec.holderIdentity


def test_first_takes_it_second_waits_until_the_holder_stops_renewing() -> None:
    api, clock = FakeApi(), Clock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    a.step()
    b.step()
    assert a.leader.is_set() and not b.leader.is_set() and holder(api) == "a"
    for _ in range(10):  # a renews every 2 s: b never sees the record unchanged for 10 s
        clock.t += 2
        a.step()
        b.step()
    assert a.leader.is_set() and not b.leader.is_set()
    clock.t += 9  # a stopped renewing; 9 s is not yet the duration on b's clock
    b.step()
    assert not b.leader.is_set()
    clock.t += 2
    b.step()
    assert b.leader.is_set() and holder(api) == "b"
    assert api.lease is not None and api.lease.spec is not None and api.lease.spec.leaseTransitions == 1
    a.step()  # a comes back: someone else holds it now, so it steps down at once
    assert not a.leader.is_set() and a.lost.is_set()


def test_release_hands_over_at_once() -> None:
    api, clock = FakeApi(), Clock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    a.step()
    b.step()
    a.release()
    assert holder(api) is None and not a.leader.is_set()
    b.step()  # no waiting for the duration
    assert b.leader.is_set() and holder(api) == "b"


def test_a_stale_write_loses_on_conflict() -> None:
    api, clock = FakeApi(), Clock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    a.step()
    stale = copy.deepcopy(api.lease)
    a.step()  # renews: resourceVersion moves on
    api_get = api.get
    api.get = lambda *_a, **_k: copy.deepcopy(stale)  # type: ignore[method-assign, assignment]
    clock.t += 11
    b.step()  # b saw an old record long enough, but its write carries the old resourceVersion
    api.get = api_get  # type: ignore[method-assign]
    assert not b.leader.is_set() and holder(api) == "a"


def test_outage_keeps_leadership_until_the_renew_deadline() -> None:
    api, clock = FakeApi(), Clock()
    a = elector(api, "a", clock)
    a.step()
    api.down = True
    clock.t += 4
    a.step()
    assert a.leader.is_set() and not a.lost.is_set()  # 4 s < 2/3 of 10 s
    clock.t += 3
    a.step()
    assert not a.leader.is_set() and a.lost.is_set()  # nobody may take over before 10 s anyway


def test_renew_every_must_be_shorter_than_the_duration() -> None:
    with pytest.raises(ValueError, match="renew_every"):
        LeaseElector(FakeApi(), "ns", "l", "a", duration=5, renew_every=5, log=log_event)  # type: ignore[arg-type]
