from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import PathError
from eoepca_gitops.poller import conditions as c
from eoepca_gitops.poller.state import FileBackend, InProgress, StackState, StateStore, decode


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


class Unserialisable:
    """A value json.dump reaches only after it has written part of the document."""


@pytest.mark.parametrize("failure", ["unserialisable value", "disk full at fsync"])
def test_a_write_that_fails_midway_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    path = tmp_path / "state.json"
    backend = FileBackend(path)
    backend.save({"version": 1, "stacks": {}})
    before = path.read_text()
    assert before == '{\n  "stacks": {},\n  "version": 1\n}\n'
    payload: dict[str, Any] = {"a": "x" * 100_000, "stacks": {}, "version": 1}
    if failure == "unserialisable value":
        payload["z"] = Unserialisable()
        expected: type[Exception] = TypeError
    else:

        def no_space(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", no_space)
        expected = PathError  # "state.json: cannot write: No space left on device"
    with pytest.raises(expected):
        backend.save(payload)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # the partial temp file removed


def test_the_stored_document_is_stable(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    """The state document is an interface (`status`, another poller version, an operator's jq)."""
    path = tmp_path / "state.json"
    store = StateStore(path)
    store.put(StackState(stack="new"))
    store.put(
        StackState(stack="dev").with_(
            git_revision="c" * 40,
            applied_revision="a" * 40,
            attempted_revision="c" * 40,
            failures=2,
            last_failure_transient=True,
            retry_at=1030.5,
            last_error="ClusterUnreachable: dial tcp 10.0.0.1:6443: connection refused",
            last_attempt_at=1000.0,
            last_success_at=900.0,
            last_drift_check_at=950.0,
            drift=True,
            drift_items=({"kind": "Deployment", "object": "Deployment/n/d", "field": "spec.replicas"},),
            last_duration_seconds=12.25,
            in_progress=InProgress("update", "c" * 40, 42, "poller-0", 1000.0),
            notes=("recovered",),
            conditions=c.failed(c.Reason.CLUSTER_UNREACHABLE, "connection refused"),
        )
    )
    golden("state.json", path.read_text())
    assert StateStore.read(path) == store.all()


def test_a_document_of_few_fields_reads_with_the_defaults(tmp_path: Path) -> None:
    """What an older poller wrote: no notes, drift items or condition messages."""
    path = tmp_path / "state.json"
    path.write_text(
        json.dumps(
            {
                "stacks": {
                    "dev": {"stack": "dev", "applied_revision": "a" * 40, "unknown_field": 1},
                    "old": {
                        "stack": "old",
                        "conditions": [{"type": "Ready", "status": True, "reason": "Synced"}],
                    },
                }
            }
        )
    )
    states = StateStore(path).all()
    assert states["dev"] == StackState(stack="dev", applied_revision="a" * 40)
    assert states["dev"].conditions == c.waiting()
    assert states["old"].conditions == (c.Condition(c.ConditionType.READY, True, c.Reason.SYNCED, ""),)
    assert (states["old"].notes, states["old"].drift_items) == ((), ())
    assert FileBackend(path).describe() == str(path)


def test_the_state_file_may_be_folders_deep_and_is_renamed_from_a_hidden_sibling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a" / "b" / "state.json"
    renamed: list[tuple[str, str]] = []
    replace = os.replace

    def record(src: str, dst: str, **dir_fds: int) -> None:
        renamed.append((src, str(path.parent / dst)))
        replace(src, dst, **dir_fds)

    monkeypatch.setattr(os, "replace", record)
    FileBackend(path).save({"stacks": {}, "version": 1})
    assert path.read_text() == '{\n  "stacks": {},\n  "version": 1\n}\n'
    [(src, dst)] = renamed
    assert dst == str(path)
    # beside the file (a rename within one folder is atomic), hidden, named after it
    assert Path(src).parent == Path(".")  # the same folder (the rename's dir_fd)
    assert Path(src).name.startswith(".state.json.")


def test_a_document_without_stacks_or_not_a_mapping_holds_no_state() -> None:
    assert decode({"version": 1}) == {}
    assert decode([]) == {}
    assert decode(None) == {}


class Memory:
    """A StateBackend that is not a file (as the ConfigMap backend in the cluster)."""

    def __init__(self) -> None:
        self.saved: list[dict[str, Any]] = []

    def load(self) -> Any:
        return self.saved[-1] if self.saved else None

    def save(self, payload: Mapping[str, Any]) -> None:
        self.saved.append(json.loads(json.dumps(payload)))

    def describe(self) -> str:
        return "memory"


def test_a_store_keeps_its_document_in_any_backend() -> None:
    backend = Memory()
    store = StateStore(backend)
    assert store.backend is backend
    store.put(StackState(stack="dev", applied_revision="a" * 40))
    [doc] = backend.saved
    assert doc["version"] == 1
    assert list(doc["stacks"]) == ["dev"]
    assert doc["stacks"]["dev"]["applied_revision"] == "a" * 40
    assert StateStore(backend).get("dev") == StackState(stack="dev", applied_revision="a" * 40)
