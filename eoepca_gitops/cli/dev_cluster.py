"""`eoepca-gitops dev-cluster up|down|status`: the local Kubernetes cluster tests and demos run against."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eoepca_gitops.cli.common import reported, say
from eoepca_gitops.devcluster import DevCluster, default_state_dir

app = typer.Typer(
    help="A local Kubernetes cluster (etcd, kube-apiserver, controller manager, scheduler, kwok "
    "fake node) on 127.0.0.1, from the binaries scripts/tools.sh builds.",
    no_args_is_help=True,
)

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Certificates, kubeconfig, etcd data, logs and pid files "
        "(default <repo>/.state/dev-cluster, or EOEPCA_DEV_CLUSTER_DIR).",
    ),
]


def _cluster(state_dir: Path | None) -> DevCluster:
    return DevCluster(state_dir or default_state_dir(), progress=say)


@app.command()
@reported
def up(
    state_dir: StateDir = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the cluster to be ready.")] = 90.0,
) -> None:
    """Start the cluster (or find it running); print the kubeconfig path and an export line."""
    info = _cluster(state_dir).up(timeout=timeout)
    typer.echo(f"kubeconfig: {info.kubeconfig}")
    typer.echo(f"server: {info.server}")
    typer.echo(f"export KUBECONFIG={info.kubeconfig}")


@app.command()
@reported
def down(
    state_dir: StateDir = None,
    purge: Annotated[
        bool, typer.Option(help="Also delete the state folder (etcd data, certificates, kubeconfig).")
    ] = False,
) -> None:
    """Stop the processes `up` started (from their pid files)."""
    stopped = _cluster(state_dir).down(purge=purge)
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
@reported
def status(state_dir: StateDir = None) -> None:
    """Show which components run (exit 0 when all run and the API server is ready, else 1)."""
    cluster = _cluster(state_dir)
    components, ready = cluster.status()
    info = cluster.info()
    for c in components:
        state = f"running (pid {c.pid})" if c.running else "stopped"
        port = f"127.0.0.1:{c.port}" if c.port else "-"
        typer.echo(f"{c.name:<25} {state:<22} {port}")
    if info is not None:
        typer.echo(f"api server: {info.server} ({'ready' if ready else 'not ready'})")
        typer.echo(f"kubeconfig: {info.kubeconfig}")
    if not (ready and all(c.running for c in components)):
        raise typer.Exit(1)
