"""The status page's picture in headless Chromium (issue 26): a failing block and the blocks that wait
for it drawn as such, a suspended block and a drifted one marked; then the block heals on the server
and the page shows it without a reload (it fetches /status.json; the page itself is asked once).
The page is served by the status page's own server over a scripted status: no cluster needed."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from eoepca_gitops.operations.page import page_html, page_json, status_server
from tests.integration.browser import look
from tests.operations.graph_cases import stack_status

pytestmark = pytest.mark.integration


class Served:
    """The page over a status whose system-storage fails until `heal()`; counts what is asked."""

    def __init__(self) -> None:
        self.storage = "False"
        self.pages = self.fetches = 0

    def page(self) -> bytes:
        self.pages += 1
        return page_html([(stack_status(self.storage), [])], refresh=1).encode()

    def data(self) -> bytes:
        self.fetches += 1
        return page_json([(stack_status(self.storage), [])]).encode()


@pytest.fixture
def served() -> Iterator[tuple[Served, str]]:
    state = Served()
    server = status_server("127.0.0.1", 0, state.page, state.data)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def health(dom: str) -> dict[str, str]:
    """block -> the classes its node has in the DOM Chromium built."""
    found = re.findall(r'<g class="block ([a-z ]+)" id="block-local-([a-z-]+)"', dom)
    return {name: classes for classes, name in found}


def test_the_graph_shows_failing_held_up_suspended_and_drifted_blocks(
    served: tuple[Served, str], tmp_path: Path
) -> None:
    _, url = served
    dom = look(url, tmp_path / "graph.png")
    assert health(dom) == {
        "system-common": "ready",
        "system-storage": "failing",
        "user-management": "blocked",
        "processing-and-chaining": "blocked",
        "system-demo": "suspended suspended drift",
        "system-infra": "waiting",
    }
    assert "held up by a failing dependency: system-storage" in dom
    assert (tmp_path / "graph.png").stat().st_size > 0


def test_the_page_updates_itself_without_a_reload(served: tuple[Served, str], tmp_path: Path) -> None:
    state, url = served
    state.storage = "False"
    threading.Timer(0.0, lambda: setattr(state, "storage", "True")).start()  # heals once the page is out
    dom = look(url, tmp_path / "later.png", stay=5)
    # Chromium loaded the page once per run (screenshot, DOM) and fetched the status several times.
    assert state.pages == 2 and state.fetches >= 2, (state.pages, state.fetches)
    updates = int(re.search(r'data-updates="(\d+)"', dom).group(1))  # type: ignore[union-attr]
    assert updates >= 1
    assert health(dom)["system-storage"] == "ready"
    assert health(dom)["user-management"] == "ready"
    assert re.search(r'id="updated" class="muted">updated \d\d:\d\d:\d\d UTC<', dom)
