"""`eoepca-gitops status`: each stack the poller keeps, from its state file or ConfigMap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from eoepca_gitops.cli.common import reported
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.model import defaults
from eoepca_gitops.poller.state import StackState, StateStore, decode

__all__ = ["status"]

_COLOURS = {"synced": "green", "applying": "cyan", "drifted": "yellow", "failed": "red", "stalled": "red"}


def _read(
    state_file: Path, state_configmap: str | None, kube_namespace: str | None
) -> tuple[str, dict[str, StackState]]:
    if state_configmap:
        from eoepca_gitops.poller.kube import KUBE_ERRORS, ConfigMapBackend, kube_client, pod_namespace

        try:
            backend = ConfigMapBackend(kube_client(), pod_namespace(kube_namespace), state_configmap)
            raw = backend.load()
        except (*KUBE_ERRORS, ValueError) as exc:
            raise GitopsError(f"configmap {state_configmap}: {exc}") from None
        if raw is None:
            raise GitopsError(f"{backend.describe()}: no state saved yet")
        return backend.describe(), decode(raw)
    if not state_file.exists():
        raise GitopsError(
            f"{state_file}: no state file (has `eoepca-gitops poll` run with this --state-file?)"
        )
    try:
        return str(state_file), StateStore.read(state_file)
    except (ValueError, KeyError, TypeError) as exc:
        raise GitopsError(f"{state_file}: unreadable state: {exc}") from None


@reported
def status(
    state_file: Annotated[Path, typer.Option(help="The poller's state file.")] = Path(
        defaults.POLLER_STATE_FILE
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the state file's stacks as JSON.")] = False,
    state_configmap: Annotated[
        str | None, typer.Option(help="Read the state from this ConfigMap ($KUBECONFIG's cluster).")
    ] = None,
    kube_namespace: Annotated[str | None, typer.Option(help="Namespace of that ConfigMap.")] = None,
) -> None:
    """Show each stack: revision in Git, revision applied, state, last error."""
    where, states = _read(state_file, state_configmap, kube_namespace)
    if as_json:
        typer.echo(json.dumps({n: s.to_json() for n, s in sorted(states.items())}, indent=2, sort_keys=True))
        return
    table = Table(title=f"stacks ({where})")
    for col in ("stack", "revision in Git", "revision applied", "state", "last error"):
        table.add_column(col, overflow="fold")
    for name, s in sorted(states.items()):
        ph = str(s.phase)
        detail = s.last_error or ("; ".join(f"note: {n}" for n in s.notes) if s.notes else "")
        if s.phase.value == "stalled" and s.conditions:
            detail = f"{s.conditions[2].message}; last error: {detail}"
        if s.phase.value == "drifted" and s.conditions:
            detail = s.conditions[0].message
        table.add_row(
            Text(name),
            (s.git_revision or "-")[:12],
            (s.applied_revision or "-")[:12],
            Text(ph, style=_COLOURS.get(ph, "white")),
            Text(detail),
        )
    Console(width=200).print(table)
