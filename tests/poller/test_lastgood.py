"""The last good revision and the automatic roll-back's decision (poller.lastgood), and the hold
that applies (poller.hold): pure, table tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.poller import conditions as c
from eoepca_gitops.poller.hold import OPERATOR, Hold, HoldStore, Until, held, holds_file, of_state, with_hold
from eoepca_gitops.poller.lastgood import applied_at, flux_check, good, rollback_due
from eoepca_gitops.poller.state import StackState, StateStore

A, B, C = "a" * 40, "b" * 40, "c" * 40


def flux(kind: str, name: str, ready: str = "True", applied: str | None = None, generation: int = 1) -> Any:
    status: dict[str, Any] = {
        "conditions": [{"type": "Ready", "status": ready, "reason": "R", "observedGeneration": generation}]
    }
    if applied is not None:
        status["lastAppliedRevision"] = applied
    obj = {"kind": kind, "metadata": {"name": name, "namespace": "ns", "generation": generation}}
    return (kind, "ns", name, {**obj, "status": status})


def nothing(kind: str, namespace: str, name: str) -> None:
    return None


@pytest.mark.parametrize(
    ("applied", "expected"),
    [
        (f"main@sha1:{A}", True),  # Flux v2
        (f"sha1:{A}", True),  # a pinned commit
        (f"main/{A}", True),  # Flux before v2
        (f"main@sha1:{B}", False),
        ("", False),
    ],
)
def test_a_kustomization_is_at_a_revision_in_any_of_fluxs_formats(applied: str, expected: bool) -> None:
    assert applied_at({"status": {"lastAppliedRevision": applied}}, A) is expected


def test_good_only_when_every_object_is_ready_and_every_kustomization_at_the_revision() -> None:
    ok = [flux("Kustomization", "k", applied=f"main@sha1:{A}"), flux("HelmRelease", "h")]
    assert flux_check(ok, A, nothing).ok
    behind = [flux("Kustomization", "k", applied=f"main@sha1:{B}"), flux("HelmRelease", "h")]
    check = flux_check(behind, A, nothing)
    assert not check.ok and check.not_ready == (f"Kustomization ns/k: applied main@sha1:{B}, not {A[:12]}",)
    failing = [flux("Kustomization", "k", applied=f"main@sha1:{A}"), flux("HelmRelease", "h", "False")]
    assert flux_check(failing, A, nothing).message.startswith("not Ready: HelmRelease ns/h: ")
    missing = [("HelmRelease", "ns", "h", None)]
    assert "not in the cluster" in flux_check(missing, A, nothing).message


def test_a_good_revision_is_recorded_once() -> None:
    s = good(StackState("dev"), A, 10.0)
    assert (s.last_good_revision, s.last_good_at) == (A, 10.0)
    assert good(s, A, 20.0).last_good_at == 10.0
    assert good(s, B, 20.0).last_good_revision == B


def broken(head: str = B, seen: float = 100.0) -> StackState:
    """A stack whose head `head` failed, with A as its last good revision."""
    return StackState(
        "dev",
        git_revision=head,
        git_revision_at=seen,
        applied_revision=A,
        attempted_revision=head,
        failures=1,
        last_error="FluxFailed: chart 9.9.9 not found",
        last_good_revision=A,
        conditions=c.failed(c.Reason.FLUX_FAILED, "chart 9.9.9 not found"),
    )


def test_rollback_is_due_only_past_the_deadline_of_a_head_that_did_not_become_good() -> None:
    assert rollback_due(broken(), B, 159.0, 60) is None
    why = rollback_due(broken(), B, 160.0, 60)
    assert why is not None and why.startswith(f"{B[:12]} not Ready 60 s after it was pushed (FluxFailed")
    assert rollback_due(broken(), B, 1e6, 0) is None  # off
    assert rollback_due(broken().with_(last_good_revision=None), B, 1e6, 60) is None  # nothing to go to
    assert rollback_due(broken().with_(last_good_revision=B), B, 1e6, 60) is None  # the head is good
    assert rollback_due(broken().with_(held_revision=A), B, 1e6, 60) is None  # held already
    assert rollback_due(broken(), C, 1e6, 60) is None  # a newer head: its own deadline starts
    # Applied at 150 (a long update): Flux has until 210 to have every block Ready.
    applied = broken().with_(applied_revision=B, last_success_at=150.0, conditions=c.ready())
    assert rollback_due(applied, B, 209.0, 60) is None
    assert (
        rollback_due(applied, B, 210.0, 60)
        == f"{B[:12]} not Ready 60 s after it was pushed (FluxFailed: chart 9.9.9 not found)"
    )


def test_the_operators_hold_comes_first_and_ends_when_released() -> None:
    asked = Hold(A, 5.0, OPERATOR, Until.RELEASE, B)
    assert held(StackState("dev"), asked, B) == asked
    assert held(StackState("dev"), asked, C) == asked  # until released, whatever is pushed
    recorded = with_hold(StackState("dev"), asked)
    assert of_state(recorded) == asked
    assert held(recorded, None, B) is None  # gone from the holds document: released


def test_a_hold_until_a_new_commit_ends_with_the_next_push() -> None:
    auto = Hold(A, 5.0, "automatic rollback: x", Until.NEW_COMMIT, B)
    s = with_hold(StackState("dev"), auto)
    assert held(s, None, B) == auto
    assert held(s, None, A) == auto
    assert held(s, None, None) == auto  # Git unreadable: nothing ends it
    assert held(s, None, C) is None
    assert held(StackState("dev"), Hold(A, 5.0, OPERATOR, Until.NEW_COMMIT, B), C) is None


def test_holds_and_state_fields_survive_their_documents(tmp_path: Path) -> None:
    store = HoldStore(holds_file(tmp_path / "state.json"))
    assert store.all() == {}
    hold = Hold(A, 5.0, OPERATOR, Until.NEW_COMMIT, B)
    store.put("dev", hold)
    store.put("prod", Hold(C, 6.0, OPERATOR))
    assert HoldStore(tmp_path / "state-holds.json").get("dev") == hold
    store.put("prod", None)
    assert set(store.all()) == {"dev"}
    states = StateStore(tmp_path / "state.json")
    states.put(with_hold(good(StackState("dev", git_revision_at=3.0), A, 4.0), hold).with_(rollbacks=2))
    again = StateStore.read(tmp_path / "state.json")["dev"]
    assert (again.last_good_revision, again.held_revision, again.held_until, again.rollbacks) == (
        A, A, "new-commit", 2,
    )  # fmt: skip


def test_a_hold_of_another_shape_is_named(tmp_path: Path) -> None:
    path = tmp_path / "holds.json"
    path.write_text('{"holds": {"dev": {"revision": 1, "since": 0}}}')
    with pytest.raises(ValueError, match=r"holds.dev.revision: not a str"):
        HoldStore(path).all()
