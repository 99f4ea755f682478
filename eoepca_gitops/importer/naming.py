"""Block names: Kubernetes names made of a tree's names, unique where they meet."""

from __future__ import annotations

import re

__all__ = ["block_name", "unique"]


def block_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "root"


def unique(name: str, taken: set[str]) -> str:
    """`name`, else `name-2`, `name-3`, ...: the first not in `taken`, which it joins."""
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate
