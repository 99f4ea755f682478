"""`status --watch`: read again and again, show what is read when it differs from what was shown last,
until told to stop (Ctrl-C) or, with `until`, until what is read satisfies it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["watch"]

T = TypeVar("T")


def watch(
    read: Callable[[], T],
    show: Callable[[T], None],
    *,
    every: float,
    key: Callable[[T], Any],
    until: Callable[[T], bool] | None = None,
    waiting: Callable[[T, float], None] = lambda _s, _t: None,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Shows the first reading and each one whose `key` changed; returns the reading `until` accepts
    (never, without `until`: Ctrl-C ends it). `waiting(last, seconds)` is told before each pause."""
    shown: Any = object()
    while True:
        current = read()
        if key(current) != shown:
            show(current)
            shown = key(current)
        if until is not None and until(current):
            return current
        waiting(current, every)
        (sleep or time.sleep)(every)
