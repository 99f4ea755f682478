"""The project and its stacks: the folder holding Pulumi.yaml, one `Pulumi.<stack>.yaml` per stack.

The one home of the rules for finding the project, naming a stack's file, listing the stacks,
reading a stack file's values (a `{"secure": ...}` value is a secret, never decrypted here) and
loading one stack into the validated model. The project folder is `project` everywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import ConfigError, GitopsError
from eoepca_gitops.files import resolved
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import load_stack
from eoepca_gitops.model.stack import Stack

__all__ = [
    "PROJECT_FILE",
    "check_secure_values",
    "find_project",
    "is_secure",
    "load_stack_file",
    "open_stack",
    "stack_file",
    "stack_file_name",
    "stack_names",
    "stack_values",
]

PROJECT_FILE = "Pulumi.yaml"
# Pulumi's rule for a stack name (without an organisation): what may follow `Pulumi.` in a file name.
_STACK_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
_PREFIX, _SUFFIX = "Pulumi.", ".yaml"


def find_project(start: Path | None = None) -> Path:
    """The folder holding Pulumi.yaml: the given one or the nearest parent of the working directory."""
    here = resolved(start or Path.cwd())
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise GitopsError(f"no Pulumi.yaml in {here} or its parents: run this inside the eoepca-gitops project")


def stack_file_name(stack: str) -> str:
    """The file name of stack `stack`'s configuration, as Pulumi names it."""
    return f"{_PREFIX}{stack}{_SUFFIX}"


def stack_file(project: Path, stack: str, option: str = "--stack") -> Path:
    """Pulumi.<stack>.yaml of the project, for a name Pulumi accepts as a stack name (so the path
    stays in the project); `option` is what the user gave the name as, for the error."""
    if not _STACK_NAME.fullmatch(stack):
        raise GitopsError(
            f"{option} {stack!r}: not a stack name (letters, digits, '-', '_' and '.', at most 100)"
        )
    return project / stack_file_name(stack)


def stack_names(project: Path) -> list[str]:
    """The project's stacks, by the stack files it holds, sorted."""
    return sorted(p.name[len(_PREFIX) : -len(_SUFFIX)] for p in project.glob(stack_file_name("*")))


def is_secure(value: Any) -> bool:
    """A secure value as Pulumi writes it in a stack file: `secure: <ciphertext>` and nothing else."""
    return isinstance(value, dict) and set(value) == {"secure"}


def check_secure_values(config: Mapping[Any, Any], file: str) -> None:
    """ConfigError naming the first key of a stack file's `config:` whose value is meant to be secure
    but is not `secure: <ciphertext>` alone."""
    for key, value in config.items():
        if (
            isinstance(value, dict)
            and "secure" in value
            and not (is_secure(value) and isinstance(value["secure"], str))
        ):
            raise ConfigError(
                file,
                str(key),
                "a secure value is `secure: <ciphertext>` and nothing else (as Pulumi writes it)",
            )


def stack_values(raw: Any, file: str) -> tuple[dict[str, Any], set[str]]:
    """The project's keys of a stack file's document (without the namespace), and which of them are
    secure values (never decrypted: each is a placeholder)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("config"), dict):
        raise ConfigError(file, "config", "a stack file needs a 'config:' mapping")
    prefix = f"{defaults.CONFIG_NAMESPACE}:"
    values: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for full_key, value in raw["config"].items():
        if not str(full_key).startswith(prefix):
            continue
        key = str(full_key)[len(prefix) :]
        if is_secure(value):
            secret_keys.add(key)
            value = f"<secret {key}>"
        values[key] = value
    return values, secret_keys


def load_stack_file(path: Path, blocks_dir: Path | None = None, *, offline: bool = True) -> Stack:
    """Load Pulumi.<stack>.yaml without the engine: secure values stay encrypted and are never read;
    what the stack leaves unset is in Stack.unset, or with `offline=False` refused. The blocks are
    the project's (clusters/blocks beside the file) unless `blocks_dir` names others."""
    project = path.parent
    values, secret_keys = stack_values(yaml_io.load_file(path), str(path))
    name = path.name.removeprefix(_PREFIX).removesuffix(_SUFFIX)
    blocks = blocks_dir or project / defaults.BLOCKS_DIR
    return load_stack(name, values, secret_keys, str(path), blocks, project, offline=offline)


def open_stack(project: Path, stack: str) -> Stack:
    """Stack `stack` of the project, loaded offline (render, diff, status: nothing deploys); a
    missing stack file is an error listing the stacks there are."""
    path = stack_file(project, stack)
    if not os.path.lexists(path):
        known = stack_names(project)
        raise GitopsError(f"{path.name}: no such stack file (stacks here: {', '.join(known) or 'none'})")
    return load_stack_file(path)
