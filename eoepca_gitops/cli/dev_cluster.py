"""`eoepca-gitops dev-cluster up|down|status|charts`: the local cluster tests and demos run against."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eoepca_gitops.cli.common import reported, say, show
from eoepca_gitops.devcluster import DevCluster, default_state_dir
from eoepca_gitops.project import find_project

app = typer.Typer(
    help="A local Kubernetes cluster on 127.0.0.1 from the binaries scripts/tools.sh builds: etcd, "
    "kube-apiserver, controller manager, scheduler, a kwok fake node, a Git server (smart HTTP) for "
    "this project's repository, a chart repository of stand-in charts, and the real Flux controllers.",
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
    flux: Annotated[
        bool,
        typer.Option(
            help="Run the real Flux controllers (the default: every feature is tested against them); "
            "--no-flux gives the API server alone, where the Flux Deployments stay fake pods."
        ),
    ] = True,
    git_repo: Annotated[
        Path | None,
        typer.Option(help="The Git repository the local Git server serves (default: this project's)."),
    ] = None,
) -> None:
    """Start the cluster (or find it running); print the kubeconfig path, the Git URL and an export line."""
    info = _cluster(state_dir).up(timeout=timeout, flux=flux, git_repo=git_repo)
    show(f"kubeconfig: {info.kubeconfig}")
    show(f"server: {info.server}")
    show(f"git: {info.git_url} (serves {info.git_repo})")
    show(f"charts: {info.charts_url}")
    show(f"export KUBECONFIG={info.kubeconfig}")


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
    show(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
@reported
def status(state_dir: StateDir = None) -> None:
    """Show each part and each Flux controller (exit 0 when every process `up` started runs and
    the API server is ready, else 1; a controller waiting for the stack's CRDs is not a failure)."""
    cluster = _cluster(state_dir)
    components, ready = cluster.status()
    info = cluster.info()
    for c in components:
        state = f"running (pid {c.pid})" if c.running else (c.detail or "stopped")
        port = f"127.0.0.1:{c.port}" if c.port else "-"
        show(f"{c.name:<25} {port:<17} {state}")
    if info is not None:
        show(f"api server: {info.server} ({'ready' if ready else 'not ready'})")
        show(f"kubeconfig: {info.kubeconfig}")
        show(f"git: {info.git_url} (serves {info.git_repo})")
    waiting = {c.name for c in components if not c.running and c.detail}
    if not (ready and all(c.running for c in components if c.name not in waiting)):
        raise typer.Exit(1)


@app.command()
@reported
def charts(
    state_dir: StateDir = None,
    project: Annotated[
        Path | None, typer.Option(help="Project whose blocks and stacks name the charts (default: nearest).")
    ] = None,
) -> None:
    """Write the stand-in charts for every chart version the project's blocks and stack overrides name
    into the local chart repository (`up` does it for the served repository)."""
    _cluster(state_dir).publish_charts(find_project(project))
