"""`eoepca-gitops tree|trace`: what `flux tree kustomization` and `flux trace` answer, for a stack's
cluster and through the stack: what a block applied, down to each Helm release's objects; where an
object came from, up to the commit, the block and the Pulumi resource.

Exit codes: 0 every object shown Ready, 1 one is not, 2 error (the cluster cannot be read, no such
object).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from eoepca_gitops.cli.common import Format, Output, Project, StackName, err, load, reported, show_result
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.project import find_project

__all__ = ["trace", "tree"]


@reported
def tree(
    stack_name: StackName,
    block: Annotated[
        str | None, typer.Option("--block", "-b", help="Only this block (default: every block).")
    ] = None,
    output: Output = Format.text,
    project: Project = None,
) -> None:
    """What a block applied, as `flux tree kustomization`: its Kustomization down to what the inventory
    holds, each HelmRelease down to its Helm release's objects, each with its Ready state; a failing
    HelmRelease shows where it stopped (exit 1 if an object is not Ready)."""
    from eoepca_gitops.operations.tree import exit_code, stack_trees, tree_text

    prepared = load(stack_name, find_project(project))
    with err.status("reading the cluster ..."):
        roots = stack_trees(prepared.stack, prepared.manifests, block)
    document: Any = [r.to_json() for r in roots]
    show_result(document[0] if block else document, tree_text(roots), output)
    raise typer.Exit(exit_code(roots))


@reported
def trace(
    stack_name: StackName,
    what: Annotated[list[str], typer.Argument(help="KIND NAME, or KIND/NAME (e.g. deployment/web).")],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="The object's namespace.")] = "default",
    output: Output = Format.text,
    project: Project = None,
) -> None:
    """Where an object came from, as `flux trace` and up to the stack: the Helm release and HelmRelease
    that made it, the Kustomization that applied that and its source's revision, the block and the
    Pulumi resource (URN) that registered the Flux object, and the commit (exit 1 if one is not Ready)."""
    from eoepca_gitops.operations.trace import resolve_kind, trace_stack, trace_text

    if len(what) == 1 and "/" in what[0]:
        what = what[0].split("/", 1)
    if len(what) != 2 or not all(what):
        raise GitopsError(f"trace: give KIND NAME or KIND/NAME, not {' '.join(what)!r}")
    project_dir = find_project(project)
    prepared = load(stack_name, project_dir)
    api_version, kind = resolve_kind(what[0], prepared.manifests)
    target = (api_version, kind, "" if kind == "Namespace" else namespace, what[1])
    with err.status("reading the cluster and the stack ..."):
        found = trace_stack(prepared.stack, prepared.manifests, project_dir, target)
    show_result(found.to_json(), trace_text(found), output)
    raise typer.Exit(found.exit_code)
