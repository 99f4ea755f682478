"""`eoepca-gitops reconcile|suspend|undeploy` as an operator runs them, on a project whose stack names
the self-written install fixture: the waves reconcile asks for (the source, then the Kustomizations,
then the HelmReleases), its exit code, a block it does not know; undeploy asking first. The cluster is
a fake ClusterAccess, time a fake clock, Pulumi a fake PulumiCli."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.kube import cluster
from eoepca_gitops.operations import changes
from eoepca_gitops.operations import reconcile as reconcile_module
from tests.fakes import FakeAccess, FakeClock, FakePulumi

runner = CliRunner()


def flux_object(kind: str, namespace: str, name: str) -> dict[str, Any]:
    meta = {"namespace": namespace, "name": name, "generation": 1}
    return {"kind": kind, "metadata": meta, "spec": {}, "status": {}}


@pytest.fixture
def access(monkeypatch: pytest.MonkeyPatch) -> FakeAccess:
    fake = FakeAccess(
        flux_object("GitRepository", "flux-system", "flux-system"),
        flux_object("Kustomization", "flux-system", "portal"),
        flux_object("HelmRelease", "demo", "eoepca-portal"),
        *(
            {
                "kind": "Deployment",
                "metadata": {"namespace": "flux-system", "name": n},
                "spec": {},
                "status": {},
            }
            for n in ("source-controller", "kustomize-controller", "helm-controller")
        ),
    )
    clock = FakeClock()
    monkeypatch.setattr(reconcile_module, "time", clock)
    monkeypatch.setattr(changes, "time", clock)
    monkeypatch.setattr(cluster.ClusterAccess, "for_stack", classmethod(lambda cls, s: fake))
    return fake


def answer(access: FakeAccess, not_ready: frozenset[str] = frozenset()) -> None:
    """Flux's controllers answer each request at once for the object's generation: Ready, or for
    those in `not_ready` a failure Flux stops retrying (Stalled)."""

    def request(ref: tuple[str, str, str, str], token: str, obj: dict[str, Any]) -> None:
        ready = "False" if ref[3] in not_ready else "True"
        conditions = [{"type": "Ready", "status": ready, "reason": "Why", "message": "what"}]
        if ready == "False":
            conditions.append({"type": "Stalled", "status": "True", "reason": "Why", "message": "what"})
        generation = obj["metadata"]["generation"]
        obj["status"] = {
            "lastHandledReconcileAt": token,
            "observedGeneration": generation,
            "conditions": conditions,
        }

    access.on_request = request


def test_reconcile_asks_the_source_then_the_kustomizations_then_the_releases(
    project: Path, access: FakeAccess
) -> None:
    answer(access)
    result = runner.invoke(app, ["reconcile", "--stack", "test", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert [r[1] for r in access.requests] == ["GitRepository", "Kustomization", "HelmRelease"]
    assert "reconciled 3 objects" in result.output


def test_reconcile_of_one_block_and_what_is_not_ready(project: Path, access: FakeAccess) -> None:
    answer(access, frozenset({"eoepca-portal"}))
    result = runner.invoke(app, ["reconcile", "--stack", "test", "portal", "--project", str(project)])
    assert result.exit_code == 1
    assert "not Ready: HelmRelease demo/eoepca-portal: Why: what" in result.output
    assert "reconciled 3 objects; 1 not Ready" in result.output


def test_reconcile_of_a_block_without_flux_objects_asks_for_the_source_only(
    project: Path, access: FakeAccess
) -> None:
    answer(access)
    result = runner.invoke(app, ["reconcile", "--stack", "test", "base", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert [r[1] for r in access.requests] == ["GitRepository"]


def test_reconcile_of_an_unknown_block_is_refused(project: Path, access: FakeAccess) -> None:
    result = runner.invoke(app, ["reconcile", "--stack", "test", "nope", "--project", str(project)])
    assert result.exit_code == 2
    assert "stack test has no block 'nope' enabled (enabled: base, portal)" in result.output
    assert access.requests == []


def test_undeploy_asks_before_it_changes_anything(
    project: Path, access: FakeAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    pulumi = FakePulumi()
    monkeypatch.setattr(changes, "PulumiCli", pulumi)
    result = runner.invoke(app, ["undeploy", "--stack", "test", "--project", str(project)], input="n\n")
    assert result.exit_code == 1 and access.patches == [] and pulumi.runs == []
    result = runner.invoke(app, ["undeploy", "--stack", "test", "--project", str(project), "--yes"])
    assert result.exit_code == 0, result.output
    assert pulumi.runs[-1] == ("up", "--yes", "--skip-preview")
    assert (
        "pulumi config set --stack test --path flux.enabled true && pulumi up --stack test" in result.output
    )


def test_suspend_of_an_unknown_block_is_refused_before_pulumi_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pulumi = FakePulumi()
    monkeypatch.setattr(changes, "PulumiCli", pulumi)
    result = runner.invoke(app, ["suspend", "--stack", "test", "nope", "--project", str(project)])
    assert result.exit_code == 2 and pulumi.runs == []
    result = runner.invoke(app, ["resume", "--stack", "test", "portal", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert pulumi.runs[0] == ("config", "set", "--path", "overrides.portal.suspend", "false")
