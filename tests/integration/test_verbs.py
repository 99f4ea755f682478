"""`check`, `status` and `events` on the dev cluster with the real Flux controllers, a HelmRelease
failing on a chart version the chart repository does not have (issue 26).

A stack of its own (`verbs`, a copy of the local stack: system-common and the block verbs-broken,
written into the served repository's clusters/blocks/), removed with its block at the end; and a
copy of it pinning Flux v0.24.0, which the cluster does not run (no `pulumi up`: `check` reads the
cluster only).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DevClusterHandle
from tests.integration.await_cases import block, release
from tests.integration.local_stack import LocalStack, local_stack_file, stack_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]

STACK, OLD_FLUX = "verbs", "verbs-old-flux"
BLOCK = "verbs-broken"


@pytest.fixture(scope="module")
def stack(
    dev_cluster: DevClusterHandle, tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """Stack `verbs` up on this cluster: every object applied, the block's release failing."""
    assert dev_cluster.git_repo and dev_cluster.git_url and dev_cluster.charts_url
    project = dev_cluster.git_repo
    env = {
        **stack_env(tools_env, tmp_path_factory.mktemp("verbs-state")),
        "PATH": f"{Path(sys.executable).parent}:{tools_env['PATH']}",
    }
    raw = local_stack_file(dev_cluster)
    config = raw["config"]
    config["eoepca-gitops:blocks"] = ["system-common", BLOCK]
    (project / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    config["eoepca-gitops:flux"] = {**config.get("eoepca-gitops:flux", {}), "version": "v0.24.0"}
    (project / f"Pulumi.{OLD_FLUX}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    broken = block(BLOCK, helmReleases=[release("app", BLOCK, version="9.9.9")])
    (project / "clusters" / "blocks" / f"{BLOCK}.yaml").write_text(yaml.safe_dump(broken, sort_keys=False))
    local = LocalStack(dev_cluster, project, env, name=STACK)
    local.commit("the verbs' stacks and block")
    subprocess.run(["pulumi", "stack", "init", STACK], cwd=project, env=env, check=True, capture_output=True)
    up = local.pulumi("up", "--yes", "--skip-preview", check=False)
    assert up.returncode != 0 and f"FluxNotReady: block {BLOCK}: " in up.stdout, up.stdout + up.stderr
    yield local
    local.pulumi("destroy", "--yes", "--skip-preview", check=False)
    for path in (f"Pulumi.{STACK}.yaml", f"Pulumi.{OLD_FLUX}.yaml", f"clusters/blocks/{BLOCK}.yaml"):
        (project / path).unlink()
    local.commit("the verbs are done")


def test_check_passes_where_the_cluster_runs_the_pinned_flux(stack: LocalStack) -> None:
    def passes() -> dict[str, Any] | None:
        done = stack.cli("check", "--stack", STACK, "-o", "json")
        assert done.returncode in (0, 1), done.stderr
        return json.loads(done.stdout) if done.returncode == 0 else None

    report = wait_for("check to pass (the controllers' Deployments Available)", passes, timeout=60)
    names = {c["name"] for c in report["checks"]}
    assert {"kubectl", "kustomize", "pulumi", "cluster", "helm-controller"} <= names
    assert "helmreleases.helm.toolkit.fluxcd.io" in names
    text = stack.cli("check", "--stack", STACK)
    assert text.returncode == 0 and text.stdout.endswith("✔ all checks passed\n"), text.stdout


def test_check_of_a_stack_pinning_another_flux_exits_1_saying_what_differs(stack: LocalStack) -> None:
    done = stack.cli("check", "--stack", OLD_FLUX, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = {c["name"]: c["detail"] for c in json.loads(done.stdout)["checks"] if not c["ok"]}
    assert failed["helm-controller"].startswith("runs ghcr.io/fluxcd/helm-controller:v1.")
    assert failed["helm-controller"].endswith("; the stack pins ghcr.io/fluxcd/helm-controller:v0.14.0")
    print(done.stdout)


def test_status_exits_1_naming_the_failing_release(stack: LocalStack) -> None:
    done = stack.cli("status", "--stack", STACK, "-o", "yaml")
    assert done.returncode == 1, done.stdout + done.stderr
    shown = yaml.safe_load(done.stdout)
    failing = [(o["kind"], o["namespace"], o["name"]) for o in shown["notReady"]]
    assert ("HelmRelease", BLOCK, "app") in failing


def test_events_show_flux_s_warnings_for_the_release_and_its_chart(stack: LocalStack) -> None:
    done = stack.cli("events", "--stack", STACK, "--block", BLOCK, "-o", "json")
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)
    print(json.dumps(events, indent=2))
    assert events == sorted(events, key=lambda e: e["time"])
    warnings = [e for e in events if e["type"] == "Warning"]
    assert any("9.9.9" in e["message"] for e in warnings), events
    assert {e["object"] for e in events} <= {f"HelmRelease {BLOCK}/app", f"HelmChart common/{BLOCK}-app"}
    one = stack.cli("events", "--stack", STACK, "--kind", "HelmRelease", "--name", "app")
    assert one.returncode == 0 and "9.9.9" in one.stdout, one.stdout + one.stderr


def test_logs_show_the_controllers_error_for_the_release(stack: LocalStack) -> None:
    """The controllers' lines through the pods' logs API (on the dev cluster the supervisor answers
    for the kwok pods with the host processes' logs, devcluster/pod_logs.py)."""

    def about_the_version() -> list[dict[str, Any]] | None:
        done = stack.cli("logs", "--stack", STACK, "--block", BLOCK, "-o", "json")
        assert done.returncode == 0, done.stderr
        records = json.loads(done.stdout)
        return records if any("9.9.9" in r["message"] + r["error"] for r in records) else None

    records = wait_for("a controller's line about version 9.9.9", about_the_version, timeout=60)
    assert records == sorted(records, key=lambda r: r["time"])
    objects = {(r["controller"], r["object"]["kind"], r["object"]["name"]) for r in records}
    assert ("source-controller", "HelmChart", f"{BLOCK}-app") in objects, objects
    text = stack.cli("logs", "--stack", STACK, "--kind", "HelmChart", "--name", f"{BLOCK}-app",
               "--namespace", "common", "--controller", "source-controller", "--tail", "500")  # fmt: skip
    assert text.returncode == 0, text.stderr
    print(text.stdout)
    assert f"source-controller HelmChart common/{BLOCK}-app: " in text.stdout and "9.9.9" in text.stdout
