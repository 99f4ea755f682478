"""Flux postBuild substitution, on the text of each object as kustomize-controller does it
(fluxcd/pkg envsubst: a fork of drone/envsubst):

- `${name}` is the variable's value (newlines removed, as Flux loads them); an unset name is an
  error (strict, as this project runs Flux);
- `${name:=default}`, `${name:-default}`, `${name=default}` (and `:+ + :? ?`): the value unless it
  is empty or unset, else the default (which may hold `${...}` itself);
- `${#name}` length; `${name^}`, `${name^^}`, `${name,}`, `${name,,}` case; `${name:offset}`,
  `${name:offset:length}` substring; `${name/from/to}`, `${name//from/to}`, `${name/#from/to}`,
  `${name/%from/to}` replacement (of text); `${name#glob}`, `${name##glob}`, `${name%glob}`,
  `${name%%glob}` trimming (of the shortest or longest match of a glob pattern);
- `$$` is an escaped `$` (so `$${name}` is the literal `${name}`); any other `$` (nginx's
  `$request_uri`, shell's `$HOME`) passes through untouched;
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

_IDENT = re.compile(r"[A-Za-z0-9_]+")
_DEFAULTS = ("=", ":=", ":-", ":?", ":+")


class SubstitutionError(ValueError):
    """A postBuild variable has no value and no default, or a ${...} Flux cannot evaluate."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name  # the variable that is not set, if that is the problem


def _glob(pattern: str) -> re.Pattern[str] | None:
    """fluxcd/pkg's path.Match pattern (Go's, except that `*` and `?` match `/` too) as a regular
    expression; None for a class never closed, a bad pattern that matches nothing."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out += ".*"
        elif c == "?":
            out += "."
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                return None
            body = pattern[i + 1 : end]
            out += "[" + body + "]"  # Go negates with ^ only, as re does
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z", re.DOTALL)


def _trim(s: str, pattern: str, longest: bool) -> str:
    """s without its shortest or longest non-empty prefix matching the glob pattern."""
    glob = _glob(pattern)
    if glob is None:
        return s
    matches = [n for n in range(len(s), 0, -1) if glob.match(s[:n])]
    if not matches:
        return s
    return s[(matches[0] if longest else matches[-1]) :]


def _substring(s: str, args: list[str]) -> str:
    try:
        pos = int(args[0])
    except ValueError:
        return s
    pos = max(len(s) + pos, 0) if pos < 0 else pos
    if len(args) == 1:
        return s[pos:]
    try:
        length = int(args[1])
    except ValueError:
        return s
    if length < 0:
        end = len(s) + length
        return s[pos:end] if end >= pos else ""
    return s[pos : pos + length]


def _apply(op: str, s: str, args: list[str]) -> str:
    arg = args[0] if args else ""
    rest = args[1] if len(args) > 1 else ""
    functions: dict[str, Callable[[], str]] = {
        "#": lambda: str(len(s.encode())) if not args else _trim(s, arg, longest=False),
        "##": lambda: _trim(s, arg, longest=True),
        "%": lambda: _trim(s[::-1], arg[::-1], longest=False)[::-1],
        "%%": lambda: _trim(s[::-1], arg[::-1], longest=True)[::-1],
        ",": lambda: s[:1].lower() + s[1:],
        ",,": lambda: s.lower(),
        "^": lambda: s[:1].upper() + s[1:],
        "^^": lambda: s.upper(),
        ":": lambda: _substring(s, args),
        "/": lambda: s.replace(arg, rest, 1),
        "//": lambda: s.replace(arg, rest),
        "/#": lambda: rest + s[len(arg) :] if s.startswith(arg) else s,
        "/%": lambda: s[: len(s) - len(arg)] + rest if s.endswith(arg) else s,
    }
    if op in _DEFAULTS or op == "}":
        return s if s or op == "}" else "".join(args)
    return functions[op]()


class _Parser:
    """One pass over a text: `$$` escapes and `${...}` expressions evaluated as they are read."""

    def __init__(self, text: str, variables: Mapping[str, str], unset: Callable[[str], str]) -> None:
        self.text, self.at, self.variables, self.unset = text, 0, variables, unset

    def fail(self) -> SubstitutionError:
        end = self.text.find("}", self.at)
        start = self.text.rfind("${", 0, self.at + 1)
        shown = self.text[start : end + 1 if end != -1 else None]
        return SubstitutionError(f"{shown}: not a variable reference Flux can evaluate")

    def peek(self, n: int = 1) -> str:
        return self.text[self.at : self.at + n]

    def all(self) -> str:
        out: list[str] = []
        while (dollar := self.text.find("$", self.at)) != -1:
            out.append(self.text[self.at : dollar])
            self.at = dollar + 1
            if self.peek() == "$":
                out.append("$")
                self.at += 1
            elif self.peek() == "{":
                self.at += 1
                out.append(self.expression())
            else:
                out.append("$")
        out.append(self.text[self.at :])
        return "".join(out)

    def argument(self, stops: str) -> str:
        """An argument up to one of `stops`: text, `$$` and `\\/` escapes, nested `${...}`."""
        out: list[str] = []
        while self.at < len(self.text) and self.peek() not in stops:
            if self.peek(2) in ("$$", "\\/", "\\\\"):
                out.append(self.peek(2)[1])
                self.at += 2
            elif self.peek(2) == "${":
                self.at += 2
                out.append(self.expression())
            else:
                out.append(self.peek())
                self.at += 1
        if self.at >= len(self.text):
            raise self.fail()
        return "".join(out)

    def expression(self) -> str:
        """After `${`: the expression's value, the closing `}` consumed."""
        length = self.peek() == "#"
        self.at += length
        name = _IDENT.match(self.text, self.at)
        if not name:
            raise self.fail()
        self.at = name.end()
        op = "#" if length else self.operator()
        args: list[str] = []
        if op == "/" or op.startswith("/"):
            args = [self.argument("/}")]
            if self.peek() == "/":
                self.at += 1
                args.append(self.argument("}"))
        elif op == ":":
            args = [self.argument(":}")]
            if self.peek() == ":":
                self.at += 1
                args.append(self.argument("}"))
        elif op not in ("}", ",", ",,", "^", "^^") and not length:
            args = [self.argument("}")]
        if self.peek() != "}":
            raise self.fail()
        self.at += 1
        value = self.variables.get(name.group())
        if value is None and op not in _DEFAULTS:
            value = self.unset(name.group())
        return _apply(op, (value or "").replace("\n", ""), args)

    def operator(self) -> str:
        two, one = self.peek(2), self.peek()
        if two in (":=", ":-", ":?", ":+", ",,", "^^", "##", "%%", "//", "/#", "/%"):
            self.at += 2
            return two
        if one in ("=", ",", "^", "#", "%", "/", ":"):
            self.at += 1
            return one
        if one == "}":
            return "}"
        raise self.fail()


def flux_envsubst(text: str, variables: Mapping[str, str]) -> str:
    def refuse(name: str) -> str:
        raise SubstitutionError(f"variable ${{{name}}} is not set (strict mode)", name)

    return _Parser(text, variables, refuse).all()


def unset_variables(text: str, variables: Mapping[str, str]) -> list[str]:
    """The variables `text` needs that `variables` does not set: what strict mode refuses.

    Raises SubstitutionError for a ${...} Flux cannot evaluate.
    """
    missing: list[str] = []

    def note(name: str) -> str:
        missing.append(name)
        return ""

    _Parser(text, variables, note).all()
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
