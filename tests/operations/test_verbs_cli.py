"""`eoepca-gitops check|logs|events` as an operator runs them, on a project whose stack names the
self-written install fixture (v1.9.0 controllers, four Flux CRDs): what each reads of a fake
ClusterAccess, its text and JSON forms against golden files (`pytest --update-golden` rewrites
them), its exit codes, and one `error:` line for what it cannot do."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.kube import cluster
from tests.fakes import FakeAccess
from tests.helpers import fixture_install

runner = CliRunner()
CHECK = "eoepca_gitops.operations.check"
VERSIONS = {"clientVersion": {"gitVersion": "v1.37.1"}, "kustomizeVersion": "v5.8.1"}
Golden = Callable[[str, str], None]


def live(obj: dict[str, Any], **status: Any) -> dict[str, Any]:
    """An object of the install as the API server returns it once it is up."""
    return {**obj, "status": status}


def healthy() -> list[dict[str, Any]]:
    out = []
    for obj in fixture_install("new"):
        if obj["kind"] == "Deployment":
            out.append(live(obj, conditions=[{"type": "Available", "status": "True"}]))
        elif obj["kind"] == "CustomResourceDefinition":
            out.append(live(obj, conditions=[{"type": "Established", "status": "True"}]))
    return out


@pytest.fixture
def access(monkeypatch: pytest.MonkeyPatch) -> FakeAccess:
    fake = FakeAccess(*healthy())
    monkeypatch.setattr(cluster.ClusterAccess, "for_stack", classmethod(lambda cls, s: fake))
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(f"{CHECK}.kubectl", lambda: "/usr/bin/kubectl")
    monkeypatch.setattr(f"{CHECK}.client_versions", lambda b: VERSIONS)
    return fake


def run(project: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "--stack", "test", "--project", str(project)])


def test_check_passes_on_a_cluster_that_runs_what_the_stack_pins(
    project: Path, access: FakeAccess, golden: Golden
) -> None:
    result = run(project, "check")
    assert result.exit_code == 0, result.output
    golden("check-ready.txt", result.stdout)
    assert ("apps/v1", "Deployment", "flux-system", "helm-controller") in access.reads


def test_check_says_what_is_not_as_pinned_and_exits_1(
    project: Path, access: FakeAccess, golden: Golden, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda t: None)
    monkeypatch.setattr(f"{CHECK}.client_versions", lambda b: {**VERSIONS, "kustomizeVersion": ""})
    helm = access.objects[("Deployment", "flux-system", "helm-controller")]
    helm["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/fluxcd/helm-controller:v1.5.0"
    source = access.objects[("Deployment", "flux-system", "source-controller")]
    source["status"] = {"conditions": [{"type": "Available", "status": "False", "message": "0/1 ready"}]}
    crd = access.objects[("CustomResourceDefinition", "", "helmreleases.helm.toolkit.fluxcd.io")]
    crd["spec"]["versions"] = [v for v in crd["spec"]["versions"] if v["name"] != "v2"]
    del access.objects[("CustomResourceDefinition", "", "buckets.source.toolkit.fluxcd.io")]
    result = run(project, "check")
    assert result.exit_code == 1, result.output
    golden("check-not-ready.txt", result.stdout)
    as_json = run(project, "check", "--json")
    assert as_json.exit_code == 1
    golden("check-not-ready.json", as_json.stdout)
    assert yaml.safe_load(run(project, "check", "-o", "yaml").stdout) == json.loads(as_json.stdout)


def test_check_of_a_cluster_that_does_not_answer_exits_2(project: Path, access: FakeAccess) -> None:
    access.down = True
    result = run(project, "check", "-o", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["checks"][-1] == {
        "group": "prerequisites", "name": "cluster", "ok": False, "cannot_tell": True,
        "detail": "the cluster does not answer: connection refused",
    }  # fmt: skip


def event(kind: str, namespace: str, name: str, when: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Event",
        "metadata": {"namespace": namespace, "name": f"{name}.{when}"},
        "involvedObject": {"kind": kind, "namespace": namespace, "name": name},
        "type": "Warning" if "Failed" in reason else "Normal",
        "reason": reason,
        "message": message,
        "lastTimestamp": when,
        "count": 2 if "Failed" in reason else 1,
        "source": {"component": "helm-controller"},
    }


EVENTS = [
    event("HelmRelease", "demo", "eoepca-portal", "2026-12-07T10:00:02Z", "InstallFailed", "chart not found"),
    event("HelmRelease", "demo", "eoepca-portal", "2026-12-07T10:00:01Z", "Progressing", "installing"),
    event("HelmChart", "common", "demo-eoepca-portal", "2026-12-07T10:00:00Z", "ChartPullFailed", "no 9.9.9"),
    event("HelmRelease", "demo", "another", "2026-12-07T09:00:00Z", "InstallSucceeded", "not the stack's"),
    event("Kustomization", "flux-system", "portal", "2026-12-07T08:00:00Z", "ReconciliationSucceeded", "ok"),
]


def test_events_of_a_block_oldest_first(project: Path, access: FakeAccess, golden: Golden) -> None:
    for e in EVENTS:
        access.objects[("Event", e["metadata"]["namespace"], e["metadata"]["name"])] = e
    result = run(project, "events", "--block", "portal")
    assert result.exit_code == 0, result.output
    golden("events-portal.txt", result.stdout)
    as_json = run(project, "events", "--kind", "helmrelease", "--name", "eoepca-portal", "-o", "json")
    golden("events-portal.json", as_json.stdout)
    assert [e["reason"] for e in json.loads(as_json.stdout)] == [
        "ChartPullFailed", "Progressing", "InstallFailed",
    ]  # fmt: skip
    every = json.loads(run(project, "events", "-o", "json").stdout)
    assert len(every) == 4 and every[0]["object"] == "Kustomization flux-system/portal"


def log(controller_kind: str, namespace: str, name: str, ts: str, msg: str, **more: Any) -> str:
    return json.dumps({
        "level": "error" if "error" in more else "info", "ts": ts, "msg": msg,
        "controllerKind": controller_kind, controller_kind: {"name": name, "namespace": namespace},
        "namespace": namespace, "name": name, **more,
    })  # fmt: skip


def pod(controller: str) -> dict[str, Any]:
    meta = {"namespace": "flux-system", "name": f"{controller}-7d9f", "labels": {"app": controller}}
    return {"kind": "Pod", "metadata": meta}


def test_logs_of_an_object_with_its_chart_oldest_first(
    project: Path, access: FakeAccess, golden: Golden
) -> None:
    for controller in ("source-controller", "helm-controller", "kustomize-controller"):
        access.objects[("Pod", "flux-system", f"{controller}-7d9f")] = pod(controller)
    access.logs[("flux-system", "helm-controller-7d9f")] = [
        log("HelmRelease", "demo", "eoepca-portal", "2026-12-07T10:00:03.000Z", "Reconciler error",
            error="chart 'eoepca-portal' version '9.9.9' not found"),
        log("HelmRelease", "demo", "another", "2026-12-07T10:00:04.000Z", "not ours"),
        "a line that is not JSON",
    ]  # fmt: skip
    access.logs[("flux-system", "source-controller-7d9f")] = [
        "2026-12-07T10:00:01.000Z\tERROR\tReconciler error\t"
        + log("HelmChart", "common", "demo-eoepca-portal", "", "", error="no chart version 9.9.9"),
    ]
    result = run(project, "logs", "--kind", "HelmRelease", "--name", "eoepca-portal", "--tail", "50")
    assert result.exit_code == 0, result.output
    golden("logs-portal.txt", result.stdout)
    assert {r[3:] for r in access.log_reads} == {(None, 50)}
    records = json.loads(run(project, "logs", "--block", "portal", "-o", "json").stdout)
    assert [(r["controller"], r["object"]["kind"]) for r in records] == [
        ("source-controller", "HelmChart"), ("helm-controller", "HelmRelease"),
    ]  # fmt: skip
    only = run(project, "logs", "--block", "portal", "--controller", "helm-controller", "--since", "5m")
    assert "source-controller" not in only.stdout and "helm-controller" in only.stdout
    assert access.log_reads[-1][3] == 300


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["logs", "--block", "nope"],
            "error: stack test has no block 'nope' enabled (enabled: base, portal)",
        ),
        (["events", "--kind", "Deployment", "--name", "x"], "error: --kind Deployment: not a Flux kind"),
        (["events", "--kind", "HelmRelease"], "error: --kind and --name go together"),
        (["events", "-n", "demo"], "error: --namespace names the namespace of --kind and --name"),
        (["events", "--block", "portal", "--name", "x"], "error: give --block, or --kind and --name"),
        (["logs", "--kind", "HelmRelease", "--name", "x"], "error: HelmRelease x is not in the stack"),
        (["logs", "--controller", "image-reflector-controller"], "error: no controller image-reflector"),
    ],
)
def test_what_cannot_be_done_is_one_error_line(
    project: Path, access: FakeAccess, args: list[str], message: str
) -> None:
    result = run(project, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1
