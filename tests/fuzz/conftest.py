"""The fuzzer's report: how many inputs each command was given in this run."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.fuzz.test_fuzz_commands import COUNTS, MINUTES, SEED

    if not COUNTS:
        return
    budget = f"{MINUTES:g} minutes" if MINUTES else f"the fixed budget of make check, seed {SEED}"
    terminalreporter.write_sep("-", f"fuzz: inputs tried per command ({budget})")
    for name, count in sorted(COUNTS.items()):
        terminalreporter.write_line(f"{name:12} {count}")
    terminalreporter.write_line(f"{'total':12} {sum(COUNTS.values())}")
