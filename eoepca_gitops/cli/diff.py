"""`eoepca-gitops diff`: what a change does to a stack, both layers, against a Git revision.

Renders the stack at REV (a `git archive` of REV in a temporary folder) and in the working tree,
and prints per layer the objects added, changed and deleted. Exit 0: no change; 1: changes; 2: error.
A Flux version change is named as an upgrade (from -> to, the objects migrated to new API versions
in place), with the Git half of the upgrade gate (eoepca_gitops.manifests.api_gate); the live half
needs the cluster: `pulumi preview` runs it.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from eoepca_gitops.cli.common import EXIT_CHANGES, EXIT_OK, project_dir, reported, say, stack_file
from eoepca_gitops.errors import ConfigError, GitopsError
from eoepca_gitops.flux_layer import build_flux_layer
from eoepca_gitops.fluxtree import Key, key
from eoepca_gitops.manifests.api_gate import check_api_removal
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import load_stack_file
from eoepca_gitops.model.stack import Stack

Layer = dict[Key, dict[str, Any]]


def _git(repo: Path, *args: str) -> bytes:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    if result.returncode != 0:
        raise GitopsError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def _render(
    project: Path, stack: str, manifest_base: Path
) -> tuple[Stack, tuple[dict[str, Any], ...], Layer, Layer]:
    path = stack_file(project, stack)
    if not path.is_file():
        raise GitopsError(f"{path.name}: no such stack file in {project}")
    model = load_stack_file(path, project / defaults.BLOCKS_DIR)
    try:
        install = load_install_manifest(model.config.flux, file=path.name, base_dir=project)
    except ConfigError:  # a manifest path outside the repository: as the working tree has it
        install = load_install_manifest(model.config.flux, file=path.name, base_dir=manifest_base)
    manifests = build_stack(model, install)
    pulumi_layer = {key(o): o for o in manifests.all()}
    flux_layer = {key(o): o for objs in build_flux_layer(manifests, project).values() for o in objs}
    return model, install, pulumi_layer, flux_layer


def _name(k: Key) -> str:
    return f"{k[1]} {k[2] + '/' if k[2] else ''}{k[3]}"


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[2]


def summarize(title: str, old: Layer, new: Layer) -> tuple[int, list[str]]:
    """The objects added, changed and deleted; an object whose API version changed is the same object
    (its identity is group, kind, namespace and name), changed in place: its versions are shown."""
    added = sorted(set(new) - set(old))
    deleted = sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
    lines = [f"{title}: {len(added)} added, {len(changed)} changed, {len(deleted)} deleted"]
    lines += [f"  + {_name(k)}" for k in added]
    for k in changed:
        was, now = _version(old[k]), _version(new[k])
        lines.append(f"  ~ {_name(k)}" + (f" ({k[0]}/{was} -> {now}, in place)" if was != now else ""))
    lines += [f"  - {_name(k)}" for k in deleted]
    return len(added) + len(changed) + len(deleted), lines


def upgrade_lines(old_version: str, new_version: str, old: Layer, new: Layer) -> list[str]:
    """A Flux version change named as an upgrade: the objects it moves to other API versions, by kind."""
    moved = Counter(
        (k[1], f"{k[0]}/{_version(old[k])}", _version(new[k]))
        for k in set(old) & set(new)
        if _version(old[k]) != _version(new[k])
    )
    total = sum(moved.values())
    lines = [
        f"flux upgrade: {old_version} -> {new_version}: {total} object(s) of this stack migrated to new API "
        "versions in place (updated, never deleted and recreated); `pulumi up` first rewrites what the "
        "cluster stores in versions the new release drops"
    ]
    lines += [f"  migrate {kind} {was} -> {now}: {n}" for (kind, was, now), n in sorted(moved.items())]
    return lines


@reported
def diff(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml."),
    against: str = typer.Option("HEAD", "--against", help="Git revision to compare the working tree with."),
    project: Path = typer.Option(None, "--project", help="Project folder (default: nearest Pulumi.yaml)."),
) -> None:
    """Objects added / changed / deleted by the working tree against REV, per layer (Pulumi, Flux).

    Exit 0 when nothing changes, 1 when something does, 2 on error.
    """
    root = project_dir(project)
    stack_file(root, stack)  # a valid name before anything runs
    repo = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    rel = root.relative_to(repo)
    with tempfile.TemporaryDirectory(prefix="eoepca-gitops-diff-") as tmp:
        archive = _git(
            repo,
            "archive",
            "--format=tar",
            _git(repo, "rev-parse", "--verify", "--end-of-options", against).decode().strip(),
        )
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        old_project = Path(tmp) / rel
        if stack_file(old_project, stack).is_file():
            old_model, _, old_pulumi, old_flux = _render(old_project, stack, root)
        else:
            old_model, old_pulumi, old_flux = None, {}, {}
    new_model, install, new_pulumi, new_flux = _render(root, stack, root)
    n1, pulumi_lines = summarize("pulumi layer", old_pulumi, new_pulumi)
    n2, flux_lines = summarize("flux layer", old_flux, new_flux)
    typer.echo(f"stack {stack}: {against} -> working tree")
    old_version, new_version = (
        old_model.config.flux.version if old_model else None,
        new_model.config.flux.version,
    )
    if old_version is not None and old_version != new_version:
        typer.echo("\n".join(upgrade_lines(old_version, new_version, old_pulumi, new_pulumi)))
    typer.echo("\n".join(pulumi_lines + flux_lines))
    if old_version is not None and old_version != new_version:
        by_kustomization = {"git": list(new_flux.values())}
        found = check_api_removal(
            new_model.config.flux.model_copy(update={"allow_api_removal": True}),
            install,
            by_kustomization,
            "",
        )
        for item in found:
            typer.echo(f"  removed API: {item}")
        check_api_removal(new_model.config.flux, install, by_kustomization, f"Pulumi.{stack}.yaml")
    say(f"{n1 + n2} change(s)")
    raise typer.Exit(EXIT_CHANGES if n1 + n2 else EXIT_OK)
