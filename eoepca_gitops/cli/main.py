"""The `eoepca-gitops` command. Exit codes: 0 ok, 1 changes found (diff) or lease lost (poll), 2 error.

A command's module is imported when that command runs (or when the help lists it): each command
starts with its own imports only, not every other command's (pydantic models, jsonschema, the dev
cluster's cryptography, ...).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from eoepca_gitops.cli.common import Commands

__all__ = ["app"]

# name -> (module of eoepca_gitops.cli, its command function or typer app), in the order help lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("render", "render"),
    "new-cluster": ("new_cluster", "new_cluster"),
    "import": ("import_cmd", "import_tree_cmd"),
    "validate": ("validate", "validate_cmd"),
    "fetch-schemas": ("validate", "fetch_schemas"),
    "diff": ("diff", "diff"),
    "poll": ("poll", "poll"),
    "status": ("status", "status"),
    "check": ("check", "check"),
    "logs": ("logs", "logs"),
    "events": ("events", "events"),
    "tree": ("inspect", "tree"),
    "trace": ("inspect", "trace"),
    "reconcile": ("operate", "reconcile"),
    "suspend": ("operate", "suspend"),
    "resume": ("operate", "resume"),
    "undeploy": ("operate", "undeploy"),
    "rollback": ("rollback", "rollback"),
    "dev-cluster": ("dev_cluster", "app"),
}


class _LazyCommands(Commands):
    """The command group, each command built from its module on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> TyperCommand | TyperGroup | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        target = getattr(importlib.import_module(f"eoepca_gitops.cli.{module}"), attribute)
        if isinstance(target, typer.Typer):  # a group of commands, as add_typer would add it
            group = typer.main.get_group(target)
            group.name = cmd_name
            return group
        single = typer.Typer()
        single.command(cmd_name)(target)
        command = typer.main.get_command(single)
        assert isinstance(command, TyperCommand), command
        return command


app = typer.Typer(
    cls=_LazyCommands,
    help="Install and drive Flux CD on Kubernetes clusters with Pulumi, one stack per cluster.",
    no_args_is_help=True,
)


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        from eoepca_gitops.cli.common import show

        show(f"eoepca-gitops {version('eoepca-gitops')}")
        raise typer.Exit()


@app.callback()
def _group(
    _: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    # A callback makes typer build a group (whose commands _LazyCommands supplies), not one command.
    pass
