"""`eoepca-gitops events`: the Kubernetes Events of a stack's Flux objects, oldest first (`flux events`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from eoepca_gitops.cli.common import (
    Format,
    Output,
    Project,
    StackName,
    load,
    reported,
    show_data,
    shown,
    stdout_console,
)
from eoepca_gitops.operations.events import Event
from eoepca_gitops.project import find_project

__all__ = ["Block", "Kind", "Name", "Namespace", "events", "events_table"]

Block = Annotated[str | None, typer.Option("--block", "-b", help="Only this block's Flux objects.")]
Kind = Annotated[str | None, typer.Option(help="Only this Flux object: its kind (with --name).")]
Name = Annotated[str | None, typer.Option(help="Only this Flux object: its name (with --kind).")]
Namespace = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Its namespace (default: the stack's object's).")
]


def events_table(found: Sequence[Event]) -> Table:
    table = Table(show_lines=False)
    for col in ("last seen", "type", "reason", "object", "message"):
        table.add_column(col, overflow="fold")
    for e in found:
        style = "yellow" if e.type == "Warning" else ""
        count = f" (x{e.count})" if e.count > 1 else ""
        table.add_row(
            Text(shown(e.time)),
            Text(shown(e.type), style=style),
            Text(shown(e.reason)),
            Text(shown(e.object)),
            Text(shown(e.message[:500] + count)),
        )
    return table


@reported
def events(
    stack_name: StackName,
    block: Block = None,
    kind: Kind = None,
    name: Name = None,
    namespace: Namespace = None,
    project: Project = None,
    output: Output = Format.text,
) -> None:
    """Show the Kubernetes Events Flux's controllers recorded for the stack's Flux objects (its
    source, each block's Kustomization and HelmReleases and their HelmCharts), or one block's, or
    one object's; oldest first."""
    from eoepca_gitops.kube.cluster import ClusterAccess
    from eoepca_gitops.operations.events import read_events
    from eoepca_gitops.operations.targets import select

    prepared = load(stack_name, find_project(project))
    stack, manifests = prepared.stack, prepared.manifests
    targets = select(manifests, stack.name, block, kind, name, namespace)
    found = read_events(ClusterAccess.for_stack(stack), targets)
    if output is Format.text:
        stdout_console().print(events_table(found))
    else:
        show_data([e.to_json() for e in found], output)
