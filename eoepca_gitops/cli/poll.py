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

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from eoepca_gitops.cli.common import duration, reported
from eoepca_gitops.model import defaults
from eoepca_gitops.model.types import parse_duration
from eoepca_gitops.poller.decide import DriftMode

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
    rollback_after: Annotated[
        float,
        _duration("Roll a new revision not Ready this long back to the last good one; 0: off.", "0"),
    ] = 0.0,
    flux_events: Annotated[
        str | None,
        typer.Option(help="notification-controller's event address: automatic roll-backs told to Flux."),
    ] = None,
) -> None:
    """Poll a Git branch and keep Pulumi stacks at its head; detect or correct drift."""
    from eoepca_gitops.poller.service import PollerOptions, PollerService

    options = PollerOptions(
        repo=repo,
        stacks=tuple(stack),
        branch=branch,
        project_dir=project_dir,
        interval=interval,
        drift_interval=drift_interval,
        drift_mode=drift_mode,
        state_file=state_file,
        work_dir=work_dir,
        listen=listen,
        max_parallel=max_parallel,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        stall_after=stall_after,
        grace=grace,
        pulumi=pulumi,
        log_level=log_level,
        state_configmap=state_configmap,
        lease=lease,
        kube_namespace=kube_namespace,
        lease_duration=lease_duration,
        once=once,
        rollback_after=rollback_after,
        flux_events=flux_events,
    )
    if code := PollerService(options).run():
        raise typer.Exit(code)
