"""The base every model derives from: frozen, unknown keys refused, camelCase keys as in Kubernetes;
and the one check that a list of named things names each once."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

__all__ = ["DUPLICATE", "Model", "unique"]

DUPLICATE = "duplicate"  # the error type of `unique`

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


def unique(items: Sequence[T], key: Callable[[T], Hashable], what: str) -> Sequence[T]:
    """`items` when no two share `key` (else one would silently replace the other); a ValueError naming
    both positions otherwise, which carries the second's (`ctx["index"]`) for whoever can drop it."""
    seen: dict[Hashable, int] = {}
    for i, item in enumerate(items):
        first = seen.setdefault(key(item), i)
        if first != i:
            raise PydanticCustomError(
                DUPLICATE,
                "[{first}] and [{index}] are the same {what} {key}",
                {"first": first, "index": i, "what": what, "key": repr(key(item))},
            )
    return items
