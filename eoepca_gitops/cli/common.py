"""What every command shares: the one output path, the one error path, loading a stack and what
it builds (the project and its stack files: eoepca_gitops.project).

Every message goes out through `show` (stdout), `say` (stderr), `fail` (the one `error:` line) or
the console `stdout_console` gives (tables): each shows text `shown`, i.e. with every credential
redacted (eoepca_gitops.credentials: found by structure, whatever the message is) and its control
characters escaped (`literal`), never read as terminal markup or emoji codes. JSON goes out through
`show_json`: redacted string by string, so that it stays JSON.

Every command is wrapped by `reported`: a GitopsError, or an OSError (a disk full, a folder
read-only: the machine's, not the program's, to fix), becomes one line on stderr and exit code 2.
A usage error (an option missing or of the wrong form) is the same one line (`Commands`). Ctrl-C
(KeyboardInterrupt) at any moment is one line, `error: interrupted`, and exit code 130 (128 +
SIGINT, as a shell reports it); writes finish whole or never start (files.no_interrupt).
Anything else is a bug.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

from eoepca_gitops import yaml_io
from eoepca_gitops.credentials import literal, redact_value, shown, shown_json
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.manifests.flux_install import build_flux_install
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.prepared import Prepared, prepare
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.model.types import parse_duration
from eoepca_gitops.project import open_stack

__all__ = [
    "EXIT_CHANGES",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "AsJson",
    "Commands",
    "Format",
    "Output",
    "Project",
    "StackName",
    "duration",
    "err",
    "fail",
    "fail_each",
    "keep_stack_file",
    "literal",
    "load",
    "load_flux",
    "reported",
    "say",
    "show",
    "show_data",
    "show_result",
    "shown",
    "stdout_console",
]

# A spinner's console (status); lines go out through typer.echo, which leaves no state behind when
# Ctrl-C interrupts it.
err = Console(stderr=True, markup=False, emoji=False, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130

P = ParamSpec("P")
R = TypeVar("R")


def say(message: str) -> None:
    """A progress or summary line on stderr, shown (see the module doc)."""
    typer.echo(shown(message), err=True)


def show(text: str, *, nl: bool = True) -> None:
    """What a command prints as its result (a diff, a report, JSON) on stdout, shown."""
    typer.echo(shown(text), nl=nl)


def show_json(value: Any, **options: Any) -> None:
    """A command's result as JSON on stdout, shown as JSON (`shown_json`): it stays JSON."""
    typer.echo(shown_json(value, **options))


class Format(StrEnum):
    """What a command that prints objects prints: text for people, JSON or YAML for scripts."""

    text = "text"
    json = "json"
    yaml = "yaml"


Output = Annotated[Format, typer.Option("--output", "-o", help="Print text, json or yaml.")]
StackName = Annotated[str, typer.Option("--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml.")]
Project = Annotated[Path | None, typer.Option(help="Project folder (default: nearest Pulumi.yaml).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (the same as -o json).")]


def show_result(value: Any, text: str, output: Format) -> None:
    """`text` for people, or `value` as JSON or YAML (-o) for scripts."""
    if output is Format.text:
        show(text)
    else:
        show_data(value, output)


def show_data(value: Any, output: Format) -> None:
    """A command's result as JSON or YAML on stdout, credentials redacted string by string."""
    if output is Format.yaml:
        typer.echo(yaml_io.dump(redact_value(value)), nl=False)
    else:
        show_json(value, indent=2, sort_keys=True)


def stdout_console() -> Console:
    """Stdout for tables: wide, and nothing in a string read as markup, emoji codes or highlights;
    what goes in a cell is to be `shown` first."""
    return Console(width=200, markup=False, emoji=False, highlight=False)


def fail(message: str) -> NoReturn:
    """One `error:` line on stderr and exit code 2."""
    _error(message)
    raise typer.Exit(EXIT_ERROR)


def fail_each(messages: Iterable[str]) -> NoReturn:
    """One `error:` line per message on stderr and exit code 2 (several problems found at once)."""
    for message in messages:
        _error(message)
    raise typer.Exit(EXIT_ERROR)


def _error(message: str) -> None:
    typer.echo(f"error: {shown(message, one_line=True)}", err=True)


class Commands(TyperGroup):
    """The command group: a usage error is one `error:` line with exit code 2, as any other error,
    instead of click's usage block or typer's panel."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        standalone = kwargs.get("standalone_mode", True)
        kwargs["standalone_mode"] = False
        if not standalone:
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **kwargs)
        except KeyboardInterrupt:  # before typer's own handler
            interrupted()
        except typer.TyperException as exc:  # typer's click: usage errors, bad parameters
            ctx = getattr(exc, "ctx", None)
            if exc.format_message():  # empty: no arguments at all, and the help is shown
                where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
                _error(f"{exc.format_message()}{where}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        if code == EXIT_INTERRUPTED:  # typer's word for a Ctrl-C anywhere in the command: no line
            interrupted()
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def interrupted() -> NoReturn:
    """The one line and exit code of Ctrl-C (see the module doc)."""
    _error("interrupted")
    sys.exit(EXIT_INTERRUPTED)


def reported(command: Callable[P, R]) -> Callable[P, R]:
    """The one error path of every command (see the module doc)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except GitopsError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc))

    return run


def duration(value: str | float) -> float:
    """Parses a command option in the one duration grammar of the project (Go's: 10s, 1m0s, 1.5h, 0).

    A float is a default already parsed (typer passes defaults through the parser too).
    """
    if isinstance(value, float):
        return value
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def keep_stack_file(path: Path, *, force: bool) -> None:
    """Refuses to replace an existing stack file (a cluster's definition) unless --force says so."""
    if path.exists() and not force:
        raise GitopsError(
            f"{path.name} exists already: --force replaces it "
            f"(`git checkout -- {path.name}` brings back the committed one)"
        )


def load(stack: str, project: Path) -> Prepared:
    """Stack `stack` of the project, loaded offline, and what it builds."""
    return prepare(open_stack(project, stack), project)


def load_flux(stack: str, project: Path) -> tuple[Stack, list[dict[str, Any]]]:
    """Stack `stack` and only the Flux install it builds (what `check` compares a cluster with),
    with the stack's patches; none when the stack has Flux undeployed."""
    loaded = open_stack(project, stack)
    flux = loaded.config.flux
    if not flux.enabled:
        return loaded, []
    release = load_install_manifest(flux, file=loaded.file_name, project=project)
    return loaded, build_flux_install(release, flux)
