"""bench/report.merge: a `--only` run replaces its scenarios' rows and sections, and says once, in the
results' head, which scenarios were measured again and when."""

from __future__ import annotations

from bench.report import merge


def _results(head: str, values: dict[str, str]) -> str:
    rows = "".join(f"| {k} | scenario {k} | {v} | PASS |\n" for k, v in values.items())
    sections = "".join(f"## {k}. scenario {k}\n\n{v}\n\n" for k, v in values.items())
    summary = "## Summary\n\n| # | scenario | headline | verdicts |\n|---|---|---|---|\n"
    return f"# Benchmarks\n\n{head}\n{summary}{rows}\n{sections}"


def test_a_run_replaces_its_scenarios_and_supersedes_older_lines() -> None:
    old = _results(
        "- date: then\n- scenario(s) 1 measured again on d1\n- scenario(s) 2, 3 measured again on d2\n",
        {"1": "one", "2": "two", "3": "three"},
    )
    fresh = _results("- date: now\n", {"2": "TWO", "3": "THREE"})
    after_one = merge(old, _results("- date: now\n", {"2": "TWO"}), {"2"}, "d3")
    merged = merge(after_one, fresh, {"2", "3"}, "d3")
    head = merged.split("## Summary")[0]
    assert head.strip().splitlines()[2:] == [
        "- date: then",
        "- scenario(s) 1 measured again on d1",
        "- scenario(s) 2, 3 measured again on d3",
    ]
    assert "| 1 | scenario 1 | one |" in merged and "| 3 | scenario 3 | THREE |" in merged
    assert "two" not in merged.replace("TWO", "") and merged.count("## 2.") == 1
