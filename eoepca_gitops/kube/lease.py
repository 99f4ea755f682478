"""A coordination.k8s.io Lease, so that of several replicas of the poller only one updates stacks.

The Lease follows client-go's leader election: a holder renews `renewTime` every `renew_every`
seconds; a candidate takes the Lease when the holder is empty or when it has seen the same record
unchanged for `duration` seconds on its own clock (no clock comparison between hosts). Every write
carries the resourceVersion read, so two candidates cannot both win: the loser gets 409 Conflict.
A holder that cannot renew for `renew_deadline` seconds steps down before anyone may take over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from lightkube import ApiError, Client
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

from eoepca_gitops.kube.client import KUBE_ERRORS, EventLog

__all__ = ["LeaseElector", "identity"]


def identity() -> str:
    """The pod name in the cluster; host and pid elsewhere (two local pollers differ)."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


class LeaseElector:
    def __init__(
        self,
        client: Client,
        namespace: str,
        name: str,
        ident: str | None = None,
        duration: float = 15.0,
        renew_every: float = 2.0,
        renew_deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        log: EventLog,
    ) -> None:
        if not 0 < renew_every < duration:
            raise ValueError("0 < renew_every < duration is required")
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = ident or identity()
        self.duration = duration
        self.renew_every = renew_every
        self.renew_deadline = renew_deadline if renew_deadline is not None else duration * 2 / 3
        self.clock = clock
        self.log = log
        self.leader = threading.Event()
        self.lost = threading.Event()
        self._observed: tuple[str | None, str | None] | None = None
        self._observed_at = 0.0
        self._last_renew = 0.0
        self._thread: threading.Thread | None = None

    # -- one attempt -------------------------------------------------------------------------------
    def try_acquire_or_renew(self) -> bool:
        now = datetime.now(UTC)
        try:
            lease = self.client.get(Lease, self.name, namespace=self.namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            try:
                self.client.create(
                    Lease(
                        metadata=ObjectMeta(name=self.name, namespace=self.namespace),
                        spec=LeaseSpec(
                            holderIdentity=self.identity,
                            leaseDurationSeconds=max(1, round(self.duration)),
                            acquireTime=now,
                            renewTime=now,
                            leaseTransitions=0,
                        ),
                    )
                )
            except ApiError as exc2:
                if exc2.status.code == 409:  # another candidate created it first
                    return False
                raise
            return True
        spec = lease.spec or LeaseSpec()
        holder = spec.holderIdentity or None
        record = (holder, spec.renewTime.isoformat() if spec.renewTime else None)
        mono = self.clock()
        if record != self._observed:
            self._observed, self._observed_at = record, mono
        if holder is not None and holder != self.identity:
            duration = float(spec.leaseDurationSeconds or self.duration)
            if mono - self._observed_at < duration:
                return False  # held, and renewed within its duration as far as we have seen
        if holder != self.identity:
            spec.acquireTime = now
            spec.leaseTransitions = (spec.leaseTransitions or 0) + (1 if holder else 0)
        spec.holderIdentity = self.identity
        spec.renewTime = now
        spec.leaseDurationSeconds = max(1, round(self.duration))
        lease.spec = spec
        try:
            self.client.replace(lease)  # carries resourceVersion: 409 if anyone wrote meanwhile
        except ApiError as exc:
            if exc.status.code == 409:
                return False
            raise
        return True

    # -- the loop ----------------------------------------------------------------------------------
    def step(self) -> None:
        """One acquire/renew attempt, updating `leader` and `lost`."""
        try:
            ok = self.try_acquire_or_renew()
            error = None
        except KUBE_ERRORS as exc:  # API server unreachable: not an answer either way
            ok, error = False, str(exc)[:300]
        now = self.clock()
        if ok:
            self._last_renew = now
            if not self.leader.is_set():
                self.leader.set()
                self.log("leader-elected", lease=f"{self.namespace}/{self.name}", identity=self.identity)
            return
        if self.leader.is_set() and (error is None or now - self._last_renew > self.renew_deadline):
            # Someone else holds it now, or we could not renew in time: stop updating at once.
            self.leader.clear()
            self.lost.set()
            self.log("leader-lost", logging.WARNING, lease=f"{self.namespace}/{self.name}", error=error)
        elif error is not None:
            self.log("lease-error", logging.WARNING, lease=f"{self.namespace}/{self.name}", error=error)

    def start(self, stop: threading.Event) -> None:
        def loop() -> None:
            while not stop.is_set() and not self.lost.is_set():
                self.step()
                stop.wait(self.renew_every)

        self._thread = threading.Thread(target=loop, name="lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Hands the Lease back (empty holder) so a standby takes over at once, not after `duration`."""
        if not self.leader.is_set():
            return
        self.leader.clear()
        try:
            lease = self.client.get(Lease, self.name, namespace=self.namespace)
            if lease.spec is None or lease.spec.holderIdentity != self.identity:
                return
            lease.spec.holderIdentity = None
            lease.spec.leaseDurationSeconds = 1
            lease.spec.renewTime = datetime.now(UTC)
            self.client.replace(lease)
            self.log("leader-released", lease=f"{self.namespace}/{self.name}", identity=self.identity)
        except KUBE_ERRORS as exc:
            self.log("lease-release-failed", logging.WARNING, error=str(exc)[:300])
