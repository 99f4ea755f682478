"""Flux postBuild substitution, on the text of each object as kustomize-controller does it
(fluxcd/pkg envsubst v1.7: a fork of drone/envsubst, checked case by case against it):

- `${name}` is the variable's value (newlines removed, as Flux loads them); an unset name is an
  error (strict, as this project runs Flux);
- `${name:=d}`, `${name:-d}`, `${name=d}`, `${name:+d}`, `${name:?d}`: the value unless it is
  empty or unset, else the default (text and `${...}`, concatenated); `-`, `+` and `?` without `:`
  are refused;
- `${#name}` length; `${name^}`, `${name^^}`, `${name,}`, `${name,,}` case; `${name:offset}`,
  `${name:offset:length}` substring; `${name/from/to}`, `${name//from/to}`, `${name/#from/to}`,
  `${name/%from/to}` replacement (of text); `${name#glob}`, `${name##glob}`, `${name%glob}`,
  `${name%%glob}` trimming (of the shortest or longest match of a glob pattern, a bad one
  trimming nothing);
- any other argument is either text or one `${...}`; only the replace operators read the `$$`,
  `\\/` and `\\\\` escapes in theirs, and their pattern ends at the next `/`, even past a `}`;
- `$$` is an escaped `$` (so `$${name}` is the literal `${name}`); any other `$` (nginx's
  `$request_uri`, shell's `$HOME`) passes through untouched;
- objects annotated or labelled `kustomize.toolkit.fluxcd.io/substitute: disabled` are skipped;
- with no variable at all, nothing is substituted (not even `$$`): Flux skips the step.

The builders use the same rules for the objects Pulumi applies in Flux's place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.fluxtree.gomatch import BadPattern, match, runes

__all__ = [
    "SUBSTITUTE_KEY",
    "SubstitutionError",
    "flux_envsubst",
    "substitute_object",
    "substitution_disabled",
    "unset_variables",
]

SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute"

_DEFAULTS = ("=", ":=", ":-", ":?", ":+")  # the operators that take an unset variable in strict mode
_INT = re.compile(rb"[+-]?[0-9]+")  # strconv.Atoi: a sign and ASCII digits, nothing else
_INT_RANGE = range(-(2**63), 2**63)
_LETTERS_AND_DIGITS = ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd")


class SubstitutionError(ValueError):
    """A postBuild variable has no value and no default, or a ${...} Flux cannot evaluate."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name  # the variable that is not set, if that is the problem


# Values are handled as UTF-8 bytes, as Go's strings are: offsets, lengths and trims count bytes,
# and Flux's results may cut a character in two (which its YAML parser then refuses).


class _Panic(Exception):
    """What makes Flux's envsubst panic (and its Kustomization fail)."""


def _reverse(b: bytes) -> bytes:
    return b"".join(reversed(runes(b)))


def _trim(s: bytes, pattern: bytes, longest: bool) -> bytes:
    """s without its shortest or longest non-empty prefix matching the glob pattern (unchanged for
    a bad pattern, as Flux gives up on its first error)."""
    found = 0
    try:
        for n in range(len(s), 0, -1):
            if match(pattern, s[:n]):
                found = n
                if longest:
                    break
    except BadPattern:
        return s
    return s[found:]


def _atoi(b: bytes) -> int | None:
    return int(b) if _INT.fullmatch(b) and int(b) in _INT_RANGE else None


def _substring(s: bytes, args: list[bytes]) -> bytes:
    pos = _atoi(args[0])
    if pos is None:
        return s
    pos = max(len(s) + pos, 0) if pos < 0 else pos
    if len(args) == 1:
        return s[pos:]
    length = _atoi(args[1])
    if length is None:
        return s
    if length < 0:
        end = len(s) + length
        return s[pos:end] if end >= pos else b""
    if pos + length not in _INT_RANGE:
        raise _Panic  # Go's int overflows: Flux's slice s[pos:pos+length] is out of range
    return s[pos : pos + length]


def _replace(s: bytes, args: list[bytes], count: int) -> bytes:
    old, new = args[0], args[1] if len(args) > 1 else b""  # `${v/a/}`: a deletion
    if old:
        return s.replace(old, new, count)
    # Go's strings.Replace matches an empty string before each character, not each byte
    if count == 1:
        return new + s
    return new + b"".join(char + new for char in runes(s))


def _simple_case(value: str, upper: bool) -> str:
    """Go's unicode.ToUpper/ToLower, a character at a time (so no final sigma). Where Python maps a
    character to several, Go's one-to-one mapping is, for upper, the title case if that is one
    character (ᾳ: ᾼ), else the character itself (ß, ﬁ); for lower (İ only) the first of them."""
    out = ""
    for char in value:
        mapped = char.upper() if upper else char.lower()
        if len(mapped) > 1:
            mapped = (char.title() if len(char.title()) == 1 else char) if upper else mapped[0]
        out += mapped
    return out


def _apply(op: str, value: str, args: list[bytes]) -> bytes:
    s = value.encode("utf-8", "surrogatepass")
    arg = args[0] if args else b""
    functions: dict[str, Callable[[], bytes | str]] = {
        "#": lambda: str(len(s)) if not args else _trim(s, arg, longest=False),
        "##": lambda: _trim(s, arg, longest=True),
        "%": lambda: _reverse(_trim(_reverse(s), _reverse(arg), longest=False)),
        "%%": lambda: _reverse(_trim(_reverse(s), _reverse(arg), longest=True)),
        ",": lambda: _simple_case(value[:1], upper=False) + value[1:],
        ",,": lambda: _simple_case(value, upper=False),
        "^": lambda: _simple_case(value[:1], upper=True) + value[1:],
        "^^": lambda: _simple_case(value, upper=True),
        ":": lambda: _substring(s, args),
        "/": lambda: _replace(s, args, 1),
        "//": lambda: _replace(s, args, -1),
        # without a replacement (`${v/#a/}` too) Flux leaves the value alone
        "/#": lambda: args[1] + s[len(arg) :] if len(args) == 2 and s.startswith(arg) else s,
        "/%": lambda: s[: len(s) - len(arg)] + args[1] if len(args) == 2 and s.endswith(arg) else s,
    }
    if op not in functions:  # `${v}`, the defaults, and casing like `${v^,}`
        return s if s or not args else b"".join(args)
    out = functions[op]()
    return out.encode("utf-8", "surrogatepass") if isinstance(out, str) else out


def _is_name_char(char: str) -> bool:  # Go's unicode.IsLetter or IsDigit, or `_`
    return char == "_" or unicodedata.category(char) in _LETTERS_AND_DIGITS


class _Parser:
    """One pass over a text: `$$` escapes and `${...}` expressions evaluated as they are read, with
    Flux's parser's rules for where each operator's arguments end."""

    def __init__(self, text: str, variables: Mapping[str, str]) -> None:
        self.text, self.at, self.variables = text, 0, variables
        # what fails once the text is parsed, in Flux's order: a parse error is raised at once
        self.errors: list[SubstitutionError] = []

    def fail(self) -> SubstitutionError:
        end = self.text.find("}", self.at)
        start = self.text.rfind("${", 0, self.at + 1)
        shown = self.text[start : end + 1 if end != -1 else None]
        return SubstitutionError(f"{shown}: not a variable reference Flux can evaluate")

    def peek(self, n: int = 1) -> str:
        return self.text[self.at : self.at + n]

    def take(self, chars: str, most: int) -> str:
        start = self.at
        while self.at - start < most and self.peek() and self.peek() in chars:
            self.at += 1
        return self.text[start : self.at]

    def close(self) -> None:
        if self.peek() != "}":
            raise self.fail()
        self.at += 1

    def all(self) -> str:
        """The text substituted ("" once self.errors has one)."""
        out = bytearray()
        spans: list[tuple[int, int, int, int]] = []  # bytes and text of each ${...}, for errors
        while (dollar := self.text.find("$", self.at)) != -1:
            out += self.text[self.at : dollar].encode("utf-8", "surrogatepass")
            self.at = dollar + 1
            if self.peek() in ("$", "{"):
                self.at += 1
            if self.text[dollar : self.at] == "${":
                start = len(out)
                out += self.expression()
                spans.append((start, len(out), dollar, self.at))
            else:
                out += b"$"
        out += self.text[self.at :].encode("utf-8", "surrogatepass")
        try:
            return "" if self.errors else out.decode()
        except UnicodeDecodeError as exc:
            where = [self.text[t0:t1] for b0, b1, t0, t1 in spans if b0 <= exc.start < b1]
            message = "gives text that is not UTF-8, which Flux's YAML parser refuses"
            self.errors.append(SubstitutionError(f"{where[0] if where else self.text}: {message}"))
            return ""

    def argument(self, stops: str, escapes: bool) -> bytes:
        """One argument: a nested `${...}`, or text up to one of `stops` or a `${` (with the `$$`,
        `\\/` and `\\\\` escapes only where Flux reads them: in the replace operators)."""
        if self.peek(2) == "${":
            self.at += 2
            return self.expression()
        out, start = [], self.at
        while self.at < len(self.text) and self.peek(2) != "${":
            if escapes and self.peek(2) in ("$$", "\\/", "\\\\"):
                self.at += 1
            elif self.peek() in stops:
                break
            out.append(self.peek())
            self.at += 1
        if self.at == start:
            raise self.fail()
        return "".join(out).encode("utf-8", "surrogatepass")

    def expression(self) -> bytes:
        """After `${`: the expression's value, the closing `}` consumed."""
        begin, op = self.at - 2, self.take("#", 1)
        start = self.at
        while self.peek() and _is_name_char(self.peek()):
            self.at += 1
        name = self.text[start : self.at]
        if not name:
            raise self.fail()
        args: list[bytes] = []
        c, after = self.peek(), self.peek(2)[1:]
        if op:
            self.close()
        elif c == "=" or (c == ":" and after and after in "=-?+"):
            op = self.take(":", 1) + self.take("=-?+", 1)
            while self.peek() != "}":
                args.append(self.argument("}", escapes=False))
            self.at += 1
        elif c == ":":
            if after > "\x7f":  # Flux's scanner steps back by the width of this character, not of `:`
                raise self.fail()
            op, self.at = ":", self.at + 1
            args.append(self.argument(":}", escapes=False))
            if self.take(":", len(self.text)):  # `${v:1::2}` is `${v:1:2}` to Flux
                args.append(self.argument("}", escapes=False))
            self.close()
        elif c in ("#", "%"):
            op = self.take(c, 2)
            args.append(self.argument("}", escapes=False))
            self.close()
        elif c in (",", "^"):
            op = self.take(",^", 2)
            self.close()
        elif c == "/":
            # the pattern ends at the next `/` only, even past a `}`
            op = self.take("/", 1) + self.take("/#%", 1)
            args.append(self.argument("/", escapes=True))
            if not self.take("/", len(self.text)):
                raise self.fail()
            if self.peek() != "}":
                args.append(self.argument("}", escapes=True))
            self.close()
        else:
            self.close()
        value = self.variables.get(name)
        if value is None and op not in _DEFAULTS:
            self.errors.append(SubstitutionError(f"variable ${{{name}}} is not set (strict mode)", name))
        try:
            return _apply(op, (value or "").replace("\n", ""), args)
        except _Panic:
            message = "Flux's envsubst panics on it (its int overflows)"
            self.errors.append(SubstitutionError(f"{self.text[begin : self.at]}: {message}"))
            return b""


def _substitute(text: str, variables: Mapping[str, str]) -> tuple[str, list[SubstitutionError]]:
    try:
        parser = _Parser(text, variables)
        return parser.all(), parser.errors
    except RecursionError:  # Go's stack grows as deep as `${a:=${b:=...}}` nests; Python's does not
        raise SubstitutionError(f"{text[:40]}...: `${{...}}` nested too deeply to follow") from None


def flux_envsubst(text: str, variables: Mapping[str, str]) -> str:
    out, errors = _substitute(text, variables)
    if errors:
        raise errors[0]
    return out


def unset_variables(text: str, variables: Mapping[str, str]) -> list[str]:
    """The variables `text` needs that `variables` does not set: what strict mode refuses.

    Raises SubstitutionError for a ${...} Flux cannot evaluate.
    """
    _, errors = _substitute(text, variables)
    for error in errors:
        if error.name is None:
            raise error
    return [error.name for error in errors if error.name is not None]


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
