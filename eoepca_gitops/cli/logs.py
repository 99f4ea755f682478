"""`eoepca-gitops logs`: Flux's controllers' log lines about a stack's objects, oldest first (`flux logs`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from eoepca_gitops.cli.common import (
    Format,
    Output,
    Project,
    StackName,
    duration,
    load,
    reported,
    show,
    show_data,
)
from eoepca_gitops.cli.events import Block, Kind, Name, Namespace
from eoepca_gitops.operations.logs import LogRecord
from eoepca_gitops.project import find_project

__all__ = ["log_lines", "logs"]


def log_lines(records: Sequence[LogRecord]) -> str:
    """One line a record: time, level, controller, object, message (and the error)."""
    return "\n".join(
        f"{r.time} {r.level} {r.controller} {r.object}: {r.message}" + (f": {r.error}" if r.error else "")
        for r in records
    )


@reported
def logs(
    stack_name: StackName,
    block: Block = None,
    kind: Kind = None,
    name: Name = None,
    namespace: Namespace = None,
    controller: Annotated[
        str | None, typer.Option(help="Only this controller's lines (e.g. helm-controller).")
    ] = None,
    since: Annotated[
        float | None, typer.Option(parser=duration, help="Only lines newer than this (e.g. 10m).")
    ] = None,
    tail: Annotated[int | None, typer.Option(min=0, help="Read the last N lines of each controller.")] = None,
    project: Project = None,
    output: Output = Format.text,
) -> None:
    """Show the lines Flux's controllers logged about the stack's Flux objects, one block's (its
    Kustomization, HelmReleases and their HelmCharts) or one object's; oldest first. -o json gives
    each line's parsed record."""
    from eoepca_gitops.kube.cluster import ClusterAccess
    from eoepca_gitops.operations.logs import read_logs
    from eoepca_gitops.operations.targets import select

    prepared = load(stack_name, find_project(project))
    stack, manifests = prepared.stack, prepared.manifests
    targets = select(manifests, stack.name, block, kind, name, namespace)
    access = ClusterAccess.for_stack(stack)
    since_seconds = max(1, int(since)) if since else None
    records = read_logs(
        access, manifests.flux, targets, controller=controller, since=since_seconds, tail=tail
    )
    if output is Format.text:
        if records:
            show(log_lines(records))
    else:
        show_data([r.to_json() for r in records], output)
