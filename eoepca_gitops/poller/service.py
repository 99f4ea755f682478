"""The poller as a service: what `eoepca-gitops poll` runs once its flags are read.

`PollerService(options)` checks the options and reads what must be readable before anything is
logged or served (the state file, the Kubernetes configuration); `run()` serves /healthz /readyz
/metrics, stops on SIGTERM or SIGINT, waits for the Lease when there is one, then runs the poll
loop and returns the exit code: 0 ok, 1 lease lost (or, with `once`, a stack not synced).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from eoepca_gitops.credentials import plain_credential
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import write_file
from eoepca_gitops.poller import webhook
from eoepca_gitops.poller.automation import AutomationSettings, StackAutomation
from eoepca_gitops.poller.conditions import Phase
from eoepca_gitops.poller.decide import DriftMode, Policy
from eoepca_gitops.poller.flux_event import FluxEvents
from eoepca_gitops.poller.flux_readiness import FluxReadiness
from eoepca_gitops.poller.hold import HoldStore, holds_configmap, holds_file
from eoepca_gitops.poller.log import configure, log_event
from eoepca_gitops.poller.loop import LoopConfig, PollLoop
from eoepca_gitops.poller.metrics import HealthServer, Metrics, parse_listen
from eoepca_gitops.poller.source import Checkout, RemoteBranch
from eoepca_gitops.poller.state import StateStore
from eoepca_gitops.runs import Run, tied_to_this_process

__all__ = ["PollerOptions", "PollerService", "tied_pulumi"]


@dataclass(frozen=True)
class PollerOptions:
    """What the poller is told (the `poll` command's flags, durations in seconds)."""

    repo: str
    stacks: tuple[str, ...]
    branch: str
    project_dir: str
    interval: float
    drift_interval: float
    drift_mode: DriftMode
    state_file: Path
    work_dir: Path | None
    listen: str  # HOST:PORT or "off"
    max_parallel: int
    backoff_base: float
    backoff_cap: float
    stall_after: int
    grace: float
    pulumi: Path | None
    log_level: str
    state_configmap: str | None
    lease: str | None
    kube_namespace: str | None
    lease_duration: float
    once: bool
    rollback_after: float = 0.0  # automatic roll-back deadline; 0: off
    flux_events: str | None = None  # notification-controller's event address: roll-backs told to Flux


def tied_pulumi(work: Path, pulumi: Path | None) -> Path | None:
    """A Pulumi root whose bin/pulumi runs `pulumi` (--pulumi, else the one on PATH) so that it is
    killed with the poller (runs.tied_to_this_process): a poller killed with SIGKILL leaves no update
    running, and the update's plugins end with it."""
    binary = str(pulumi.resolve()) if pulumi is not None else shutil.which("pulumi")
    if binary is None:
        return None  # the first operation reports it
    root = work / "pulumi-root"
    (root / "bin").mkdir(parents=True, exist_ok=True)
    script = root / "bin" / "pulumi"
    script.unlink(missing_ok=True)  # a link to the binary, as earlier versions made it
    write_file(
        script.parent,
        script.name,
        f'#!/bin/sh\nexec {shlex.join(tied_to_this_process([binary]))} "$@"\n',
        replace=True,
    )
    script.chmod(0o755)
    return root


class PollerService:
    """One run of the poller; built from checked options, nothing logged or served yet."""

    def __init__(self, options: PollerOptions) -> None:
        o = options
        kind = plain_credential(o.repo)
        if kind:
            raise GitopsError(
                f"--repo: holds credentials in plain text ({kind}): let git find them (a credential helper, "
                "an ssh key), never in the URL"
            )
        try:
            self.policy = Policy(
                backoff_base=o.backoff_base,
                backoff_cap=o.backoff_cap,
                stall_after=o.stall_after,
                drift_interval=o.drift_interval,
                drift_mode=o.drift_mode,
            )
            self.config = LoopConfig(
                stacks=o.stacks,
                interval=o.interval,
                policy=self.policy,
                max_workers=o.max_parallel,
                grace=o.grace,
                rollback_after=o.rollback_after,
            )
            self.source = RemoteBranch(o.repo, o.branch)
            self.listen_at = None if o.listen == "off" else parse_listen(o.listen)
        except ValueError as exc:
            raise GitopsError(str(exc)) from None
        self.options = o
        # A state file that cannot be read stops the command before it logs or serves anything.
        self.local_store = StateStore(o.state_file) if not o.state_configmap else None
        self.work = o.work_dir or o.state_file.parent / "work"
        if o.pulumi is not None and not o.pulumi.is_file():
            raise GitopsError(f"--pulumi {o.pulumi}: no such file")
        self.run_ = Run.new("poller")
        self.settings = AutomationSettings(
            project_dir=o.project_dir, env=self.run_.variables, pulumi_root=tied_pulumi(self.work, o.pulumi)
        )
        self.metrics = Metrics()
        self.stop = threading.Event()
        self.loop: PollLoop | None = None
        self.lost_leadership = False
        self._connect_kube()

    def _connect_kube(self) -> None:
        """The Kubernetes client, namespace and Lease elector when the state or a Lease lives there."""
        o = self.options
        self.kube = None
        self.elector = None
        self.namespace = ""
        if not (o.state_configmap or o.lease):
            return
        from eoepca_gitops.kube.client import kube_client, pod_namespace
        from eoepca_gitops.kube.lease import LeaseElector

        try:
            self.kube = kube_client()
        except GitopsError as exc:
            raise GitopsError(f"--state-configmap/--lease: {exc}") from None
        self.namespace = pod_namespace(o.kube_namespace)
        if o.lease:
            try:
                self.elector = LeaseElector(
                    self.kube, self.namespace, o.lease, duration=o.lease_duration, log=log_event
                )
            except ValueError as exc:
                raise GitopsError(f"--lease-duration: {exc}") from None

    def healthy(self) -> bool:
        return True if self.loop is None else self.loop.healthy()  # a standby is healthy while it waits

    def ready(self) -> bool:
        return self.elector is not None if self.loop is None else self.loop.ready()

    def _serve(self) -> HealthServer | None:
        if self.listen_at is None:
            return None
        try:
            server = HealthServer(*self.listen_at, self.metrics, self.healthy, self.ready, self._hook())
        except OSError as exc:
            raise GitopsError(f"--listen {self.options.listen}: {exc}") from None
        server.start()
        return server

    def _hook(self) -> Callable[[bytes, Mapping[str, str]], tuple[int, str]] | None:
        """The push webhook (poller.webhook), when its secret is in the environment."""
        secret = os.environ.get(webhook.SECRET_ENV, "").encode()
        if not secret:
            return None

        def hook(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
            said = webhook.answer(secret, body, headers, self.options.branch)
            if said.wake and self.loop is not None:
                self.loop.wake.set()
            log_event("webhook", status=said.status, result=said.text)
            return said.status, said.text

        return hook

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log_event("signal", signal=signal.Signals(signum).name, grace=self.config.grace)
        self.stop.set()

    def _log_start(self, server: HealthServer | None) -> None:
        o, ns = self.options, self.namespace
        log_event(
            "started",
            repo=o.repo,  # refused above when it holds credentials
            branch=o.branch,
            project_dir=o.project_dir,
            stacks=list(o.stacks),
            interval=self.config.interval,
            drift_interval=self.policy.drift_interval,
            drift_mode=str(self.policy.drift_mode),
            state=f"configmap {ns}/{o.state_configmap}" if o.state_configmap else str(o.state_file),
            lease=f"{ns}/{o.lease}" if o.lease else None,
            listen=None if server is None else "{}:{}".format(*server.address),
        )

    def _lead(self) -> bool:
        """Waits for the Lease (none: at once); false when stopped first. Losing it later stops the run."""
        elector = self.elector
        if elector is None:
            return True
        elector.start(self.stop)
        log_event(
            "waiting-for-lease", lease=f"{self.namespace}/{self.options.lease}", identity=elector.identity
        )
        while not self.stop.is_set() and not elector.leader.wait(0.2):
            pass
        if self.stop.is_set():
            return False

        def watch_leadership() -> None:
            elector.lost.wait()
            if not self.stop.is_set():
                self.lost_leadership = True
                self.stop.set()

        threading.Thread(target=watch_leadership, name="lease-watch", daemon=True).start()
        return True

    def _store(self) -> StateStore:
        name = self.options.state_configmap
        if not name:
            assert self.local_store is not None
            return self.local_store
        from eoepca_gitops.kube.client import KUBE_ERRORS
        from eoepca_gitops.kube.state_configmap import ConfigMapBackend

        assert self.kube is not None
        try:
            return StateStore(ConfigMapBackend(self.kube, self.namespace, name, log=log_event))
        except (*KUBE_ERRORS, ValueError) as exc:
            raise GitopsError(f"reading the state ConfigMap {self.namespace}/{name}: {exc}") from None

    def _holds(self) -> HoldStore:
        """Where `eoepca-gitops rollback` asks for holds: beside the state (poller.hold)."""
        name = self.options.state_configmap
        if not name:
            return HoldStore(holds_file(self.options.state_file))
        from eoepca_gitops.kube.state_configmap import ConfigMapBackend

        assert self.kube is not None
        return HoldStore(ConfigMapBackend(self.kube, self.namespace, holds_configmap(name), log=log_event))

    def _poll(self) -> bool:
        """Leads, then polls until stopped (one round with `once`); true when every stack is synced."""
        o = self.options
        if not self._lead():
            return True
        store = self._store()
        # Built only now: a standby that becomes leader reads the state its predecessor left.
        self.loop = PollLoop(
            self.config,
            self.source,
            Checkout(o.repo, o.branch, self.work / "git"),
            {s: StackAutomation(s, self.settings) for s in o.stacks},
            store,
            self.metrics,
            flux={s: FluxReadiness(s, o.project_dir) for s in o.stacks},
            holds=self._holds(),
            notify=FluxEvents(o.flux_events) if o.flux_events else None,
        )
        self.loop.run(self.stop, once=o.once)
        if o.once and self.stop.is_set():
            raise KeyboardInterrupt  # Ctrl-C or SIGTERM cut the one round short: updates were cancelled
        all_synced = not o.once or all(store.get(s).phase is Phase.SYNCED for s in o.stacks)
        flush = getattr(store.backend, "flush", None)
        if flush is not None:  # a ConfigMap write that failed is tried once more
            flush()
        return all_synced

    def run(self) -> int:
        """Serves, polls and cleans up; the exit code (0 ok, 1 lease lost or, with `once`, not synced)."""
        configure(self.options.log_level)
        server = self._serve()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self._log_start(server)
        try:
            all_synced = self._poll()
        finally:
            if self.elector is not None:
                self.elector.release()
            if server is not None:
                server.stop()
            # The loop waited for its updates and cancelled them: what is left of them now goes.
            if left := self.run_.stop():
                log_event("stopped-leftovers", logging.WARNING, processes=left)
        if self.lost_leadership:
            log_event("exiting", logging.WARNING, reason="lease lost; another replica updates now")
            return 1
        return 0 if all_synced else 1
