"""Edits of a stack file that keep what its authors wrote: comments, key order, quoting, flow style.

ruamel.yaml's round-trip mode keeps each comment on the node before it: the lines above a key are
held by the end of the previous value (its last scalar, however deep), or, for a mapping's first
key, by the mapping itself. So removing a key would take the comment of the key after it along,
and changing a value would leave the comment about the old one in place. `replace` and `drop` move
comments where a reader expects them: the lines above a changed or removed key give way to a note
saying what happened, the comment on the line of the previous value and the lines above the next
key stay.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from eoepca_gitops.errors import ConfigError

__all__ = ["append", "drop", "dump", "head", "load", "replace"]


def _yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never fold a long value the author kept on one line
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def load(text: str, file: str) -> Any:
    """The document of a stack file for round-trip edits (the strict loader has read it first)."""
    try:
        return _yaml().load(text)
    except YAMLError as exc:
        raise ConfigError(file, "(document)", f"not valid YAML: {exc}") from None


def dump(document: Any) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


# Where a comment is held: (a node's comment list, the index in it, whether it holds whole lines
# only: a mapping's first-key comment, a list of tokens; else one token, from the end of a value).
_Slot = tuple[list[Any], int, bool]


def _end(node: CommentedMap | CommentedSeq, key: Any) -> _Slot:
    """Where the comment after node[key]'s value lives: with its last scalar, however deep."""
    value = node[key]
    # A comment after a flow collection ({...}, [...]) is the key's: inside, it would break the flow.
    nested = isinstance(value, CommentedMap | CommentedSeq) and value and not value.fa.flow_style()
    if nested and isinstance(value, CommentedMap):
        return _end(value, list(value)[-1])
    if nested and isinstance(value, CommentedSeq):
        return _end(value, len(value) - 1)
    width = 4 if isinstance(node, CommentedMap) else 2
    items = node.ca.items.setdefault(key, [None] * width)
    return items, 2 if isinstance(node, CommentedMap) else 0, False


def _before(mapping: CommentedMap, key: Any) -> _Slot:
    """Where the comment lines above `key` live."""
    keys = list(mapping)
    i = keys.index(key)
    if i:
        return _end(mapping, keys[i - 1])
    if mapping.ca.comment is None:
        mapping.ca.comment = [None, None]
    return mapping.ca.comment, 1, True


def _text(slot: _Slot) -> str:
    container, index, _ = slot
    held = container[index]
    if held is None:
        return ""
    tokens = held if isinstance(held, list) else [held]
    return "".join(t.value for t in tokens if isinstance(t, CommentToken))


def _split(slot: _Slot) -> tuple[str, str]:
    """(the comment on the value's own line, the comment lines after it) of an end slot."""
    text = _text(slot)
    if slot[2]:
        return "", text
    eol, _, lines = text.partition("\n")
    return eol, lines


def _set(slot: _Slot, eol: str, lines: str, column: int) -> None:
    container, index, whole_lines = slot
    held = container[index]
    if whole_lines:
        tokens = [CommentToken(line.lstrip() + "\n", CommentMark(column)) for line in lines.splitlines()]
        if isinstance(held, list):
            held[:] = tokens  # the same list is the parent's comment for this key: change both
        else:
            container[index] = tokens or None
        return
    text = f"{eol}\n{lines}" if (eol or lines) else ""
    # An end-of-line comment keeps its column (the spaces before it are the mark's, not the text's).
    mark = held.start_mark if eol and isinstance(held, CommentToken) else CommentMark(column)
    container[index] = CommentToken(text, mark) if text and text != "\n" else None


def _note_lines(note: str, column: int) -> str:
    """`note` as comment lines at `column`, wrapped as the project's lines are (110 columns)."""
    width = 108 - column
    lines = [w for line in note.splitlines() for w in textwrap.wrap(line, width, break_on_hyphens=False)]
    return "".join(f"{' ' * column}# {line}\n" for line in lines)


def _column(mapping: CommentedMap, key: Any) -> int:
    try:
        return int(mapping.lc.key(key)[1])
    except (KeyError, TypeError, AttributeError):
        return 0


def replace(mapping: CommentedMap, key: Any, value: Any, note: str) -> None:
    """Sets mapping[key] (a scalar) to `value`; `note` takes the place of the comment above it and on
    its line, which were about the value it had."""
    column = _column(mapping, key)
    before = _before(mapping, key)
    eol, _ = _split(before)
    _set(before, eol, _note_lines(note, column), column)
    after = _end(mapping, key)
    _, lines = _split(after)
    _set(after, "", lines, column)
    mapping[key] = value


def drop(mapping: CommentedMap, key: Any, note: str) -> None:
    """Removes mapping[key] and the comments above it, on its line and inside its value; `note` says
    so in its place, and the comment lines above the next key stay there. (Several keys of one
    mapping: the last first, so that each note stays above the next.)"""
    column = _column(mapping, key)
    _, after = _split(_end(mapping, key))
    before = _before(mapping, key)
    eol, _ = _split(before)
    del mapping[key]
    _set(before, eol, _note_lines(note, column) + after, column)


def _commented(value: Any) -> Any:
    if isinstance(value, dict):
        return CommentedMap((k, _commented(v)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented(v) for v in value)
    return value


def append(mapping: CommentedMap, key: Any, value: Any, note: str, column: int) -> None:
    """mapping[key] = value as its last key (at `column`), `note` above it; of the comment lines that
    ended the mapping, those indented as its keys stay above the new one, those of an outer level
    (about what follows the mapping) still end it."""
    last = _end(mapping, list(mapping)[-1])
    eol, lines = _split(last)
    split = [(len(line) - len(line.lstrip()) >= column, line) for line in lines.splitlines(keepends=True)]
    inner = [line for is_inner, line in split if is_inner]
    outer = [line for is_inner, line in split if not is_inner]
    mapping[key] = _commented(value)
    _set(last, eol, "".join(inner) + _note_lines(note, column), column)
    _set(_end(mapping, key), "", "".join(outer), column)


def head(document: CommentedMap, note: str) -> None:
    """`note` as the first lines of the document, above its own first comment."""
    slot = _before(document, next(iter(document)))
    _set(slot, "", _note_lines(note, 0) + _split(slot)[1], 0)
