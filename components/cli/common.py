"""What every command shares: finding the project, loading a stack file, reporting errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from components.errors import GitopsError
from components.manifests.flux_release import load_install_manifest
from components.manifests.stack import StackManifests, build_stack
from components.model import defaults
from components.model.loader import load_stack_file
from components.model.stack import Stack

err = Console(stderr=True)

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2


def project_dir(start: Path | None = None) -> Path:
    """The folder holding Pulumi.yaml: the given one or the nearest parent of the working directory."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise GitopsError(f"no Pulumi.yaml in {here} or its parents: run this inside the eoepca-gitops project")


@contextmanager
def reported() -> Iterator[None]:
    """Turn a GitopsError into one red line and exit code 2."""
    try:
        yield
    except GitopsError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None


def load(stack: str, project: Path) -> tuple[Stack, StackManifests]:
    path = project / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project.glob("Pulumi.*.yaml"))
        raise GitopsError(f"{path.name}: no such stack file (stacks here: {', '.join(known) or 'none'})")
    model = load_stack_file(path, project / defaults.BLOCKS_DIR)
    install = load_install_manifest(model.config.flux, file=path.name, base_dir=project)
    return model, build_stack(model, install)
