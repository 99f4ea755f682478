"""Flux postBuild substitution, on the text of each object as kustomize-controller does it.

- `${name}` is replaced by the variable's value (newlines removed, as Flux loads them); an unset
  name without a default is an error (strict, as this project runs Flux);
- `${name:=default}`, `${name:-default}`, `${name=default}`, `${name-default}` give a default;
- `$$` is an escaped `$` (so `$${name}` is the literal `${name}`);
- any other `$` (nginx's `$request_uri`, shell's `$HOME`) passes through untouched;
- objects annotated or labelled `kustomize.toolkit.fluxcd.io/substitute: disabled` are skipped;
- with no variable at all, nothing is substituted (not even `$$`): Flux skips the step.

The builders use the same rules for the objects Pulumi applies in Flux's place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from eoepca_gitops import yaml_io

__all__ = [
    "SUBSTITUTE_KEY",
    "SubstitutionError",
    "flux_envsubst",
    "substitute_object",
    "substitution_disabled",
    "unset_variables",
]

SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute"

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}")
_EXPR = re.compile(r"^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[=-])(.*))?$", re.DOTALL)


class SubstitutionError(ValueError):
    """A postBuild variable has no value and no default, or a ${...} Flux cannot evaluate."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name  # the variable that is not set, if that is the problem


def _evaluate(text: str, variables: Mapping[str, str], unset: Callable[[str], str]) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        expr = _EXPR.match(m.group(1))
        if not expr:
            raise SubstitutionError(f"${{{m.group(1)}}}: not a variable reference Flux can evaluate")
        name, op, default = expr.groups()
        value = variables.get(name)
        if op and (value is None or (op.startswith(":") and value == "")):
            return str(default)
        if value is None:
            return unset(name)
        return value.replace("\n", "")

    return _TOKEN.sub(replace, text)


def flux_envsubst(text: str, variables: Mapping[str, str]) -> str:
    def refuse(name: str) -> str:
        raise SubstitutionError(f"variable ${{{name}}} is not set (strict mode)", name)

    return _evaluate(text, variables, refuse)


def unset_variables(text: str, variables: Mapping[str, str]) -> list[str]:
    """The variables `text` needs (no default) that `variables` does not set: what strict mode refuses.

    Raises SubstitutionError for a ${...} Flux cannot evaluate.
    """
    missing: list[str] = []

    def note(name: str) -> str:
        missing.append(name)
        return ""

    _evaluate(text, variables, note)
    return missing


def substitution_disabled(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    return (meta.get("annotations") or {}).get(SUBSTITUTE_KEY) == "disabled" or (
        meta.get("labels") or {}
    ).get(SUBSTITUTE_KEY) == "disabled"


def substitute_object(obj: dict[str, Any], variables: Mapping[str, str]) -> dict[str, Any]:
    """One object after postBuild substitution (unchanged when substitution is disabled on it, or
    when there are no variables)."""
    if not variables or substitution_disabled(obj):
        return obj
    text = yaml.dump(obj, Dumper=yaml.CSafeDumper, sort_keys=False, width=1 << 16)
    if "$" not in text:
        return obj
    out: dict[str, Any] = yaml_io.load(flux_envsubst(text, variables))
    return out
