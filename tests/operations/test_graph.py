"""The status page's graph: each block's health from its objects and its dependencies', where each
block goes, and the SVG (golden file)."""

from __future__ import annotations

import json
from collections.abc import Callable

from eoepca_gitops.operations.graph import block_health, graph_svg, layout
from eoepca_gitops.operations.page import page_html, page_json
from eoepca_gitops.operations.status import BlockStatus, ClusterStatus, StackLayer
from tests.operations.graph_cases import stack_status


def test_a_failing_block_holds_up_what_depends_on_it_directly_or_not() -> None:
    health = {b.name: b for b in block_health(stack_status())}
    assert {n: b.health for n, b in health.items()} == {
        "system-common": "ready",
        "system-storage": "failing",
        "system-demo": "suspended",
        "system-infra": "waiting",
        "user-management": "blocked",
        "processing-and-chaining": "blocked",
    }
    assert health["processing-and-chaining"].failing_dependencies == ("system-storage",)
    assert health["system-demo"].drifted and health["system-demo"].suspended
    assert not health["system-infra"].drifted
    assert health["user-management"].last_change == "2026-12-07T10:04:00Z"
    assert (health["system-storage"].ready, health["system-storage"].total) == (1, 2)
    healed = {b.name: b.health for b in block_health(stack_status(storage="True"))}
    assert healed["user-management"] == healed["processing-and-chaining"] == "ready"


def test_each_block_stands_one_column_right_of_its_deepest_dependency() -> None:
    assert layout(block_health(stack_status())) == {
        "system-common": (0, 0),
        "system-storage": (1, 0),
        "system-demo": (1, 1),
        "system-infra": (1, 2),
        "user-management": (2, 0),
        "processing-and-chaining": (3, 0),
    }


def test_a_dependency_loop_or_an_unknown_dependency_does_not_hang_the_layout() -> None:
    blocks = tuple(BlockStatus(n, (), d) for n, d in (("a", ("b", "gone")), ("b", ("a",))))
    status = ClusterStatus(StackLayer("s"), "v2.9.3", (), None, blocks)
    assert set(layout(block_health(status))) == {"a", "b"}
    assert (
        graph_svg(ClusterStatus(StackLayer("s"), "v2.9.3", (), None, ())) == "<p class=muted>No blocks.</p>"
    )


def test_the_graph_svg(golden: Callable[[str, str], None]) -> None:
    golden("page/graph.svg", graph_svg(stack_status()) + "\n")


def test_the_page_shows_the_graph_first_and_updates_itself_from_json() -> None:
    page = page_html([(stack_status(), [])], refresh=2)
    assert page.index('<svg class="graph"') < page.index("<table")
    assert 'data-refresh="2"' in page and 'fetch("status.json"' in page
    assert "http-equiv=refresh" not in page  # no reload
    [section] = json.loads(page_json([(stack_status(), [])]))["stacks"]
    assert section["name"] == "local" and section["html"].startswith('<section id="stack-local">')
