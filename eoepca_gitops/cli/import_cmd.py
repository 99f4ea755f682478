"""`eoepca-gitops import`: convert an existing Flux tree into Pulumi.<stack>.yaml and clusters/.

--out is a project, or a new or empty folder; never `/` or $HOME (owned_folder.claim_project).
Every file is written through the one writer (eoepca_gitops.files), after all of them are checked:
no symlink followed in the project, an existing stack file replaced only with --force (the
other files are the import's own, replaced by importing again); all of them, or none.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from eoepca_gitops.cli.common import keep_stack_file, reported, say, show
from eoepca_gitops.cli.remote_options import FETCH_MIB, FETCH_REMOTE, FETCH_SECONDS, fetch_limits
from eoepca_gitops.importer import ImportOptions, import_tree
from eoepca_gitops.owned_folder import claim_project
from eoepca_gitops.project import stack_file


@reported
def import_tree_cmd(
    path: Path = typer.Argument(..., help="The folder the cluster's root Flux Kustomization points at."),
    stack: str = typer.Option(..., "--stack", "-s", help="Name of the stack (and cluster) to write."),
    repo_root: Path = typer.Option(
        None, "--repo-root", help="Repository root the Kustomization paths are relative to (default: Git)."
    ),
    out: Path = typer.Option(Path("."), "--out", "-o", help="Project folder to write into."),
    flux_version: str = typer.Option(
        None, "--flux-version", help="Flux version to install (default: the tree's)."
    ),
    flux_manifest: str = typer.Option(
        None, "--flux-manifest", help="flux.manifest to write (a local install manifest, relative to --out)."
    ),
    public_ip: str = typer.Option(None, "--public-ip", help="The cluster's public IP (default: detected)."),
    domain: str = typer.Option(None, "--domain", help="The cluster's domain (default: detected)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing Pulumi.STACK.yaml."),
    fetch_remote: bool = FETCH_REMOTE,
    fetch_seconds: float = FETCH_SECONDS,
    fetch_mib: float = FETCH_MIB,
) -> None:
    """Follow the tree at PATH as Flux does and write Pulumi.STACK.yaml, clusters/ and import-report.md.

    What cannot be converted is kept as a plain manifest where possible and listed in the report
    (file:line and why), printed and written to import-report.md.
    """
    started = time.perf_counter()
    stack_path = stack_file(out, stack)
    project = claim_project(out)
    keep_stack_file(stack_path, force=force)
    opts = ImportOptions(
        path=path,
        stack=stack,
        out=out,
        repo_root=repo_root,
        flux_version=flux_version,
        flux_manifest=flux_manifest,
        public_ip=public_ip,
        domain=domain,
        fetch=fetch_limits(fetch_remote, fetch_seconds, fetch_mib),
    )
    result = import_tree(opts)
    project.write(result.files, replace=lambda rel: force or rel != stack_path.name)
    for item in result.report:
        show(str(item))
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(result.counts.items()))
    say(
        f"imported stack {stack} into {out} ({len(result.files)} files; {counts}); "
        f"{len(result.report)} report item(s) in {out / 'import-report.md'} "
        f"[{time.perf_counter() - started:.2f}s]",
    )
