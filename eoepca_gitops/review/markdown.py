"""A review as GitHub-flavoured markdown: what the pull request's sticky comment shows.

The failures first (a quote GitHub shows as a caution), a table of the changed stacks, the
unchanged ones in one line, then per changed stack a <details> section and inside it one per group
(the Flux install, sources, each block, notifications), with the layers' objects: a changed
object as a ```diff of its YAML, an added or deleted one collapsed, a Helm release with its chart
change and its rendered objects. Never longer than `max_chars` (eoepca_gitops.review.budget).

Everything the change's author controls (names, values, messages) is escaped: code fences longer
than any backtick run of their content, HTML escaped in summaries, markdown punctuation escaped in
text, so that a change cannot forge the comment's structure.
"""

from __future__ import annotations

import html
import re

from eoepca_gitops.review.budget import Block, Leaf, fit
from eoepca_gitops.review.changes import (
    CHANGES,
    LAYERS,
    SIGN,
    ObjectChange,
    Review,
    Section,
    StackReview,
    counts,
)
from eoepca_gitops.review.json_format import state

__all__ = ["DEFAULT_MAX_CHARS", "MIN_MAX_CHARS", "markdown"]

#: Below GitHub's 65,536-character limit of a comment, with room for what a workflow adds around it.
DEFAULT_MAX_CHARS = 60_000
MIN_MAX_CHARS = 1_000
_LAYER_TITLES = {"pulumi": "Pulumi layer", "flux": "Flux layer", "helm": "Helm layer"}
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<#!|~&])")


def _text(value: str) -> str:
    """Free text as markdown shows it literally, on one line."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(value.split()))


def _html(value: str) -> str:
    return html.escape(" ".join(value.split()))


def _code(value: str) -> str:
    """An inline code span that holds `value` whatever backticks it has."""
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{' '.join(value.split())}{pad}{ticks}"


def _fenced(lines: list[str], language: str = "diff") -> str:
    body = "\n".join(lines)
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`{3,}", body)), default=0) + 1)
    return f"{fence}{language}\n{body}\n{fence}\n\n"


def _tally(sections: list[Section]) -> str:
    n = counts(sections)
    parts = [f"{SIGN[c]}{n[c]}" for c in CHANGES if n[c]]
    return " ".join(parts) or "—"


def _object(obj: ObjectChange, cap: int) -> Leaf:
    title = f"{obj.sign} {obj.title}" + (f" ({obj.detail})" if obj.detail else "")
    lines = obj.diff.splitlines()
    if obj.change == "changed":
        head, tail = f"{_code(title)}\n\n", ""
    else:  # the whole object, collapsed: its hunk header says nothing
        lines = lines[1:]
        head, tail = f"<details><summary><code>{_html(title)}</code></summary>\n\n", "</details>\n\n"

    def form(kept: int) -> str:
        shown = _fenced(lines[:kept]) if lines else ""
        if kept >= len(lines):
            return head + shown + tail
        return head + shown + f"_… {len(lines) - kept} more lines not shown_\n\n" + tail

    def short(room: int) -> str | None:
        fixed = len(form(0))
        kept, size = 0, fixed
        while kept < len(lines) and size + len(lines[kept]) + 1 + len(_fenced([])) <= room:
            size += len(lines[kept]) + 1
            kept += 1
        text = form(kept)
        return text if kept >= min(2, len(lines)) and len(text) <= room else None  # more than a hunk header

    return Leaf(form(len(lines)), short=short, limit=max(cap // 4, MIN_MAX_CHARS))


def _release(section: Section, cap: int) -> Block:
    head = f"**Helm layer** · {_code(section.release)}: {_text(section.chart)}\n\n"
    if section.error:
        head += f"- **error**: {_text(section.error)}\n"
    if section.note:
        head += f"- note: {_text(section.note)}\n"
    head += "\n" if section.error or section.note else ""
    return Block(head, items=[_object(o, cap) for o in section.objects])


def _group(group: str, sections: list[Section], cap: int) -> Block:
    tallies = " · ".join(
        f"{_LAYER_TITLES[layer].split()[0]} {_tally(of)}"
        for layer in LAYERS
        if (of := [s for s in sections if s.layer == layer])
    )
    block = Block(f"<details><summary>{_html(group)}: {tallies}</summary>\n\n", "</details>\n\n")
    for layer in ("pulumi", "flux"):
        objects = [o for s in sections if s.layer == layer for o in s.objects]
        if objects:
            block.items.append(
                Block(f"**{_LAYER_TITLES[layer]}**\n\n", items=[_object(o, cap) for o in objects])
            )
    block.items += [_release(s, cap) for s in sections if s.layer == "helm"]
    return block


def _stack(stack: StackReview, cap: int) -> Block:
    tallies = " · ".join(
        f"{_LAYER_TITLES[layer].split()[0]} "
        + ("not rendered" if layer == "helm" and stack.helm_note else _tally(stack.layer(layer)))
        for layer in LAYERS
    )
    what = {"added": " (new stack)", "deleted": " (stack removed)"}.get(stack.state, "")
    block = Block(
        f"<details open><summary><b>stack {_html(stack.name)}</b>{what}: {tallies}</summary>\n\n",
        "</details>\n\n",
    )
    lines = [*stack.upgrade, *stack.notes]
    if lines:
        block.items.append(Leaf(_fenced(lines, "text"), noun="note"))
    if stack.helm_note:
        block.items.append(Leaf(f"_Helm layer not rendered: {_text(stack.helm_note)}_\n\n", noun="note"))
    groups = list(dict.fromkeys(s.group for s in stack.sections))
    block.items += [_group(g, [s for s in stack.sections if s.group == g], cap) for g in groups]
    return block


def _row(stack: StackReview) -> str:
    helm = "not rendered" if stack.helm_note else _tally(stack.layer("helm"))
    cells = [_code(stack.name), state(stack), *(_tally(stack.layer(layer)) for layer in LAYERS[:2]), helm]
    if stack.errors:
        cells[1] += " (**failed**)"
    return "| " + " | ".join(cells) + " |\n"


def markdown(review: Review, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The review as a comment of at most `max_chars` characters."""
    shown = [s for s in review.stacks if state(s) != "unchanged" or s.errors]
    unchanged = [s for s in review.stacks if s not in shown]
    title = f"### eoepca-gitops diff: {_code(review.base)} → {_text(review.head)}\n\n"
    document = Block(title)
    if review.errors:
        document.items.append(
            Block(
                "> [!CAUTION]\n> The check fails:\n>\n",
                "\n",
                [Leaf(f"> - {_text(e)}\n", noun="error") for e in review.errors],
                more_prefix="> ",
            )
        )
    if shown:
        table = Block(
            "| stack | change | Pulumi layer | Flux layer | Helm layer |\n|---|---|---|---|---|\n", "\n"
        )
        table.items += [Leaf(_row(s), noun="stack") for s in shown]
        document.items.append(table)
    if unchanged:
        names = ", ".join(_code(s.name) for s in unchanged)
        document.items.append(Leaf(f"No change in {names}.\n\n", noun="line"))
    document.items += [_stack(s, max_chars) for s in shown]
    return fit(document, max_chars)
