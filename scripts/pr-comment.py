#!/usr/bin/env python3
"""The pull request's comment: the review's errors, each stack's preview result and the three-layer
diff, in one markdown body that stays under GitHub's limit for a comment by construction.

    scripts/pr-comment.py --review DIR --previews DIR [--head SHA] [--base REV]   the comment, on stdout
    scripts/pr-comment.py --diff-budget      the characters `diff --max-chars` may use (pr-review.sh)

DIR of --review is what scripts/pr-review.sh wrote (stacks.txt, errors.txt, diff.md); DIR of
--previews holds the STACK.result files of scripts/pr-preview.sh. Every part has a budget: the
header, the errors and the preview table are cut to theirs (with "N more"), the diff was capped to
its own by `diff --max-chars` and is cut safely (open code fences and <details> closed) should it
still exceed it. The first line is a hidden marker by which the comment workflow finds its comment
to update it in place. Standard library only: the workflow runs it before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

#: The hidden first line that identifies the comment (.github/workflows/pr-comment.yml looks for it).
MARKER = "<!-- eoepca-gitops-review -->"
#: GitHub refuses a comment body over 65,536 characters; a margin for what GitHub counts differently.
LIMIT = 65_536
TARGET = LIMIT - 536
HEADER_BUDGET = 1_000
ERRORS_BUDGET = 3_000
PREVIEWS_BUDGET = 3_000
SEPARATORS = 10  # the blank lines between the parts
DIFF_BUDGET = TARGET - HEADER_BUDGET - ERRORS_BUDGET - PREVIEWS_BUDGET - SEPARATORS
#: The longest cell or line shown for one error or one preview (the job log has the rest).
LINE_CAP = 300

ICONS = {"previewed": "✅", "changes": "📝", "failed": "❌", "not-previewed": "⚪", "missing": "❔"}
#: How the header counts the stacks of each result, most urgent first.
TALLY = {
    "failed": "failed",
    "changes": "with changes",
    "previewed": "without changes",
    "not-previewed": "not previewed",
    "missing": "without a result",
}
LABELS = {
    "previewed": "previewed",
    "changes": "changes",
    "failed": "failed",
    "not-previewed": "not previewed",
    "missing": "no result",
}


def size(text: str) -> int:
    """Characters as GitHub counts them at most (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def capped(text: str, limit: int = LINE_CAP) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell(text: str) -> str:
    """Text safe inside a table cell: no line break, no column separator, no raw HTML."""
    return capped(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def within(lines: list[str], budget: int, more: str) -> list[str]:
    """As many lines as fit in `budget`, then one line saying how many more were left out."""
    if sum(size(line) + 1 for line in lines) <= budget:
        return lines
    kept: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        note = more.format(n=len(lines) - i)
        if used + size(line) + 1 + size(note) + 1 > budget:
            return [*kept, note]
        kept.append(line)
        used += size(line) + 1
    return kept


def cut(markdown: str, budget: int) -> str:
    """`markdown` cut at a line to fit `budget`, with open code fences and <details> closed."""
    if size(markdown) <= budget:
        return markdown
    note = "*The diff is cut here to fit the comment: the whole review is the workflow run's artefact.*"
    kept = markdown.splitlines()
    while kept:
        text = "\n".join(kept)
        closing = ["```"] if sum(1 for line in kept if line.lstrip().startswith("```")) % 2 else []
        opened = len(re.findall(r"<details\b", text)) - len(re.findall(r"</details>", text))
        closing += ["</details>"] * max(opened, 0)
        result = "\n".join([*kept, *closing, "", note])
        if size(result) <= budget:
            return result
        # drop lines by the size still in excess (at least one), then close what is open again
        excess = size(result) - budget
        while kept and excess > 0:
            excess -= size(kept.pop()) + 1
    return note


def lines_of(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def read_result(path: Path) -> tuple[str, str]:
    lines = path.read_text().splitlines() if path.is_file() else []
    if not lines:
        return "missing", "the preview job left no result (cancelled or failed early: see the workflow run)"
    status, detail = lines[0].strip(), (lines[1] if len(lines) > 1 else "")
    return (status, detail) if status in LABELS else ("missing", f"unreadable result file {path.name}")


def previews(stacks: list[str], folder: Path) -> tuple[list[str], dict[str, int]]:
    counts: dict[str, int] = {}
    rows = []
    for stack in stacks:
        status, detail = read_result(folder / f"{stack}.result")
        counts[status] = counts.get(status, 0) + 1
        rows.append(f"| `{cell(stack)}` | {ICONS[status]} {LABELS[status]} | {cell(detail)} |")
    table = within(rows, PREVIEWS_BUDGET - 200, "| … | {n} more stacks | see the workflow run |")
    return ["#### `pulumi preview`", "", "| stack | result | |", "|---|---|---|", *table], counts


def errors_part(errors: list[str]) -> str:
    lines = []
    for error in errors:
        step, _, message = error.partition(": ")
        lines.append(f"- `{cell(step)}`: {cell(message)}")
    return "\n".join(["#### Errors", "", *within(lines, ERRORS_BUDGET - 50, "- … {n} more: see the job log")])


def compose(review: Path, preview_dir: Path, head: str, base: str) -> str:
    errors = lines_of(review / "errors.txt")
    preview_lines, counts = previews(lines_of(review / "stacks.txt"), preview_dir)
    failed = len(errors) + counts.get("failed", 0)
    verdict = "❌ the check fails" if failed else "✅ every stack renders, validates and diffs"
    where = " ".join(x for x in (f"`{head[:12]}`" if head else "", f"against `{base}`" if base else "") if x)
    counted = ", ".join(f"{counts[s]} {TALLY[s]}" for s in TALLY if counts.get(s))
    header = [
        MARKER,
        "### eoepca-gitops review",
        "",
        capped(f"{verdict} ({where})" if where else verdict, HEADER_BUDGET // 2),
        capped(f"Previews: {counted or 'none'}.", HEADER_BUDGET // 4),
    ]
    parts = ["\n".join(header)]
    if errors:
        parts.append(errors_part(errors))
    parts.append("\n".join(preview_lines))
    diff = (review / "diff.md").read_text().rstrip() if (review / "diff.md").is_file() else ""
    parts.append(
        cut(diff, DIFF_BUDGET) if diff else "#### Changes\n\nThe diff did not run: see the errors above."
    )
    body = "\n\n".join(parts) + "\n"
    assert size(body) <= TARGET, size(body)  # by construction: every part is within its budget
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--diff-budget", action="store_true", help="print the diff's character budget")
    parser.add_argument("--review", type=Path, help="what scripts/pr-review.sh wrote")
    parser.add_argument("--previews", type=Path, help="the STACK.result files of scripts/pr-preview.sh")
    parser.add_argument("--head", default="", help="the pull request's head commit")
    parser.add_argument("--base", default="", help="the revision it is compared with")
    opts = parser.parse_args(argv)
    if opts.diff_budget:
        print(DIFF_BUDGET)
        return 0
    if opts.review is None or opts.previews is None:
        parser.error("--review and --previews are required")
    sys.stdout.write(compose(opts.review, opts.previews, opts.head, opts.base))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
