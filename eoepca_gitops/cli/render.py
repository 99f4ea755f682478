"""`eoepca-gitops render`: every object a stack applies, as files, with no cluster and no engine."""

from __future__ import annotations

from pathlib import Path

import typer

from eoepca_gitops import yaml_io
from eoepca_gitops.cli.common import reported, say, show
from eoepca_gitops.cli.remote_options import FETCH_MIB, FETCH_REMOTE, FETCH_SECONDS, fetch_limits
from eoepca_gitops.cli.validate import check_objects, stack_objects
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.fluxtree.fetch import fetching
from eoepca_gitops.manifests.render import HEADER, dump
from eoepca_gitops.owned_folder import claim
from eoepca_gitops.project import find_project
from eoepca_gitops.schemas import OpenAPIMissingError


@reported
def render(
    stack_name: str = typer.Option(..., "--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Folder to write: a new or empty one, or one render wrote before (it replaces only the "
        "files it wrote there); `-` writes one YAML stream to stdout.",
    ),
    flux_layer: bool = typer.Option(
        False, "--flux-layer", help="Also write what Flux applies from Git (kustomize build + postBuild)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Write into a non-empty folder render did not write (adding files only)."
    ),
    project: Path = typer.Option(None, "--project", help="Project folder (default: nearest Pulumi.yaml)."),
    no_validate: bool = typer.Option(
        False, "--no-validate", help="Write without checking the objects against their schemas."
    ),
    fetch_remote: bool = FETCH_REMOTE,
    fetch_seconds: float = FETCH_SECONDS,
    fetch_mib: float = FETCH_MIB,
) -> None:
    """Write one YAML file per object of STACK: the Pulumi layer, and with --flux-layer the Git layer.

    Every object is first checked against its schema as `eoepca-gitops validate` checks it
    (strict: an unknown or mistyped field is an error naming file, object and field); on a problem
    nothing is written. Output is deterministic: two runs give byte-identical files. Secrets are
    never written: their values show as <secret KEY>. Render deletes nothing but files it wrote
    itself. With `-o -` the objects go to stdout as one YAML stream (documents separated by `---`,
    in the order of the files), as `flux build` and `kustomize build` print them.
    """
    if fetch_remote and not flux_layer:
        raise GitopsError("--fetch-remote fetches the Git layer's remote bases: render it with --flux-layer")
    project = find_project(project)
    to_stdout = str(out) == "-"
    folder = None if to_stdout else claim(out, [project], force=force)
    with fetching(fetch_limits(fetch_remote, fetch_seconds, fetch_mib)) as fetcher:
        prepared, objects = stack_objects(stack_name, project, flux_layer=flux_layer, fetcher=fetcher)
    if not no_validate:
        try:
            check_objects(prepared, objects)
        except OpenAPIMissingError as exc:
            raise OpenAPIMissingError(f"{exc}; or render with --no-validate") from None
    if folder is None:
        show(HEADER + "---\n".join(yaml_io.dump(o) for o in objects.values()), nl=False)
        say(f"rendered {len(objects)} objects of stack {stack_name} to stdout")
    else:
        folder.replace({path: dump(o) for path, o in objects.items()})
        say(f"rendered {len(objects)} objects of stack {stack_name} into {out}")
    for key, problem in prepared.stack.unset:
        say(f"note: {key}: {problem} (pulumi preview refuses until it is set; render shows a placeholder)")
