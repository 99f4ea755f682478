"""`eoepca-gitops reconcile|suspend|resume|undeploy`: what operators do with `flux reconcile`,
`flux suspend/resume` and an undeploy script, for a stack's cluster and through the stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eoepca_gitops.cli.common import Project, StackName, duration, load, reported, say
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.project import find_project

__all__ = ["reconcile", "resume", "suspend", "undeploy"]

Commit = Annotated[bool, typer.Option(help="Commit the changed stack file.")]
Push = Annotated[bool, typer.Option(help="Commit and push it (needed when a poller keeps the stack).")]


@reported
def reconcile(
    stack_name: StackName,
    block: Annotated[str | None, typer.Argument(help="Only this block (default: every block).")] = None,
    timeout: Annotated[float, typer.Option(parser=duration, help="How long to wait for Flux.")] = 300.0,
    project: Project = None,
) -> None:
    """Ask Flux to reconcile now, as `flux reconcile --with-source`: the Git source, then the block's
    Kustomization, then its HelmReleases; wait until Flux's answer for each is final: Ready, or a
    failure retrying will not fix (exit 1 if one is not Ready)."""
    from eoepca_gitops.flux_apis import api_versions
    from eoepca_gitops.kube.cluster import ClusterAccess
    from eoepca_gitops.operations.collect import flux_objects
    from eoepca_gitops.operations.reconcile import reconcile as run

    prepared = load(stack_name, find_project(project))
    _, source, blocks = flux_objects(prepared.manifests)
    if block is not None and block not in blocks:
        raise GitopsError(f"stack {stack_name} has no block {block!r} enabled (enabled: {', '.join(blocks)})")
    chosen = [block] if block else list(blocks)
    kustomizations = [r for b in chosen for r in blocks[b] if r[1] == "Kustomization"]
    releases = [r for b in chosen for r in blocks[b] if r[1] == "HelmRelease"]
    waves = [w for w in ([source] if source else [], kustomizations, releases) if w]
    done = run(
        ClusterAccess.for_stack(prepared.stack),
        waves,
        timeout,
        say,
        apis=api_versions(prepared.manifests.flux),
    )
    failed = [r for r in done if not r.ok]
    for r in failed:
        say(f"not Ready: {r.status.ref}: {r.verdict}")
    say(f"reconciled {len(done)} objects" + (f"; {len(failed)} not Ready" if failed else ""))
    raise typer.Exit(1 if failed else 0)


def _suspend(
    stack_name: str, block: str, suspended: bool, project: Path | None, commit: bool, push: bool
) -> None:
    from eoepca_gitops.operations.changes import Publish, set_suspended

    project = find_project(project)
    prepared = load(stack_name, project)
    stack = prepared.stack
    set_suspended(
        stack, prepared.manifests, block, suspended, project, Publish(stack, project, commit, push), say
    )


@reported
def suspend(
    stack_name: StackName,
    block: Annotated[str, typer.Argument(help="The block to suspend.")],
    project: Project = None,
    commit: Commit = False,
    push: Push = False,
) -> None:
    """Stop Flux reconciling a block (its Kustomization and HelmReleases): through the stack file
    (overrides.BLOCK.suspend), applied at once, so the next `pulumi up` keeps it suspended."""
    _suspend(stack_name, block, True, project, commit, push)


@reported
def resume(
    stack_name: StackName,
    block: Annotated[str, typer.Argument(help="The block to resume.")],
    project: Project = None,
    commit: Commit = False,
    push: Push = False,
) -> None:
    """Let Flux reconcile a suspended block again (the stack file says so and it is applied)."""
    _suspend(stack_name, block, False, project, commit, push)


@reported
def undeploy(
    stack_name: StackName,
    project: Project = None,
    commit: Commit = False,
    push: Push = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking.")] = False,
) -> None:
    """Remove Flux (its controllers, CRDs and the stack's Flux objects) and keep every workload it
    deployed running: nothing is uninstalled or pruned. `pulumi config set --path flux.enabled true`
    and `pulumi up` bring Flux back, which takes the running releases over without reinstalling."""
    from eoepca_gitops.operations.changes import Publish
    from eoepca_gitops.operations.changes import undeploy as run

    project = find_project(project)
    prepared = load(stack_name, project)
    stack = prepared.stack
    publish = Publish(stack, project, commit, push)
    if not yes and not typer.confirm(
        f"Remove Flux from stack {stack_name}'s cluster, keeping its workloads?"
    ):
        raise typer.Exit(1)
    run(stack, prepared.manifests, list(prepared.install), project, publish, say)
    say(
        f"Flux undeployed from {stack_name}; to bring it back: "
        f"pulumi config set --stack {stack_name} --path flux.enabled true && pulumi up --stack {stack_name}"
    )
