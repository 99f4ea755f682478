"""`eoepca-gitops poll`: the poller, also the in-cluster container's entry point.

    eoepca-gitops poll --repo URL --branch main --project-dir . --stack creodias [--stack minikube] \
        --interval 10s --drift-interval 10m --drift-mode detect --state-file .state/poller/state.json \
        --listen 127.0.0.1:9464

`--once` runs one round (read the branch, update or check what is due, wait for it) and exits: 0
when every stack is synced, 1 when one is not (CI, a cron job).

In the cluster (the Poller component's Deployment) the state lives in a ConfigMap
(`--state-configmap NAME`) and, with several replicas, `--lease NAME` lets only the holder of a
coordination.k8s.io Lease update; the others stand by and take over when it stops.

The state backend, passphrase and cloud credentials come from the environment, as for `pulumi`
(PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, AWS_*). Exit codes: 0 ok, 1 lease lost (or, with
--once, a stack not synced), 2 error; what makes the command fail to start (an option, the state
file) is one `error:` line before any log line.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import signal
import threading
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from eoepca_gitops.cli.common import duration, reported
from eoepca_gitops.credentials import plain_credential
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import write_file
from eoepca_gitops.model import defaults
from eoepca_gitops.model.types import parse_duration
from eoepca_gitops.poller.conditions import Phase
from eoepca_gitops.poller.decide import DriftMode, Policy
from eoepca_gitops.poller.log import configure, log_event
from eoepca_gitops.poller.state import StateStore
from eoepca_gitops.runs import Run, tied_to_this_process

__all__ = ["poll"]


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


def _listen(value: str) -> str:
    """--listen checked as the command reads it: HOST:PORT or off."""
    from eoepca_gitops.poller.metrics import parse_listen

    if value != "off":
        try:
            parse_listen(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


def _duration(help_: str, default: str) -> Any:
    """A duration option (seconds as float) whose --help shows the default as written."""
    return typer.Option(parser=duration, help=help_, show_default=default)


def _tied_pulumi(work: Path, pulumi: Path | None) -> Path | None:
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


@reported
def poll(
    repo: Annotated[str, typer.Option(help="Git URL of the configuration repository.")],
    stack: Annotated[list[str], typer.Option("--stack", help="Stack to keep applied (repeatable).")],
    branch: Annotated[str, typer.Option(help="Branch to track.")] = defaults.POLLER_BRANCH,
    project_dir: Annotated[str, typer.Option(help="Folder of Pulumi.yaml inside the repository.")] = ".",
    interval: Annotated[
        float, _duration("How often to ls-remote the branch.", defaults.POLLER_INTERVAL)
    ] = parse_duration(defaults.POLLER_INTERVAL),
    drift_interval: Annotated[
        float, _duration("Refresh-preview period per stack; 0 disables.", defaults.POLLER_DRIFT_INTERVAL)
    ] = parse_duration(defaults.POLLER_DRIFT_INTERVAL),
    drift_mode: Annotated[DriftMode, typer.Option(help="detect: report only; correct: run up.")] = DriftMode(
        defaults.POLLER_DRIFT_MODE
    ),
    state_file: Annotated[Path, typer.Option(help="Where per-stack state persists.")] = Path(
        defaults.POLLER_STATE_FILE
    ),
    work_dir: Annotated[
        Path | None, typer.Option(help="Git cache and worktrees (default: beside the state file).")
    ] = None,
    listen: Annotated[
        str,
        typer.Option(
            callback=_listen,
            help="HOST:PORT (an IPv6 address in brackets) for /healthz /readyz /metrics; 'off' to disable.",
        ),
    ] = defaults.POLLER_LISTEN,
    max_parallel: Annotated[
        int, typer.Option(min=1, help="Stacks updated at the same time.")
    ] = defaults.POLLER_MAX_PARALLEL,
    backoff_base: Annotated[
        float, _duration("First retry delay after a failure.", defaults.POLLER_BACKOFF_BASE)
    ] = parse_duration(defaults.POLLER_BACKOFF_BASE),
    backoff_cap: Annotated[
        float, _duration("Longest retry delay.", defaults.POLLER_BACKOFF_CAP)
    ] = parse_duration(defaults.POLLER_BACKOFF_CAP),
    stall_after: Annotated[
        int, typer.Option(min=1, help="Failures on one revision before Stalled.")
    ] = defaults.POLLER_STALL_AFTER,
    grace: Annotated[
        float, _duration("On SIGTERM, wait this long for a running update.", defaults.POLLER_GRACE)
    ] = parse_duration(defaults.POLLER_GRACE),
    pulumi: Annotated[Path | None, typer.Option(help="The pulumi binary (default: from PATH).")] = None,
    log_level: Annotated[LogLevel, typer.Option(case_sensitive=False, help="Log level.")] = LogLevel.INFO,
    state_configmap: Annotated[
        str | None, typer.Option(help="Keep the state in this ConfigMap instead of --state-file.")
    ] = None,
    lease: Annotated[
        str | None, typer.Option(help="Update only while holding this Lease (several replicas).")
    ] = None,
    kube_namespace: Annotated[
        str | None,
        typer.Option(help="Namespace of the ConfigMap and Lease (default: $POD_NAMESPACE, the pod's)."),
    ] = None,
    lease_duration: Annotated[
        float, _duration("How long a Lease lasts without renewal.", defaults.POLLER_LEASE_DURATION)
    ] = parse_duration(defaults.POLLER_LEASE_DURATION),
    once: Annotated[
        bool, typer.Option("--once", help="One round, then exit: 0 every stack synced, 1 one is not.")
    ] = False,
) -> None:
    """Poll a Git branch and keep Pulumi stacks at its head; detect or correct drift."""
    from eoepca_gitops.poller.loop import LoopConfig, PollLoop
    from eoepca_gitops.poller.metrics import HealthServer, Metrics, parse_listen
    from eoepca_gitops.poller.source import Checkout, RemoteBranch

    kind = plain_credential(repo)
    if kind:
        raise GitopsError(
            f"--repo: holds credentials in plain text ({kind}): let git find them (a credential helper, "
            "an ssh key), never in the URL"
        )
    try:
        policy = Policy(
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            stall_after=stall_after,
            drift_interval=drift_interval,
            drift_mode=drift_mode,
        )
        config = LoopConfig(
            stacks=tuple(stack), interval=interval, policy=policy, max_workers=max_parallel, grace=grace
        )
        source = RemoteBranch(repo, branch)
        listen_at = None if listen == "off" else parse_listen(listen)
    except ValueError as exc:
        raise GitopsError(str(exc)) from None

    from eoepca_gitops.poller.automation import AutomationSettings, StackAutomation

    # A state file that cannot be read stops the command before it logs or serves anything.
    local_store = StateStore(state_file) if not state_configmap else None
    work = work_dir or state_file.parent / "work"
    if pulumi is not None and not pulumi.is_file():
        raise GitopsError(f"--pulumi {pulumi}: no such file")
    run = Run.new("poller")
    settings = AutomationSettings(
        project_dir=project_dir, env=run.variables, pulumi_root=_tied_pulumi(work, pulumi)
    )
    configure(log_level)
    metrics = Metrics()
    stop = threading.Event()
    elector = None
    kube = None
    namespace = ""
    if state_configmap or lease:
        from eoepca_gitops.kube.client import kube_client, pod_namespace
        from eoepca_gitops.kube.lease import LeaseElector

        try:
            kube = kube_client()
        except GitopsError as exc:
            raise GitopsError(f"--state-configmap/--lease: {exc}") from None
        namespace = pod_namespace(kube_namespace)
        if lease:
            try:
                elector = LeaseElector(kube, namespace, lease, duration=lease_duration, log=log_event)
            except ValueError as exc:
                raise GitopsError(f"--lease-duration: {exc}") from None
    holder: dict[str, PollLoop] = {}

    def healthy() -> bool:
        loop = holder.get("loop")
        return True if loop is None else loop.healthy()  # a standby is healthy while it waits

    def ready() -> bool:
        loop = holder.get("loop")
        return elector is not None if loop is None else loop.ready()

    server: HealthServer | None = None
    if listen_at is not None:
        try:
            server = HealthServer(*listen_at, metrics, healthy, ready)
        except OSError as exc:
            raise GitopsError(f"--listen {listen}: {exc}") from None
        server.start()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log_event("signal", signal=signal.Signals(signum).name, grace=config.grace)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log_event(
        "started",
        repo=repo,  # poll refuses a --repo with credentials
        branch=branch,
        project_dir=project_dir,
        stacks=list(stack),
        interval=config.interval,
        drift_interval=policy.drift_interval,
        drift_mode=str(policy.drift_mode),
        state=f"configmap {namespace}/{state_configmap}" if state_configmap else str(state_file),
        lease=f"{namespace}/{lease}" if lease else None,
        listen=None if server is None else "{}:{}".format(*server.address),
    )
    lost_leadership = False
    all_synced = True
    try:
        if elector is not None:
            elector.start(stop)
            log_event("waiting-for-lease", lease=f"{namespace}/{lease}", identity=elector.identity)
            while not stop.is_set() and not elector.leader.wait(0.2):
                pass
            if stop.is_set():
                return

            def watch_leadership() -> None:
                elector.lost.wait()
                if not stop.is_set():
                    nonlocal lost_leadership
                    lost_leadership = True
                    stop.set()

            threading.Thread(target=watch_leadership, name="lease-watch", daemon=True).start()
        if state_configmap:
            from eoepca_gitops.kube.client import KUBE_ERRORS
            from eoepca_gitops.kube.state_configmap import ConfigMapBackend

            assert kube is not None
            try:
                store = StateStore(ConfigMapBackend(kube, namespace, state_configmap, log=log_event))
            except (*KUBE_ERRORS, ValueError) as exc:
                raise GitopsError(
                    f"reading the state ConfigMap {namespace}/{state_configmap}: {exc}"
                ) from None
        else:
            assert local_store is not None
            store = local_store
        # Built only now: a standby that becomes leader reads the state its predecessor left.
        loop = PollLoop(
            config,
            source,
            Checkout(repo, branch, work / "git"),
            {s: StackAutomation(s, settings) for s in stack},
            store,
            metrics,
        )
        holder["loop"] = loop
        loop.run(stop, once=once)
        if once and stop.is_set():
            raise KeyboardInterrupt  # Ctrl-C or SIGTERM cut the one round short: updates were cancelled
        all_synced = not once or all(store.get(s).phase is Phase.SYNCED for s in stack)
        flush = getattr(store.backend, "flush", None)
        if flush is not None:  # a ConfigMap write that failed is tried once more
            flush()
    finally:
        if elector is not None:
            elector.release()
        if server is not None:
            server.stop()
        # The loop waited for its updates and cancelled them: what is left of them now goes.
        if left := run.stop():
            log_event("stopped-leftovers", logging.WARNING, processes=left)
    if lost_leadership:
        log_event("exiting", logging.WARNING, reason="lease lost; another replica updates now")
        raise typer.Exit(1)
    if not all_synced:
        raise typer.Exit(1)
