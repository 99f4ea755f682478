"""`eoepca-gitops watch` (the poller, also the container entry point) and `eoepca-gitops status`.

    eoepca-gitops watch --repo URL --branch main --project-dir . --stack creodias [--stack minikube] \
        --interval 10s --drift-interval 10m --drift-mode detect --state-file .state/poller/state.json \
        --listen 127.0.0.1:9464
    eoepca-gitops status --state-file .state/poller/state.json

In the cluster (the Poller component's Deployment) the state lives in a ConfigMap
(`--state-configmap NAME`) and, with several replicas, `--lease NAME` lets only the holder of a
coordination.k8s.io Lease update; the others stand by and take over when it stops.

The state backend, passphrase and cloud credentials come from the environment, as for `pulumi`
(PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, AWS_*). Exit codes: 0 ok, 2 error.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from components.reconcile.decide import DriftMode, Policy
from components.reconcile.state import StateStore

__all__ = ["parse_duration", "status", "watch"]

DEFAULT_STATE = Path(".state/poller/state.json")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str) -> float:
    """'10s' -> 10.0, '10m' -> 600.0, '1.5h', '250ms'; a bare number is seconds."""
    m = _DURATION.match(value)
    if not m:
        raise typer.BadParameter(f"not a duration: {value!r} (use e.g. 10s, 10m, 1h)")
    return float(m[1]) * _UNITS[m[2] or "s"]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def watch(
    repo: Annotated[str, typer.Option(help="Git URL of the configuration repository.")],
    stack: Annotated[list[str], typer.Option("--stack", help="Stack to reconcile (repeatable).")],
    branch: Annotated[str, typer.Option(help="Branch to track.")] = "main",
    project_dir: Annotated[str, typer.Option(help="Folder of Pulumi.yaml inside the repository.")] = ".",
    interval: Annotated[str, typer.Option(help="How often to ls-remote the branch.")] = "10s",
    drift_interval: Annotated[
        str, typer.Option(help="Refresh-preview period per stack; 0 disables.")
    ] = "10m",
    drift_mode: Annotated[DriftMode, typer.Option(help="detect: report only; correct: run up.")] = (
        DriftMode.DETECT
    ),
    state_file: Annotated[Path, typer.Option(help="Where per-stack state persists.")] = DEFAULT_STATE,
    work_dir: Annotated[
        Path | None, typer.Option(help="Git cache and worktrees (default: beside the state file).")
    ] = None,
    listen: Annotated[
        str, typer.Option(help="HOST:PORT for /healthz /readyz /metrics; 'off' to disable.")
    ] = ("127.0.0.1:9464"),
    max_parallel: Annotated[int, typer.Option(help="Stacks updated at the same time.")] = 2,
    backoff_base: Annotated[str, typer.Option(help="First retry delay after a failure.")] = "10s",
    backoff_cap: Annotated[str, typer.Option(help="Longest retry delay.")] = "1h",
    stall_after: Annotated[int, typer.Option(help="Failures on one revision before Stalled.")] = 3,
    grace: Annotated[str, typer.Option(help="On SIGTERM, wait this long for a running update.")] = "60s",
    pulumi: Annotated[Path | None, typer.Option(help="The pulumi binary (default: from PATH).")] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING.")] = "INFO",
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
    lease_duration: Annotated[str, typer.Option(help="How long a Lease lasts without renewal.")] = "15s",
) -> None:
    """Poll a Git branch and keep Pulumi stacks at its head; detect or correct drift."""
    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format='{"time": "%(asctime)s", "level": "%(levelname)s", "log": %(message)s}',
    )
    try:
        policy = Policy(
            backoff_base=parse_duration(backoff_base),
            backoff_cap=parse_duration(backoff_cap),
            stall_after=stall_after,
            drift_interval=parse_duration(drift_interval),
            drift_mode=drift_mode,
        )
        from components.reconcile.loop import LoopConfig

        config = LoopConfig(
            stacks=tuple(stack),
            interval=parse_duration(interval),
            policy=policy,
            max_workers=max_parallel,
            grace=parse_duration(grace),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from exc

    from components.reconcile.loop import Reconciler, log_event
    from components.reconcile.metrics import HealthServer, Metrics, parse_listen
    from components.reconcile.runner import RunnerSettings, StackRunner
    from components.reconcile.source import Checkout, GitSource, redact_url

    work = work_dir or state_file.parent / "work"
    pulumi_root: Path | None = None
    if pulumi is not None:
        if not pulumi.is_file():
            raise _fail(f"--pulumi {pulumi}: no such file")
        pulumi_root = work / "pulumi-root"
        (pulumi_root / "bin").mkdir(parents=True, exist_ok=True)
        link = pulumi_root / "bin" / "pulumi"
        link.unlink(missing_ok=True)
        link.symlink_to(pulumi.resolve())
    try:
        source = GitSource(repo, branch)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    settings = RunnerSettings(project_dir=project_dir, pulumi_root=pulumi_root)
    metrics = Metrics()
    stop = threading.Event()
    elector = None
    kube = None
    namespace = ""
    if state_configmap or lease:
        from components.reconcile.kube import LeaseElector, kube_client, pod_namespace

        try:
            kube = kube_client()
        except Exception as exc:
            raise _fail(f"no Kubernetes configuration for --state-configmap/--lease: {exc}") from exc
        namespace = pod_namespace(kube_namespace)
        if lease:
            try:
                elector = LeaseElector(kube, namespace, lease, duration=parse_duration(lease_duration))
            except ValueError as exc:
                raise _fail(f"--lease-duration: {exc}") from exc
    holder: dict[str, Reconciler] = {}

    def healthy() -> bool:
        r = holder.get("r")
        return True if r is None else r.healthy()  # a standby is healthy while it waits

    def ready() -> bool:
        r = holder.get("r")
        return elector is not None if r is None else r.ready()

    server: HealthServer | None = None
    if listen != "off":
        try:
            host, port = parse_listen(listen)
            server = HealthServer(host, port, metrics, healthy, ready)
        except (ValueError, OSError) as exc:
            raise _fail(f"--listen {listen}: {exc}") from exc
        server.start()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log_event("signal", signal=signal.Signals(signum).name, grace=config.grace)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log_event(
        "started",
        repo=redact_url(repo),
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
            from components.reconcile.kube import ConfigMapBackend

            assert kube is not None
            try:
                store = StateStore(ConfigMapBackend(kube, namespace, state_configmap))
            except Exception as exc:
                raise _fail(f"reading the state ConfigMap {namespace}/{state_configmap}: {exc}") from exc
        else:
            store = StateStore(state_file)
        # Built only now: a standby that becomes leader reads the state its predecessor left.
        reconciler = Reconciler(
            config,
            source,
            Checkout(repo, branch, work / "git"),
            {s: StackRunner(s, settings) for s in stack},
            store,
            metrics,
        )
        holder["r"] = reconciler
        reconciler.run(stop)
        flush = getattr(store.backend, "flush", None)
        if flush is not None:  # a ConfigMap write that failed is tried once more
            flush()
    finally:
        if elector is not None:
            elector.release()
        if server is not None:
            server.stop()
    if lost_leadership:
        log_event("exiting", logging.WARNING, reason="lease lost; another replica updates now")
        raise typer.Exit(1)


def status(
    state_file: Annotated[Path, typer.Option(help="The watch command's state file.")] = DEFAULT_STATE,
    as_json: Annotated[bool, typer.Option("--json", help="Print the state file's stacks as JSON.")] = False,
    state_configmap: Annotated[
        str | None, typer.Option(help="Read the state from this ConfigMap ($KUBECONFIG's cluster).")
    ] = None,
    kube_namespace: Annotated[str | None, typer.Option(help="Namespace of that ConfigMap.")] = None,
) -> None:
    """Show each stack: revision in Git, revision applied, state, last error."""
    if state_configmap:
        from components.reconcile.kube import ConfigMapBackend, kube_client, pod_namespace
        from components.reconcile.state import decode

        backend = ConfigMapBackend(kube_client(), pod_namespace(kube_namespace), state_configmap)
        try:
            raw = backend.load()
        except Exception as exc:
            raise _fail(f"{backend.describe()}: {exc}") from exc
        if raw is None:
            raise _fail(f"{backend.describe()}: no state saved yet")
        states = decode(raw)
        state_file = Path(backend.describe())
    elif not state_file.exists():
        raise _fail(f"{state_file}: no state file (has `eoepca-gitops watch` run with this --state-file?)")
    else:
        try:
            states = StateStore.read(state_file)
        except (ValueError, KeyError, TypeError) as exc:
            raise _fail(f"{state_file}: unreadable state: {exc}") from exc
    if as_json:
        typer.echo(json.dumps({n: s.to_json() for n, s in sorted(states.items())}, indent=2, sort_keys=True))
        return
    table = Table(title=f"stacks ({state_file})")
    for col in ("stack", "revision in Git", "revision applied", "state", "last error"):
        table.add_column(col, overflow="fold")
    colours = {"synced": "green", "applying": "cyan", "drifted": "yellow", "failed": "red", "stalled": "red"}
    for name, s in sorted(states.items()):
        ph = str(s.phase)
        detail = s.last_error or ("; ".join(f"note: {n}" for n in s.notes) if s.notes else "")
        if s.phase.value == "stalled" and s.conditions:
            detail = f"{s.conditions[2].message}; last error: {detail}"
        if s.phase.value == "drifted" and s.conditions:
            detail = s.conditions[0].message
        table.add_row(
            name,
            (s.git_revision or "-")[:12],
            (s.applied_revision or "-")[:12],
            f"[{colours.get(ph, 'white')}]{ph}[/]",
            detail,
        )
    Console(width=200).print(table)
