"""Go's path.Match as fluxcd/pkg's envsubst forks it (envsubst/path), on UTF-8 bytes as Go's
strings are: `*` and `?` match `/` too; `[...]` classes negate with `^` only; `\\` escapes.

A bad pattern raises BadPattern only where matching reaches it, as Go's does; a pattern that
matches anything is well formed, so a trim that gives up on BadPattern gives Flux's answer.
"""

from __future__ import annotations

__all__ = ["RUNE_ERROR", "BadPattern", "decode_rune", "match", "runes"]

RUNE_ERROR = 0xFFFD


def decode_rune(b: bytes, i: int) -> tuple[int, int]:
    """Go's utf8.DecodeRune at b[i]: (code point, width), (U+FFFD, 1) for an invalid byte."""
    if b[i] < 0x80:
        return b[i], 1
    for width in (2, 3, 4):
        try:
            char = b[i : i + width].decode()
        except UnicodeDecodeError:
            continue
        if len(char) == 1:
            return ord(char), width
    return RUNE_ERROR, 1


def runes(b: bytes) -> list[bytes]:
    """b split as Go's range over a string does, each invalid byte becoming U+FFFD."""
    out, i = [], 0
    while i < len(b):
        code, width = decode_rune(b, i)
        out.append(chr(code).encode() if width == 1 else b[i : i + width])
        i += width
    return out


class BadPattern(Exception):
    """A glob pattern Go's path.Match refuses."""


def _chunks(pattern: bytes) -> list[tuple[bool, bytes]]:
    """The pattern as (preceded by `*`, run of single-character terms) pairs."""
    chunks = []
    while pattern:
        rest = pattern.lstrip(b"*")
        star, pattern, i, in_class = len(rest) < len(pattern), rest, 0, False
        while i < len(pattern) and (pattern[i] != ord("*") or in_class):
            if pattern[i] == ord("\\"):
                i += 1  # an escaped `]` or `*` neither ends a class nor a chunk
            elif pattern[i] in b"[]":
                in_class = pattern[i] == ord("[")
            i += 1
        chunks.append((star, pattern[:i]))
        pattern = pattern[i:]
    return chunks


def _class_char(chunk: bytes, i: int) -> tuple[int, int]:
    """A possibly escaped character of a class at chunk[i] and the index after it; a class left
    open, an unescaped `-` or `]` where a character is due and an invalid byte are bad."""
    if i >= len(chunk) or chunk[i] in b"-]":
        raise BadPattern
    i += chunk[i] == ord("\\")
    if i >= len(chunk):
        raise BadPattern
    code, width = decode_rune(chunk, i)
    if (code == RUNE_ERROR and width == 1) or i + width >= len(chunk):
        raise BadPattern
    return code, i + width


def _match_chunk(chunk: bytes, s: bytes, at: int) -> int | None:
    """Where the match of chunk at s[at] ends, None if it does not match there."""
    i = 0
    while i < len(chunk):
        if at >= len(s):
            return None
        if chunk[i] == ord("["):
            code, width = decode_rune(s, at)
            at, i = at + width, i + 1
            negated = chunk[i : i + 1] == b"^"
            i, matched, ranges = i + negated, False, 0
            while chunk[i : i + 1] != b"]" or not ranges:
                lo, i = _class_char(chunk, i)
                hi = lo
                if chunk[i] == ord("-"):
                    hi, i = _class_char(chunk, i + 1)
                matched, ranges = matched or lo <= code <= hi, ranges + 1
            i += 1
            if matched == negated:
                return None
        elif chunk[i] == ord("?"):
            at, i = at + decode_rune(s, at)[1], i + 1
        else:
            i += chunk[i] == ord("\\")
            if i == len(chunk):
                raise BadPattern
            if chunk[i] != s[at]:
                return None
            at, i = at + 1, i + 1
    return at


def match(pattern: bytes, name: bytes) -> bool:
    """fluxcd/pkg's fork of Go's path.Match: `*` and `?` match `/` too, a trailing `*` matches the
    rest, and each chunk after a `*` takes its first place that lets the last chunk end the name
    (no backtracking: the same answers as Flux's, byte for byte)."""
    chunks, at = _chunks(pattern), 0
    for n, (star, chunk) in enumerate(chunks):
        if star and not chunk:
            return True
        last = n == len(chunks) - 1
        starts = range(at, len(name) + 1) if star else range(at, at + 1)
        for start in starts:
            end = _match_chunk(chunk, name, start)
            if end is not None and (end == len(name) or not last):
                at = end
                break
        else:
            return False
    return at == len(name)
