"""`eoepca-gitops status`: one view of a cluster's two layers, or of the poller's stacks.

    eoepca-gitops status --stack creodias [--preview] [--json]   # the stack and what Flux does with it
    eoepca-gitops status --stack local --serve 127.0.0.1:9470    # the same as a page, refreshed
    eoepca-gitops status --stack local --watch [--until-ready]   # printed again each time it changes
    eoepca-gitops status --state-file .state/poller/state.json   # the stacks a local poller keeps

Exit codes with --stack: 0 every object Ready, 1 something is not, 2 the cluster cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from eoepca_gitops.cli.common import (
    AsJson,
    Format,
    Output,
    duration,
    err,
    load,
    reported,
    say,
    show_data,
    shown,
    stdout_console,
)
from eoepca_gitops.credentials import redact_value
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.model import defaults
from eoepca_gitops.operations.status import ClusterStatus
from eoepca_gitops.poller.state import StackState, StateStore, decode
from eoepca_gitops.project import find_project

__all__ = ["status"]


def _text(text: str, style: str = "") -> Text:
    """What the terminal shows of user or cluster text (cli.common.shown)."""
    return Text(shown(text), style=style)


_COLOURS = {"synced": "green", "applying": "cyan", "drifted": "yellow", "failed": "red", "stalled": "red"}
_READY = {"True": "green", "False": "red", "Unknown": "yellow", "Missing": "red", "Suspended": "yellow"}


def _read_poller_state(
    state_file: Path, state_configmap: str | None, kube_namespace: str | None
) -> tuple[str, dict[str, StackState]]:
    if state_configmap:
        from eoepca_gitops.kube.client import KUBE_ERRORS, kube_client, pod_namespace
        from eoepca_gitops.kube.state_configmap import ConfigMapBackend
        from eoepca_gitops.poller.log import log_event

        try:
            backend = ConfigMapBackend(
                kube_client(), pod_namespace(kube_namespace), state_configmap, log=log_event
            )
            raw = backend.load()
        except (*KUBE_ERRORS, GitopsError) as exc:
            raise GitopsError(f"configmap {state_configmap}: {exc}") from None
        if raw is None:
            raise GitopsError(f"{backend.describe()}: no state saved yet")
        try:
            return backend.describe(), decode(raw)
        except ValueError as exc:
            raise GitopsError(f"{backend.describe()}: unreadable state: {exc}") from None
    if not state_file.exists():
        raise GitopsError(
            f"{state_file}: no state file (has `eoepca-gitops poll` run with this --state-file?)"
        )
    return str(state_file), StateStore.read(state_file)


def _poller_table(where: str, states: dict[str, StackState]) -> None:
    table = Table(title=_text(f"stacks ({where})"))
    for col in (
        "stack",
        "revision in Git",
        "revision applied",
        "last good",
        "held at",
        "state",
        "last error",
    ):
        table.add_column(col, overflow="fold")
    for name, s in sorted(states.items()):
        ph = str(s.phase)
        detail = s.last_error or ("; ".join(f"note: {n}" for n in s.notes) if s.notes else "")
        by_type = {str(c.type): c.message for c in s.conditions}
        if s.phase.value == "stalled":
            detail = f"{by_type.get('Stalled', '')}; last error: {detail}"
        if s.phase.value == "drifted":
            detail = by_type.get("Ready", "")
        table.add_row(
            _text(name),
            (s.git_revision or "-")[:12],
            (s.applied_revision or "-")[:12],
            (s.last_good_revision or "-")[:12],
            _text(f"{s.held_revision[:12]} ({s.held_reason})" if s.held_revision else "-", style="yellow"),
            _text(ph, style=_COLOURS.get(ph, "white")),
            _text(detail),
        )
    stdout_console().print(table)


def print_cluster_status(s: ClusterStatus, console: Console) -> None:
    layer = s.stack
    if layer.error:
        console.print(_text(f"stack {layer.name}: cannot tell: {layer.error}", style="yellow"))
    else:
        pending = "" if layer.pending is None else f"; pending: {dict(layer.pending) or 'nothing'}"
        at = layer.revision[:12] or "-"
        console.print(
            _text(
                f"stack {layer.name}: last update {layer.last_update or '-'} {layer.result} at {at}{pending}"
            )
        )
    if s.error:
        console.print(_text(f"cluster: cannot tell: {s.error}", style="red"))
        return
    up = sum(c.ok for c in s.controllers)
    console.print(_text(f"flux {s.flux_version}: {up}/{len(s.controllers)} controllers Ready"))
    for note in s.notes:
        console.print(_text(f"note: {note}", style="yellow"))
    if s.poller is not None:
        console.print(_text(f"poller: {json.dumps(dict(s.poller), sort_keys=True)}"))
    table = Table(show_lines=False)
    for col in ("component", "object", "ready", "reason", "revision", "since", "message"):
        table.add_column(col, overflow="fold")
    for component, o in s.rows:
        table.add_row(
            _text(component),
            _text(o.ref),
            _text(o.ready, style=_READY.get(o.ready, "white")),
            _text(o.reason),
            _text(o.revision[:40]),
            _text(o.since),
            _text(o.message[:300]),
        )
    console.print(table)


@reported
def status(
    stacks: Annotated[
        list[str] | None, typer.Option("--stack", "-s", help="Stack to show (repeatable with --serve).")
    ] = None,
    as_json: AsJson = False,
    output: Output = Format.text,
    preview: Annotated[bool, typer.Option(help="Also show what `pulumi up` would change (slower).")] = False,
    serve: Annotated[
        str | None, typer.Option(help="Serve a status page at HOST:PORT (read-only) instead of printing.")
    ] = None,
    project: Annotated[
        Path | None, typer.Option(help="Project folder (default: nearest Pulumi.yaml).")
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(help="A local poller's state file (default without --stack: its usual place)."),
    ] = None,
    state_configmap: Annotated[
        str | None, typer.Option(help="Read the poller state from this ConfigMap ($KUBECONFIG's cluster).")
    ] = None,
    kube_namespace: Annotated[str | None, typer.Option(help="Namespace of that ConfigMap.")] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Print it again each time it changes, until Ctrl-C.")
    ] = False,
    until_ready: Annotated[
        bool, typer.Option(help="With --watch: stop (exit 0) once every object is Ready.")
    ] = False,
    interval: Annotated[
        float, typer.Option(parser=duration, help="With --watch: how often to read it again.")
    ] = 5.0,
) -> None:
    """Show a stack and what Flux does with it: the last update, Flux and its controllers, the source,
    each block's Kustomization and HelmReleases (not Ready first, with the controller's message), and
    the poller's state. Without --stack: the stacks a poller keeps (its state file or ConfigMap)."""
    output = Format.json if as_json else output
    if not stacks:
        where, states = _read_poller_state(
            state_file or Path(defaults.POLLER_STATE_FILE), state_configmap, kube_namespace
        )
        if output is not Format.text:
            show_data(redact_value({n: s.to_json() for n, s in sorted(states.items())}), output)
        else:
            _poller_table(where, states)
        return
    project = find_project(project)
    if serve:
        from eoepca_gitops.operations.page import serve_status

        serve_status(serve, list(stacks), project, state_file, load=load, say=say)
        return
    if watch or until_ready:
        from eoepca_gitops.cli.status_watch import watch_status

        # One JSON document a line while it watches, whichever of json / yaml was asked.
        watch_status(list(stacks), project, output is not Format.text, state_file, interval, until_ready)
    from eoepca_gitops.kube.cluster import ClusterAccess
    from eoepca_gitops.operations.collect import collect

    results = []
    with err.status("reading the stack and the cluster ...") as spinner:

        def progress(message: str) -> None:
            spinner.update(_text(message))

        for name in stacks:
            prepared = load(name, project)
            access = ClusterAccess.for_stack(prepared.stack)  # no kubeconfig: one error line, before Pulumi
            results.append(
                collect(prepared.stack, prepared.manifests, project, preview=preview,
                        state_file=state_file, progress=progress, access=access)
            )  # fmt: skip
    if output is not Format.text:
        payload = [redact_value(r.to_json()) for r in results]
        show_data(payload[0] if len(payload) == 1 else payload, output)
    else:
        console = stdout_console()
        for r in results:
            print_cluster_status(r, console)
    raise typer.Exit(max(r.exit_code for r in results))
