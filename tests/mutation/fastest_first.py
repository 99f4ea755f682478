"""pytest plugin of `make mutation`: a mutant's tests run fastest first.

mutmut hands pytest the tests that reach the mutated function in no useful order and stops at the
first failure (-x). Most mutants are killed by their quickest test, so running it first saves the
seconds of the slow import tests that would otherwise often run before it. The durations are the
ones mutmut measured (mutmut-stats.json in mutants/, the folder the tests run in); outside a
mutation run (no MUTANT_UNDER_TEST) the order is left alone.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest

STATS = Path("mutmut-stats.json")


@cache
def _durations() -> dict[str, float]:
    durations: dict[str, float] = json.loads(STATS.read_text(encoding="utf-8"))["duration_by_test"]
    return durations


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") and STATS.exists():
        durations = _durations()
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
