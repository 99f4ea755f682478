"""Drift as operators cause it, on the dev cluster with the real Flux controllers and the poller:
kubectl patch, edit and scale, a client-side apply, another server-side applier, a `flux suspend`,
a deleted object and a removed label. In `detect` mode each is reported with its field and the
field manager that changed it; in `correct` mode each is taken back while fields the stack does not
declare stay as they are and an exempt field stays as the operator set it. The poller runs from its
own clone, and the stack stays usable from the original checkout.

The stack `drift` is a small one (Flux, system-common, system-storage, system-test) in the
repository the dev cluster's Git server serves; it reaches the cluster as the shipped local stack
does, through a kubeconfig context of $KUBECONFIG (no path in the stack file).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.devcluster.ports import free_port
from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT
from tests.integration.drifts import BLOCKS, DRIFTS, Kube
from tests.integration.local_stack import LocalStack, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]

NAME = "drift"
CLI = str(Path(sys.executable).parent / "eoepca-gitops")


@pytest.fixture(scope="module")
def stack(
    dev_cluster: DevClusterHandle, tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    assert dev_cluster.git_repo and dev_cluster.git_url and dev_cluster.charts_url
    project = dev_cluster.git_repo
    # The committed stack file, not the served copy: other modules change that one.
    raw = yaml.safe_load((REPO_ROOT / "Pulumi.local.yaml").read_text())
    config = raw["config"]
    config["eoepca-gitops:cluster"]["name"] = NAME
    config["eoepca-gitops:git"].update(url=dev_cluster.git_url, interval="5s")
    config["eoepca-gitops:charts"]["mirror"] = dev_cluster.charts_url.rstrip("/")
    config["eoepca-gitops:blocks"] = BLOCKS
    config["eoepca-gitops:await"]["timeout"] = "5m"
    # drift on purpose: helm-controller's replicas belong to whoever scales it (shown in status)
    config["eoepca-gitops:driftExempt"] = [
        {
            "object": "Deployment/flux-system/helm-controller",
            "fields": ["spec.replicas"],
            "why": "scaled by hand",
        }
    ]
    (project / f"Pulumi.{NAME}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    env = {
        **stack_env(tools_env, tmp_path_factory.mktemp("drift-state")),
        "KUBECONFIG": str(dev_cluster.kubeconfig),  # the stack names its context, eoepca-dev
    }
    local = LocalStack(dev_cluster, project, env, NAME)
    local.commit("the drift stack")
    subprocess.run(["pulumi", "stack", "init", NAME], cwd=project, env=env, check=True, capture_output=True)
    local.pulumi("up", "--yes", "--skip-preview")
    yield local
    local.pulumi("destroy", "--yes", "--skip-preview", check=False)


def start_poller(stack: LocalStack, work: Path, mode: str) -> tuple[subprocess.Popen[bytes], Path, int]:
    port = free_port()
    args = [
        CLI, "poll", "--repo", str(stack.cluster.git_url), "--branch", "main", "--project-dir", ".",
        "--stack", NAME, "--interval", "2s", "--drift-interval", "5s", "--drift-mode", mode,
        "--state-file", str(work / "state.json"), "--work-dir", str(work / "work"),
        "--listen", f"127.0.0.1:{port}",
    ]  # fmt: skip
    log = work / f"poll-{mode}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args, env=stack.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return proc, log, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=180)


def state(work: Path) -> dict[str, Any]:
    path = work / "state.json"
    return json.loads(path.read_text())["stacks"].get(NAME, {}) if path.exists() else {}


def cause_drift(stack: LocalStack) -> Kube:
    kube = Kube(stack.cluster.kubeconfig)
    for drift in DRIFTS:
        drift.cause(kube)
    # undeclared and exempt: someone's note on the release, and helm-controller scaled by hand
    kube.run("annotate", "helmrelease", "cheese", "-n", "test", "example.org/note=left-alone")
    kube.run("scale", "deployment", "helm-controller", "-n", "flux-system", "--replicas=2")
    return kube


def test_detect_names_every_field_and_who_changed_it(stack: LocalStack, tmp_path: Path) -> None:
    proc, log, port = start_poller(stack, tmp_path, "detect")
    try:
        wait_for(
            "the poller to apply the head", lambda: state(tmp_path).get("phase") == "synced", timeout=300
        )
        cause_drift(stack)
        wanted = {(d.obj, d.field) for d in DRIFTS}

        def reported() -> list[dict[str, str]] | None:
            items = state(tmp_path).get("drift_items") or []
            return items if wanted <= {(i["object"], i["field"]) for i in items} else None

        items = wait_for("a drift check to report every drift", reported, timeout=180)
        by_field = {(i["object"], i["field"]): i for i in items}
        for drift in DRIFTS:
            assert by_field[(drift.obj, drift.field)]["manager"] == drift.manager, drift
        assert by_field[("HelmRelease/test/cheese", "spec.interval")]["live"] == '"9m"'
        # not drift: a field the stack does not declare, an exempt one
        assert not [
            i for i in items if "example.org" in i["field"] or i["object"].endswith("helm-controller")
        ]
        assert state(tmp_path)["phase"] == "drifted"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'eoepca_gitops_drift_total{kind="HelmRelease",stack="drift"}' in metrics
        # detect changes nothing
        assert stack.get("helmrelease", "cheese", "test")["spec"]["interval"] == "9m"
    finally:
        stop(proc)
    assert "Traceback" not in log.read_text()
    status = subprocess.run(
        [CLI, "status", "--stack", NAME, "--json", "--state-file", str(tmp_path / "state.json")],
        cwd=stack.project, env=stack.env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    report = json.loads(status.stdout)
    assert report["poller"]["phase"] == "drifted" and report["poller"]["drift_items"]
    helm = next(c for c in report["flux"]["controllers"] if c["name"] == "helm-controller")
    assert helm["exempt"] == "fields: spec.replicas"


def test_correct_takes_back_exactly_what_the_stack_declares(stack: LocalStack, tmp_path: Path) -> None:
    stack.pulumi("up", "--yes", "--skip-preview", "--refresh")  # the cluster as declared again
    proc, log, _ = start_poller(stack, tmp_path, "correct")
    try:
        wait_for("the poller to apply the head", lambda: state(tmp_path).get("applied_revision"), timeout=300)
        kube = cause_drift(stack)
        for drift in DRIFTS:
            wait_for(
                f"the poller to correct {drift.obj} {drift.field}",
                partial(drift.corrected, kube),
                timeout=240,
            )
        wait_for("the correction recorded", lambda: "DriftCorrected" in log.read_text(), timeout=120)
        # left alone: what the stack does not declare, and the exempt field
        cheese = stack.get("helmrelease", "cheese", "test")
        assert cheese["metadata"]["annotations"]["example.org/note"] == "left-alone"
        assert stack.get("deployment", "helm-controller", "flux-system")["spec"]["replicas"] == 2
    finally:
        stop(proc)
    logged = log.read_text()
    assert re.search(r"kept the fields of [^\"]*kubectl-annotate[^\"]* on HelmRelease/test/cheese", logged)
    assert "Traceback" not in logged and all(line.startswith("{") for line in logged.splitlines())
    # the poller worked in its own clone; the stack is as usable from this checkout as before
    stack.pulumi("preview", "--expect-no-changes", "--diff")


def test_a_check_with_nothing_changed_runs_no_preview_and_an_edit_after_it_is_found(
    stack: LocalStack, tmp_path: Path
) -> None:
    """With Flux's controllers running on the stack's objects: a drift check after a clean one, with
    no object changed since, is answered without a preview; an edit after it is found at the next."""
    stack.pulumi("up", "--yes", "--skip-preview", "--refresh")  # the cluster as declared again
    proc, log, _ = start_poller(stack, tmp_path, "detect")
    try:
        wait_for("a drift check not previewed", lambda: "not previewed" in log.read_text(), timeout=300)
        assert state(tmp_path)["phase"] == "synced"
        DRIFTS[0].cause(Kube(stack.cluster.kubeconfig))
        wait_for("the edit found", lambda: state(tmp_path).get("phase") == "drifted", timeout=180)
    finally:
        stop(proc)
    assert "Traceback" not in log.read_text()
