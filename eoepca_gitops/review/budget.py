"""Text that never grows beyond a size, cut where it reads well: the size cap of a review's markdown
(a pull-request comment GitHub refuses beyond 65,536 characters).

A document is a tree of Blocks (an opening and a closing text around items) and Leaves (one
object's diff, a table row, ...). `fit` writes it in order; a Block opens only with room for its
closing text and for a "… N more not shown" line; an item that does not fit is counted instead,
and the innermost open Block says how many it left out. A Leaf may have a short form (its first
lines and "… N more lines not shown"), used when its whole text does not fit or is over its limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MORE_ROOM", "Block", "Leaf", "fit", "more_line"]

#: Room kept in each open Block for its "… N more not shown" line.
MORE_ROOM = 96


def more_line(skipped: Counter[str], prefix: str = "") -> str:
    """`_… 3 more objects, 1 more stack not shown_`, a paragraph of its own."""
    what = ", ".join(f"{n} more {noun if n == 1 else noun + 's'}" for noun, n in sorted(skipped.items()))
    return f"\n{prefix}_… {what} not shown (size limit)_\n\n"


@dataclass
class Leaf:
    text: str
    noun: str = "object"  # what it counts as when left out
    short: Callable[[int], str | None] | None = None  # a form of at most n characters, or None
    limit: int | None = None  # longer than this, the short form is used even where the text fits


@dataclass
class Block:
    head: str
    tail: str = ""
    items: list[Block | Leaf] = field(default_factory=list)
    more_prefix: str = ""  # e.g. "> " inside a quote

    def leaves(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for item in self.items:
            out += item.leaves() if isinstance(item, Block) else Counter({item.noun: 1})
        return out


@dataclass
class _Writer:
    cap: int
    parts: list[str] = field(default_factory=list)
    used: int = 0
    reserved: int = 0

    @property
    def room(self) -> int:
        return self.cap - self.used - self.reserved

    def write(self, text: str) -> None:
        assert len(text) <= self.cap - self.used, "a reservation was not kept"
        self.parts.append(text)
        self.used += len(text)


def _leaf(leaf: Leaf, out: _Writer) -> bool:
    room = min(out.room, leaf.limit) if leaf.limit is not None else out.room
    if len(leaf.text) <= room:
        out.write(leaf.text)
        return True
    short = leaf.short(room) if leaf.short and room > 0 else None
    if short is not None and len(short) <= room:
        out.write(short)
        return True
    return False


def _block(block: Block, out: _Writer) -> bool:
    keep = len(block.tail) + MORE_ROOM
    if len(block.head) + keep > out.room:
        return False
    out.write(block.head)
    out.reserved += keep
    skipped: Counter[str] = Counter()
    for item in block.items:
        if isinstance(item, Block):
            if not _block(item, out):
                skipped += item.leaves()
        elif not _leaf(item, out):
            skipped[item.noun] += 1
    out.reserved -= keep
    if skipped:
        out.write(more_line(skipped, block.more_prefix)[:MORE_ROOM])
    out.write(block.tail)
    return True


def fit(document: Block, cap: int) -> str:
    """The document written in at most `cap` characters (its head cut if even that does not fit)."""
    out = _Writer(cap)
    if not _block(document, out):
        return document.head[: max(0, cap)]
    return "".join(out.parts)
