"""The base every model derives from: frozen, unknown keys refused, camelCase keys as in Kubernetes;
and the one check that a list of named things names each once."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["Model", "unique"]

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


def unique(items: Sequence[T], key: Callable[[T], Hashable], what: str) -> Sequence[T]:
    """`items` when no two share `key` (else one would silently replace the other); ValueError naming
    both positions otherwise."""
    seen: dict[Hashable, int] = {}
    for i, item in enumerate(items):
        first = seen.setdefault(key(item), i)
        if first != i:
            raise ValueError(f"[{first}] and [{i}] are the same {what} {key(item)!r}")
    return items
