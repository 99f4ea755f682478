"""Results as data, and as bench/results.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.harness import Stats


@dataclass
class Row:
    what: str
    stats: Stats | None = None  # repeated measurements
    value: str | None = None  # a single figure or a reference value
    unit: str = "s"
    ratio: float | None = None  # median / the same run's baseline median
    goal: str = ""
    verdict: str = ""  # PASS, MISS, or "" (baseline / reference / information)
    reason: str = ""


@dataclass
class Result:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    extra_md: str = ""  # more tables (profile, breakdown)
    headline: str = ""


def num(x: float, unit: str = "s") -> str:
    if unit == "s":
        return f"{x:.3f}" if x < 1 else f"{x:.2f}"
    if unit == "MB":
        return f"{x:.1f}"
    if unit in ("%", "ms"):
        return f"{x:.2f}"
    return f"{x:g}"


def verdict(ok: bool, reason_if_miss: str) -> tuple[str, str]:
    return ("PASS", "") if ok else ("MISS", reason_if_miss)


def table(rows: list[Row]) -> str:
    out = [
        "| what | n | median | min | max | unit | ratio to baseline | goal | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.stats is not None:
            s = r.stats
            cells = [str(len(s.samples)), num(s.median, r.unit), num(s.min, r.unit), num(s.max, r.unit)]
        else:
            cells = ["", r.value or "", "", ""]
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        v = r.verdict if not r.reason else f"{r.verdict}: {r.reason}"
        if r.verdict == "MISS":
            v = f"**{v}**"
        out.append(f"| {r.what} | {' | '.join(cells)} | {r.unit} | {ratio} | {r.goal} | {v} |")
    return "\n".join(out)


def render(results: list[Result], header: str, summary_extra: str = "") -> str:
    parts = [header]
    parts.append("## Summary\n")
    parts.append("| # | scenario | headline | verdicts |\n|---|---|---|---|")
    for r in results:
        verdicts = [row.verdict for row in r.rows if row.verdict]
        shown = "ERROR" if r.error else (", ".join(verdicts) or "reference only")
        parts.append(f"| {r.key} | {r.title} | {r.headline} | {shown} |")
    parts.append("")
    if summary_extra:
        parts.append(summary_extra)
    for r in results:
        parts.append(f"## {r.key}. {r.title}\n")
        parts.append(f"Scenario wall time: {r.seconds:.0f} s.\n")
        if r.error:
            parts.append(f"**ERROR — the scenario did not complete:**\n\n```\n{r.error}\n```\n")
        if r.rows:
            parts.append(table(r.rows) + "\n")
        for note in r.notes:
            parts.append(f"- {note}")
        if r.notes:
            parts.append("")
        if r.extra_md:
            parts.append(r.extra_md + "\n")
    return "\n".join(parts).rstrip() + "\n"


def _sections(text: str) -> tuple[str, dict[str, str], list[str], dict[str, str], str]:
    """(header, summary rows by key, their order, sections by key, what follows the sections)."""
    head, _, rest = text.partition("## Summary\n")
    summary, _, body = rest.partition("\n## ")
    rows = {
        line.split("|")[1].strip(): line
        for line in summary.splitlines()
        if line.startswith("| ") and "---" not in line
    }
    rows.pop("#", None)
    body, _, tail = ("## " + body).partition("## Analysis")
    sections: dict[str, str] = {}
    for part in body.split("\n## "):
        part = part if part.startswith("## ") else "## " + part
        key = part[3:].split(".", 1)[0]
        sections[key] = part.rstrip() + "\n"
    return head, rows, list(rows), sections, ("## Analysis" + tail) if tail else ""


def _order(key: str) -> tuple[int, int]:
    return (1, 0) if not key.isdigit() else (0, int(key))


def _remeasured(line: str, keys: set[str]) -> bool:
    """A "measured again" line of the results' head whose scenarios are all among `keys`."""
    prefix = "- scenario(s) "
    if not line.startswith(prefix) or " measured again on " not in line:
        return False
    named = line[len(prefix) :].split(" measured again on ")[0].split(", ")
    return set(named) <= keys


def merge(old: str, fresh: str, keys: set[str], date: str) -> str:
    """The results file `old` with the scenarios `keys` as `fresh` has them (`python -m bench --only`)."""
    head, rows, _, sections, tail = _sections(old)
    _, new_rows, _, new_sections, _ = _sections(fresh)
    for key in keys:
        rows[key], sections[key] = new_rows[key], new_sections[key]
    order = sorted(rows, key=_order)
    again = f"- scenario(s) {', '.join(sorted(keys, key=_order))} measured again on {date}"
    # A line is superseded once all it names is measured again (a run also writes after each scenario).
    lines = [ln for ln in head.rstrip().splitlines() if not _remeasured(ln, keys)]
    head = "\n".join([*lines, again]) + "\n\n"
    summary = "## Summary\n\n| # | scenario | headline | verdicts |\n|---|---|---|---|\n"
    summary += "\n".join(rows[k] for k in order) + "\n\n"
    return head + summary + "\n".join(sections[k] for k in sorted(sections, key=_order)) + "\n" + tail
