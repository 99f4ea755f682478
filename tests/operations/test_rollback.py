"""`rollback` below the CLI (operations/rollback.py): the plan of the Flux layer (pure), the
revision chosen, the hold asked before anything changes, `pulumi up` pinned at the revision in a
worktree of it, a dry run that changes nothing, and the release. Fake cluster and Pulumi; a real
git repository."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model.defaults import PIN_COMMIT
from eoepca_gitops.operations import rollback as op
from eoepca_gitops.operations.rollback import FluxChange, Request, flux_changes, resolve_revision
from eoepca_gitops.poller.hold import HoldStore, Until, holds_file
from eoepca_gitops.poller.state import StackState, StateStore
from tests.fakes import FakeAccess, FakePulumi
from tests.helpers import fixture_install, git
from tests.operations.test_collect import stack

A = "a" * 40


def hr(name: str, version: str, values: Any = None, history: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "kind": "HelmRelease",
        "metadata": {"namespace": "um", "name": name},
        "spec": {"chart": {"spec": {"chart": name, "version": version}}, "values": values or {}},
    }
    if history:
        obj["status"] = {"history": [{"chartVersion": history}]}
    return obj


def test_the_flux_plan_names_every_object_whose_revision_changes() -> None:
    source = {"kind": "GitRepository", "metadata": {"namespace": "flux-system", "name": "flux-system"}}
    kustomization = {"kind": "Kustomization", "metadata": {"namespace": "flux-system", "name": "k"}}
    declared = [
        {**source, "spec": {"ref": {"commit": A}}},
        {**kustomization, "spec": {}},
        hr("pdp", "1.1.12"),
        hr("login", "1.2.8", {"replicas": 1}),
        hr("same", "1.0.0"),
    ]
    live = {
        ("GitRepository", "flux-system", "flux-system"): {**source, "spec": {"ref": {"branch": "main"}}},
        ("Kustomization", "flux-system", "k"): {
            **kustomization,
            "status": {"lastAppliedRevision": "main@sha1:" + "b" * 40},
        },
        ("HelmRelease", "um", "pdp"): hr("pdp", "9.9.9", history="1.1.12"),
        ("HelmRelease", "um", "login"): hr("login", "1.2.8", {"replicas": 3}, history="1.2.8"),
        ("HelmRelease", "um", "same"): hr("same", "1.0.0", history="1.0.0"),
    }
    assert flux_changes(declared, live, A) == (
        FluxChange(
            "GitRepository flux-system/flux-system", "ref {'branch': 'main'}", f"ref {{'commit': '{A}'}}"
        ),
        FluxChange("Kustomization flux-system/k", "main@sha1:" + "b" * 40, A[:12]),
        FluxChange(
            "HelmRelease um/pdp", "chart 1.1.12", "chart 1.1.12 (values or settings): a new Helm revision"
        ),
        FluxChange(
            "HelmRelease um/login", "chart 1.2.8", "chart 1.2.8 (values or settings): a new Helm revision"
        ),
    )
    live[("Kustomization", "flux-system", "k")]["status"]["lastAppliedRevision"] = f"sha1:{A}"
    assert len(flux_changes(declared[1:2], live, A)) == 0


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A project in a git repository with two commits: (folder, first, second)."""
    project = tmp_path / "repo"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "one")
    first = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    (project / "Pulumi.yaml").write_text("name: p\nruntime: python\ndescription: two\n")
    git(project, "commit", "-qam", "two")
    second = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return project, first, second


def test_a_revision_is_resolved_in_the_projects_repository(repo: tuple[Path, str, str]) -> None:
    project, first, _ = repo
    assert resolve_revision(project, first[:7]) == first
    assert resolve_revision(project, "HEAD~1") == first
    with pytest.raises(GitopsError, match=r"--to nope: no such commit in the repository of "):
        resolve_revision(project, "nope")


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[FakePulumi, list[Path]]:
    model, _ = stack()
    seen: list[Path] = []

    def at_revision(tree: Path, name: str, revision: str) -> Any:
        seen.append(tree)
        assert (tree / "Pulumi.yaml").exists()  # the project as the revision has it
        return model.pinned(revision), build_stack(model.pinned(revision), fixture_install("new"))

    pulumi = FakePulumi(answers={("preview",): {"steps": [{"op": "update", "urn": "x::HelmRelease/um/pdp"}]}})
    monkeypatch.setattr(op, "_at_revision", at_revision)
    monkeypatch.setattr(op, "PulumiCli", pulumi)
    monkeypatch.setattr(ClusterAccess, "for_stack", classmethod(lambda cls, s: FakeAccess()))
    monkeypatch.setattr(op, "reconcile", lambda *a, **k: [])
    return pulumi, seen


def test_a_dry_run_plans_both_layers_and_changes_nothing(
    repo: tuple[Path, str, str], fakes: tuple[FakePulumi, list[Path]], tmp_path: Path
) -> None:
    project, first, _ = repo
    pulumi, seen = fakes
    state = tmp_path / "state.json"
    model, _ = stack()
    plan, done = op.rollback(Request(model, project, first[:8], state, 60, dry_run=True), lambda _: None)
    assert (plan.revision, plan.pulumi, done) == (first, {"update": 1}, [])
    lines = plan.lines()
    assert lines[0] == f"rollback of stack test to {first[:12]} (--to {first[:8]})"
    assert lines[1:3] == ["pulumi: 1 to update", "  update HelmRelease/um/pdp"]
    assert any(line.startswith("flux: GitRepository ") and first in line for line in lines)
    assert lines[-1] == f"hold: until `rollback --release` ({holds_file(state)})"
    assert pulumi.runs == [("preview", "--json")] and pulumi.env[PIN_COMMIT] == first
    assert not holds_file(state).exists()
    assert not seen[0].exists()  # the worktree is gone


def test_a_rollback_holds_first_then_updates_pinned_and_release_ends_the_hold(
    repo: tuple[Path, str, str], fakes: tuple[FakePulumi, list[Path]], tmp_path: Path
) -> None:
    project, first, second = repo
    pulumi, _ = fakes
    state = tmp_path / "state.json"
    model, _ = stack()
    StateStore(state).put(StackState("test"))
    with pytest.raises(
        GitopsError, match=r"stack test: no last good revision \(the poller has recorded none yet\)"
    ):
        op.rollback(Request(model, project, None, state, 60), lambda _: None)
    StateStore(state).put(StackState("test", last_good_revision=first))
    plan, _ = op.rollback(Request(model, project, None, state, 60), lambda _: None)
    assert plan.why == "the last good revision the poller recorded"
    hold = HoldStore(holds_file(state)).get("test")
    assert hold is not None and (hold.revision, hold.until, hold.head) == (first, Until.RELEASE, second)
    assert pulumi.runs[-1] == ("up", "--yes", "--skip-preview", "--message", f"eoepca-gitops {first} (held)")
    assert pulumi.env[PIN_COMMIT] == first
    message = op.release(model, project, state, lambda _: None)
    assert message.startswith("released stack test: the poller applies the branch head")
    assert HoldStore(holds_file(state)).get("test") is None
    with pytest.raises(GitopsError, match=r"stack test is not held"):
        op.release(model, project, state, lambda _: None)


def test_without_a_poller_nothing_holds_and_release_applies_the_checkout(
    repo: tuple[Path, str, str], fakes: tuple[FakePulumi, list[Path]]
) -> None:
    project, first, _ = repo
    pulumi, _ = fakes
    model, _ = stack()
    with pytest.raises(GitopsError, match=r"no poller keeps this stack\): give one with --to REV"):
        op.rollback(Request(model, project, None, None, 60), lambda _: None)
    plan, _ = op.rollback(Request(model, project, first, None, 60), lambda _: None)
    assert plan.hold == "no poller keeps this stack: nothing to hold against"
    op.release(model, project, None, lambda _: None)
    assert pulumi.runs[-1] == ("up", "--yes", "--skip-preview") and pulumi.env is None
