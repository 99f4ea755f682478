from __future__ import annotations

import json
from pathlib import Path

from eoepca_gitops.poller import conditions as c
from eoepca_gitops.poller.state import InProgress, StackState, StateStore


def test_round_trip_and_atomic(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    store = StateStore(path)
    s = StackState(stack="dev").with_(
        applied_revision="a" * 40,
        in_progress=InProgress("update", "b" * 40, 42, "host", 1.0),
        conditions=c.failed(c.Reason.CONFIG_INVALID, "missing key"),
        notes=("recovered",),
    )
    store.put(s)
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temp file left
    again = StateStore(path).get("dev")
    assert again == s
    assert again.phase == c.Phase.FAILED
    raw = json.loads(path.read_text())
    assert raw["stacks"]["dev"]["phase"] == "failed"


def test_unknown_stack_is_pending(tmp_path: Path) -> None:
    assert StateStore(tmp_path / "x.json").get("new").phase == c.Phase.PENDING


def test_phases() -> None:
    assert c.phase(c.ready()) == c.Phase.SYNCED
    assert c.phase(c.applying(c.Reason.NEW_COMMIT)) == c.Phase.APPLYING
    assert c.phase(c.drifted("x")) == c.Phase.DRIFTED
    assert c.phase(c.failed(c.Reason.UPDATE_FAILED, "x")) == c.Phase.FAILED
    assert c.phase(c.stalled(c.Reason.UPDATE_FAILED, "x")) == c.Phase.STALLED
    assert c.phase(c.waiting()) == c.Phase.PENDING
    assert c.phase(c.waiting(c.Reason.SOURCE_UNAVAILABLE, "down")) == c.Phase.FAILED
