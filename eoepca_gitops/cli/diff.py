"""`eoepca-gitops diff`: what the working tree changes in stacks against a Git revision, field by
field, in three layers: what Pulumi applies, what Flux applies from Git, what Helm applies for the
HelmReleases (eoepca_gitops.review).

What each layer renders at the head is checked against its schema (eoepca_gitops.review.validation).

stdout carries the review in the chosen format and nothing else (`--json-out FILE` writes the JSON
beside it, from the same run); progress and notes go to stderr. Exit 0: no change in any stack; 1:
changes; 2: an error, one `error:` line on stderr: a stack that does not load or build at either
revision (nothing on stdout), or what the review finds wrong (the upgrade gate, a chart version its
repository does not have, an object that does not match its schema), after the review.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import typer

from eoepca_gitops.cli.common import (
    EXIT_CHANGES,
    EXIT_OK,
    fail,
    reported,
    say,
    show,
    show_json,
)
from eoepca_gitops.devcluster.tools import find_binary
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import write_file
from eoepca_gitops.project import find_project, stack_file, stack_names
from eoepca_gitops.review.changes import Review
from eoepca_gitops.review.helm_layer import Renderer, helm_renderer
from eoepca_gitops.review.json_format import as_json, document
from eoepca_gitops.review.markdown import DEFAULT_MAX_CHARS, MIN_MAX_CHARS, markdown
from eoepca_gitops.review.revision import at_revision
from eoepca_gitops.review.stacks import review_stack
from eoepca_gitops.review.text import text
from eoepca_gitops.review.validation import HeadSchemas
from eoepca_gitops.schemas import OpenAPIMissingError


class Format(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


@contextlib.contextmanager
def _renderer(no_helm: bool) -> Iterator[tuple[Renderer | None, str]]:
    if no_helm:
        yield None, "--no-helm"
        return
    helm = find_binary("helm")
    if helm is None:  # said in the review
        yield None, "helm not found: build it with `scripts/tools.sh helm` (or put helm on PATH)"
        return
    with helm_renderer(helm) as renderer:
        yield renderer, ""


@reported
def diff(
    stack: list[str] = typer.Option(
        [], "--stack", "-s", help="Stack name (Pulumi.<stack>.yaml); repeatable."
    ),
    all_stacks: bool = typer.Option(
        False, "--all-stacks", help="Every stack of the project (either revision)."
    ),
    against: str = typer.Option("HEAD", "--against", help="Git revision to compare the working tree with."),
    output: Format = typer.Option(Format.text, "--format", help="text, markdown (a PR comment) or json."),
    max_chars: int = typer.Option(
        DEFAULT_MAX_CHARS, "--max-chars", min=MIN_MAX_CHARS, help="Markdown: the most characters to print."
    ),
    no_helm: bool = typer.Option(False, "--no-helm", help="Leave out the Helm layer (no chart is fetched)."),
    no_validate: bool = typer.Option(
        False, "--no-validate", help="Do not check what the head renders against the schemas."
    ),
    json_out: Path = typer.Option(
        None, "--json-out", help="Also write the review as JSON (complete, uncapped) to this file."
    ),
    project: Path = typer.Option(None, "--project", help="Project folder (default: nearest Pulumi.yaml)."),
) -> None:
    """What the working tree changes against REV, per stack and layer (Pulumi, Flux, Helm): every
    object added, changed or deleted, with the unified diff of its YAML (secret values redacted).

    What the head renders in each layer is checked against its schema, as `validate` checks it.

    Exit 0 when nothing changes, 1 when something does, 2 on error.
    """
    project = find_project(project)
    if bool(stack) == all_stacks:
        raise GitopsError("name the stacks: --stack X (repeatable) or --all-stacks")
    for name in stack:
        stack_file(project, name)  # valid names before anything runs
    schemas = None if no_validate else HeadSchemas()
    with at_revision(project, against) as base, _renderer(no_helm) as (renderer, note):
        names = list(dict.fromkeys(stack)) or sorted({*stack_names(project), *stack_names(base)})
        # Every stack loads and builds at both revisions, or one error line and nothing else.
        try:
            reviews = tuple(review_stack(name, base, project, renderer, note, schemas) for name in names)
        except OpenAPIMissingError as exc:
            raise OpenAPIMissingError(f"{exc}; or diff with --no-validate") from None
    review = Review(against, "working tree", reviews)
    if json_out is not None:
        write_file(json_out.parent, json_out.name, as_json(review), replace=True)
    if output is Format.json:
        show_json(document(review), indent=2)
    else:
        show(text(review) if output is Format.text else markdown(review, max_chars), nl=False)
    if review.errors:  # what the review found wrong: shown in it, and one line here
        more = len(review.errors) - 1
        fail(review.errors[0] + (f" (and {more} more error(s), in the output)" if more else ""))
    changed = [s.name for s in review.stacks if s.changed]
    say(
        f"{len(changed)} of {len(review.stacks)} stack(s) changed"
        + (f": {', '.join(changed)}" if changed else "")
    )
    raise typer.Exit(EXIT_CHANGES if review.changed else EXIT_OK)
