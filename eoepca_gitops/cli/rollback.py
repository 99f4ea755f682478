"""`eoepca-gitops rollback`: a stack's cluster back to one Git revision, both layers, held there.

    eoepca-gitops rollback --stack local --dry-run         # the plan: pulumi preview + Flux objects
    eoepca-gitops rollback --stack local                   # to the last good revision
    eoepca-gitops rollback --stack local --to 1a2b3c4      # to that commit
    eoepca-gitops rollback --stack local --release         # back to following the branch

Exit codes: 0 done (every object Ready), 1 an object is not Ready after the roll-back, 2 error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eoepca_gitops.cli.common import duration, reported, say, show
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.project import find_project, open_stack

__all__ = ["rollback"]


@reported
def rollback(
    stack_name: Annotated[str, typer.Option("--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Commit to go back to (default: the last good revision).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan of both layers; change nothing.")
    ] = False,
    release: Annotated[
        bool, typer.Option("--release", help="End the hold: the stack follows its branch again.")
    ] = False,
    state_file: Annotated[
        Path | None,
        typer.Option(help="A local poller's state file (default: the stack's in-cluster poller, if any)."),
    ] = None,
    timeout: Annotated[float, typer.Option(parser=duration, help="How long to wait for Flux.")] = 300.0,
    project: Annotated[
        Path | None, typer.Option(help="Project folder (default: nearest Pulumi.yaml).")
    ] = None,
) -> None:
    """Roll a stack back to a Git revision: `pulumi up` of the program and stack file at that revision,
    Flux's source pinned to it (each changed HelmRelease upgraded back: a new Helm revision, history
    kept), then held there until `--release` (or a newer commit, per the stack's poller policy)."""
    from eoepca_gitops.operations import rollback as op

    if release and (to or dry_run):
        raise GitopsError("--release takes neither --to nor --dry-run")
    project = find_project(project)
    stack = open_stack(project, stack_name)
    if release:
        say(op.release(stack, project, state_file, say))
        return
    plan, done = op.rollback(op.Request(stack, project, to, state_file, timeout, dry_run), say)
    for line in plan.lines():
        show(line)
    if dry_run:
        return
    failed = [r for r in done if not r.ok]
    for r in failed:
        say(f"not Ready: {r.status.ref}: {r.verdict}")
    say(
        f"rolled back stack {stack_name} to {plan.revision[:12]}: {len(done) - len(failed)}/{len(done)} "
        "Flux objects Ready"
    )
    raise typer.Exit(1 if failed else 0)
