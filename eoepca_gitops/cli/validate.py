"""`eoepca-gitops validate` and `fetch-schemas`: what a stack renders, or given YAML files, checked
offline against the schemas the cluster would check them with (eoepca_gitops.schemas).

`render` validates what it writes with the same functions before it writes anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from eoepca_gitops import yaml_io
from eoepca_gitops.cli.common import EXIT_ERROR, fail_each, load, reported, say, show_json
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import walk
from eoepca_gitops.flux_layer import build_flux_layer
from eoepca_gitops.fluxtree.fetch import Fetcher
from eoepca_gitops.manifests.prepared import Prepared
from eoepca_gitops.manifests.render import rendered_objects
from eoepca_gitops.project import find_project
from eoepca_gitops.schemas import (
    KUBERNETES_VERSION,
    SchemaCatalog,
    SchemaProblem,
    Sourced,
    fetch_from_cluster,
    fetch_from_module,
    validate,
)

__all__ = ["check_objects", "fetch_schemas", "stack_catalog", "stack_objects", "validate_cmd"]

_YAML_SUFFIXES = (".yaml", ".yml")


class Format(StrEnum):
    text = "text"
    json = "json"


def stack_objects(
    stack_name: str, project: Path, *, flux_layer: bool, fetcher: Fetcher | None = None
) -> tuple[Prepared, dict[str, dict[str, Any]]]:
    """The stack as built, and what `render` writes of it: relative path -> object."""
    prepared = load(stack_name, project)
    layer = build_flux_layer(prepared.manifests, project, fetcher) if flux_layer else None
    return prepared, rendered_objects(prepared.manifests, layer)


def stack_catalog(prepared: Prepared) -> SchemaCatalog:
    """Kubernetes' kinds and those of the CRDs of the stack's Flux release."""
    return SchemaCatalog.from_install(prepared.install)


def _report(problems: list[SchemaProblem]) -> list[SchemaProblem]:
    """Prints the notes; returns the errors."""
    for p in problems:
        if p.note:
            say(f"note: {p}")
    return [p for p in problems if not p.note]


def check_objects(prepared: Prepared, objects: Mapping[str, Mapping[str, Any]]) -> None:
    """Exit 2 with one `error:` line per problem if an object is invalid; notes printed either way."""
    errors = _report(validate(objects.items(), stack_catalog(prepared)))
    if errors:
        fail_each(str(p) for p in errors)


def _yaml_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            found = (here / name for here, _, names in walk(path) for name in names)
            yield from sorted(p for p in found if p.suffix in _YAML_SUFFIXES)
        else:
            yield path


def _read(paths: list[Path]) -> list[Sourced]:
    """Every document of the files (a folder: its *.yaml and *.yml below), each named by its file
    (and its place in the file when the file holds several)."""
    found: list[Sourced] = []
    for path in _yaml_files(paths):
        documents = [d for d in yaml_io.load_all_file(path) if d is not None]
        for i, document in enumerate(documents, 1):
            source = f"{path}#{i}" if len(documents) > 1 else str(path)
            found.append((source, document if isinstance(document, dict) else {}))
    return found


@reported
def validate_cmd(
    stack_name: str = typer.Option(
        ..., "--stack", "-s", help="Stack name: its Flux release gives the Flux kinds' schemas."
    ),
    files: list[Path] = typer.Argument(
        None, help="YAML files or folders to validate (default: what `render` writes of the stack)."
    ),
    flux_layer: bool = typer.Option(
        False, "--flux-layer", help="Without FILE: also what Flux applies from Git, as render writes it."
    ),
    output: Format = typer.Option(
        Format.text, "--format", help="text (problems on stderr) or json (stdout)."
    ),
    project: Path = typer.Option(None, "--project", help="Project folder (default: nearest Pulumi.yaml)."),
) -> None:
    """Check objects against their schemas, offline, strict as kubeconform -strict.

    Built-in kinds against Kubernetes' OpenAPI (the version the engine pins; `fetch-schemas` caches
    it), Flux's kinds against the CRDs of the stack's Flux release, other kinds against a CRD among
    the objects, else noted as not validated. Exit 0: valid; 2: a problem (each one `error:` line
    naming file, object and field) or an error.
    """
    project = find_project(project)
    if files and flux_layer:
        raise GitopsError("--flux-layer is for the stack's render; with FILE, the files are what is checked")
    if files:
        prepared = load(stack_name, project)
        objects = _read(files)
    else:
        prepared, rendered = stack_objects(stack_name, project, flux_layer=flux_layer)
        objects = list(rendered.items())
    catalog = stack_catalog(prepared)
    problems = validate(objects, catalog)
    errors = [p for p in problems if not p.note]
    if output is Format.json:
        document = {
            "stack": stack_name,
            "schemas": catalog.origins,
            "objects": len(objects),
            "valid": not errors,
            "errors": [dataclasses.asdict(p) for p in errors],
            "notes": [dataclasses.asdict(p) for p in problems if p.note],
        }
        show_json(document, indent=2)
        if errors:
            raise typer.Exit(EXIT_ERROR)
        return
    _report(problems)
    verdict = f"{len(errors)} problem{'s' if len(errors) > 1 else ''}" if errors else "valid"
    against = ", ".join(catalog.origins)
    say(f"validated {len(objects)} objects of stack {stack_name} against {against}: {verdict}")
    if errors:
        fail_each(str(p) for p in errors)


@reported
def fetch_schemas(
    kubeconfig: Path = typer.Option(
        None,
        "--kubeconfig",
        help=f"Read them from this running kube-apiserver (Kubernetes {KUBERNETES_VERSION}) instead.",
    ),
) -> None:
    """Cache the OpenAPI of the pinned Kubernetes version that validation needs.

    From api/openapi-spec/v3 of the k8s.io/kubernetes Go module (what kube-apiserver serves, less the
    enums of built-in kinds): the Go module cache, else `go mod download` from the Go module proxy;
    or with --kubeconfig what a running kube-apiserver serves, enums included. Kept in
    ~/.cache/eoepca-gitops/openapi/<version>/ (EOEPCA_CACHE_DIR moves it), never in the project.
    """
    folder = fetch_from_cluster(kubeconfig) if kubeconfig else fetch_from_module()
    count = len(list(folder.glob("*_openapi.json")))
    say(f"cached the OpenAPI of Kubernetes {KUBERNETES_VERSION} in {folder} ({count} documents)")
