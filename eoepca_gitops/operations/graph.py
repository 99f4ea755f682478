"""The status page's picture: a stack's blocks and their dependencies as a graph, each block coloured
by its health, what a failing block holds up marked, suspended and drifted blocks marked, each with
when it last changed. Pure: a ClusterStatus in, an inline SVG out (laid out here: a column per
dependency depth, no script or stylesheet from elsewhere; the machine may be offline).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eoepca_gitops.credentials import redact
from eoepca_gitops.operations.status import BlockStatus, ClusterStatus

__all__ = ["BlockHealth", "block_health", "graph_svg", "layout"]

#: fill, stroke and what the legend calls each health
HEALTH = {
    "ready": ("#dafbe1", "#1a7f37", "Ready"),
    "failing": ("#ffebe9", "#cf222e", "failing"),
    "blocked": ("#fff1e5", "#bc4c00", "held up by a failing dependency"),
    "waiting": ("#fff8c5", "#9a6700", "reconciling"),
    "suspended": ("#eaeef2", "#57606a", "suspended"),
}
WIDTH, HEIGHT, GAP_X, GAP_Y, MARGIN = 190, 58, 70, 22, 12


@dataclass(frozen=True)
class BlockHealth:
    name: str
    health: str  # a key of HEALTH
    depends_on: tuple[str, ...]
    failing_dependencies: tuple[str, ...]  # the failing blocks it waits for, directly or not
    suspended: bool
    drifted: bool
    last_change: str  # the latest Ready transition of its objects
    ready: int
    total: int


def _own_health(block: BlockStatus) -> str:
    states = {o.ready for o in block.objects}
    if states & {"False", "Missing"}:
        return "failing"
    if "Suspended" in states:
        return "suspended"
    if "Unknown" in states:
        return "waiting"
    return "ready"


def _drifted_objects(status: ClusterStatus) -> set[str]:
    items = (status.poller or {}).get("drift_items") or []
    return {str(item.get("object", "")) for item in items if isinstance(item, Mapping)}


def block_health(status: ClusterStatus) -> list[BlockHealth]:
    """Each block's health; one whose dependency (or its dependency's) fails is `blocked` when it is
    not failing itself: Flux will not apply it until the dependency is Ready."""
    own = {b.name: _own_health(b) for b in status.blocks}
    deps = {b.name: b.depends_on for b in status.blocks}
    drifted = _drifted_objects(status)

    def failing_below(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found: set[str] = set()
        for dep in deps.get(name, ()):
            if dep in seen:
                continue
            if own.get(dep) == "failing":
                found.add(dep)
            found |= failing_below(dep, seen | {name})
        return found

    out = []
    for b in status.blocks:
        below = tuple(sorted(failing_below(b.name)))
        health = own[b.name]
        if below and health != "failing":
            health = "blocked"
        out.append(
            BlockHealth(
                name=b.name,
                health=health,
                depends_on=b.depends_on,
                failing_dependencies=below,
                suspended=any(o.ready == "Suspended" for o in b.objects),
                drifted=any(f"{o.kind}/{o.namespace}/{o.name}" in drifted for o in b.objects),
                last_change=max((o.since for o in b.objects), default=""),
                ready=sum(o.ok for o in b.objects),
                total=len(b.objects),
            )
        )
    return out


def layout(blocks: Sequence[BlockHealth]) -> dict[str, tuple[int, int]]:
    """(column, row) of each block: its column one right of its deepest dependency."""
    deps = {b.name: [d for d in b.depends_on if d in {x.name for x in blocks}] for b in blocks}
    depth: dict[str, int] = {}

    def column(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in depth:
            below = [column(d, seen | {name}) for d in deps[name] if d not in seen]
            depth[name] = 1 + max(below) if below else 0
        return depth[name]

    rows: dict[int, int] = {}
    at = {}
    for b in blocks:  # the stack's order: dependencies first
        col = column(b.name)
        at[b.name] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return at


def _e(text: object) -> str:
    return html.escape(redact(str(text)), quote=True)


def _xy(col: int, row: int) -> tuple[int, int]:
    return MARGIN + col * (WIDTH + GAP_X), MARGIN + row * (HEIGHT + GAP_Y)


def _node(b: BlockHealth, x: int, y: int, stack: str) -> str:
    fill, stroke, word = HEALTH[b.health]
    marks = [m for m, on in (("suspended", b.suspended), ("drift", b.drifted)) if on]
    why = f"{word}: {', '.join(b.failing_dependencies)}" if b.health == "blocked" else word
    # What the node itself has room for (the whole story is in its title: a tooltip).
    short = f"held up by {b.failing_dependencies[0]}" if b.health == "blocked" else word
    if len(b.failing_dependencies) > 1:
        short += f" +{len(b.failing_dependencies) - 1}"
    shown_marks = [m for m in marks if m != b.health]
    dash = ' stroke-dasharray="6 3"' if b.drifted else ""
    title = f"{b.name}: {why}; {b.ready}/{b.total} Ready; last change {b.last_change or '-'}"
    return (
        f'<g class="block {b.health}{"".join(" " + m for m in marks)}" id="block-{_e(stack)}-{_e(b.name)}"'
        f' data-block="{_e(b.name)}" data-health="{b.health}"><title>{_e(title)}</title>'
        f'<rect x="{x}" y="{y}" width="{WIDTH}" height="{HEIGHT}" rx="6" fill="{fill}" stroke="{stroke}"'
        f' stroke-width="{3 if b.health in ("failing", "blocked") else 1.5}"{dash}/>'
        f'<text x="{x + 8}" y="{y + 17}" font-size="13" font-weight="bold">{_e(b.name)}</text>'
        f'<text x="{x + 8}" y="{y + 33}" font-size="11" fill="{stroke}">'
        f"{_e(short)} &#183; {b.ready}/{b.total}{''.join(' &#183; ' + m for m in shown_marks)}</text>"
        f'<text x="{x + 8}" y="{y + 49}" font-size="10" fill="#57606a">{_e(b.last_change or "-")}</text></g>'
    )


def _edge(start: tuple[int, int], end: tuple[int, int], bad: bool) -> str:
    (x1, y1), (x2, y2) = _xy(*start), _xy(*end)
    colour = "#cf222e" if bad else "#8c959f"
    return (
        f'<path d="M{x1 + WIDTH},{y1 + HEIGHT // 2} C{x1 + WIDTH + GAP_X // 2},{y1 + HEIGHT // 2} '
        f'{x2 - GAP_X // 2},{y2 + HEIGHT // 2} {x2},{y2 + HEIGHT // 2}" fill="none" stroke="{colour}"'
        f' stroke-width="1.5" marker-end="url(#arrow)"/>'
    )


def graph_svg(status: ClusterStatus) -> str:
    """The blocks of one stack as an SVG: dependencies left, their dependants right."""
    blocks = block_health(status)
    if not blocks:
        return "<p class=muted>No blocks.</p>"
    at = layout(blocks)
    health = {b.name: b.health for b in blocks}
    cols = 1 + max(c for c, _ in at.values())
    rows = 1 + max(r for _, r in at.values())
    width, height = 2 * MARGIN + cols * WIDTH + (cols - 1) * GAP_X, 2 * MARGIN + rows * (HEIGHT + GAP_Y)
    edges = [
        _edge(at[d], at[b.name], health[d] in ("failing", "blocked"))
        for b in blocks
        for d in b.depends_on
        if d in at
    ]
    nodes = [_node(b, *_xy(*at[b.name]), status.stack.name) for b in blocks]
    return (
        f'<svg class="graph" width="{width}" height="{height}" role="img" '
        f'aria-label="blocks of {_e(status.stack.name)} and their dependencies">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8c959f"/></marker></defs>\n'
        + "\n".join([*edges, *nodes])
        + "\n</svg>"
    )


def legend() -> str:
    return (
        "".join(
            f'<span class="key" style="background:{fill};border-color:{stroke}">{_e(word)}</span>'
            for fill, stroke, word in HEALTH.values()
        )
        + '<span class="key" style="border-style:dashed">drift</span>'
    )
