"""`eoepca-gitops render`: every object a stack applies, as files, with no cluster and no engine."""

from __future__ import annotations

from pathlib import Path

import typer

from eoepca_gitops.cli.common import load, project_dir, reported, say
from eoepca_gitops.flux_layer import build_flux_layer
from eoepca_gitops.manifests.render import dump, file_name, render_files
from eoepca_gitops.owned_folder import claim


@reported
def render(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Folder to write: a new or empty one, or one render wrote before (it replaces only the "
        "files it wrote there).",
    ),
    flux_layer: bool = typer.Option(
        False, "--flux-layer", help="Also write what Flux applies from Git (kustomize build + postBuild)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Write into a non-empty folder render did not write (adding files only)."
    ),
    project: Path = typer.Option(None, "--project", help="Project folder (default: nearest Pulumi.yaml)."),
) -> None:
    """Write one YAML file per object of STACK: the Pulumi layer, and with --flux-layer the Git layer.

    Output is deterministic: two runs give byte-identical files. Secrets are never written:
    their values show as <secret KEY>. Render deletes nothing but files it wrote itself.
    """
    root = project_dir(project)
    folder = claim(out, [root], force=force)
    model, manifests = load(stack, root)
    files = render_files(manifests)
    if flux_layer:
        for name, objects in build_flux_layer(manifests, root).items():
            files |= {f"flux-layer/{name}/{file_name(o)}": dump(o) for o in objects}
    folder.replace(files)
    say(f"rendered {len(files)} objects of stack {stack} into {out}")
    for key, problem in model.unset:
        say(f"note: {key}: {problem} (pulumi preview refuses until it is set; render shows a placeholder)")
