"""The deploy loop on the dev cluster with the real Flux controllers (issue 27): a push that breaks a
block (a chart version that does not exist, with a values change that Helm did apply) turns
`status` red; `rollback` brings every block back to Ready at the previous revision, the Helm history
showing the roll-back as a new revision; the poller's automatic mode does the same alone; a push is
applied at once through the webhooks (Flux's Receiver, the poller's endpoint) the Git server calls.

The tests run in file order on one deployed local stack (module fixture), in the repository the dev
cluster's Git server serves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.devcluster.git_server import add_webhook
from eoepca_gitops.devcluster.layout import ClusterInfo
from eoepca_gitops.devcluster.ports import free_port
from eoepca_gitops.poller.hold import HoldStore, holds_file
from eoepca_gitops.poller.state import StackState, StateStore
from tests.conftest import DevClusterHandle
from tests.integration.local_stack import STACK, HelmRecord, LocalStack, deploy_ready, not_ready, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]

PORTAL = ("demo", "eoepca-portal")
PDP = ("um", "um-pdp-engine")


@pytest.fixture(scope="module")
def stack(
    dev_cluster: DevClusterHandle, tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    local = deploy_ready(dev_cluster, tools_env, tmp_path_factory.mktemp("state"))
    local.pulumi("up", "--yes", "--skip-preview")
    yield local
    local.pulumi("destroy", "--yes", "--skip-preview", check=False)
    local.restore_snapshot()  # its broken versions, hour-long interval, Receiver and webhooks stay here


def release(stack: LocalStack, where: tuple[str, str]) -> HelmRecord:
    record = stack.helm_release(*where)
    assert record is not None, where
    return record


def break_it(stack: LocalStack, replicas: int) -> str:
    """Commits a change Helm applies (the portal's replicas) and one Flux fails (a chart version that
    does not exist); returns the revision."""

    def broken(c: dict[str, Any]) -> None:
        releases = c.setdefault("overrides", {})
        releases.setdefault("system-demo", {}).setdefault("releases", {})["eoepca-portal"] = {
            "values": {"replicaCount": replicas}
        }
        releases.setdefault("user-management", {}).setdefault("releases", {})["um-pdp-engine"] = {
            "version": "9.9.9"
        }

    stack.edit_config(broken)
    return stack.commit(f"portal x{replicas} and a chart version that does not exist")


def source_ref(stack: LocalStack) -> Any:
    return stack.get("gitrepository", "flux-system", "flux-system")["spec"]["ref"]


def test_rollback_brings_every_block_back_to_the_previous_revision(stack: LocalStack, tmp_path: Path) -> None:
    good = stack.commit("known good")
    original = stack.stack_file.read_text()
    stack.pulumi("up", "--yes", "--skip-preview")
    portal_before, pdp_before = release(stack, PORTAL), release(stack, PDP)

    bad = break_it(stack, 3)
    assert stack.pulumi("up", "--yes", "--skip-preview", check=False).returncode != 0
    assert release(stack, PORTAL).values["replicaCount"] == 3  # applied, then the pdp failed
    report = stack.cli("status", "--stack", STACK, "--json")
    assert report.returncode == 1, report.stderr
    red = [o["name"] for o in json.loads(report.stdout)["notReady"]]
    assert "um-pdp-engine" in red

    state = tmp_path / "state.json"
    plan = stack.cli("rollback", "--stack", STACK, "--to", good, "--dry-run", "--state-file", str(state))
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.startswith(f"rollback of stack {STACK} to {good[:12]} (--to {good})\n")
    for line in (
        "HelmRelease demo/eoepca-portal: chart",
        "HelmRelease um/um-pdp-engine: chart",
        "GitRepository",
    ):
        assert line in plan.stdout, plan.stdout
    assert source_ref(stack) == {"branch": "main"} and not holds_file(state).exists()  # nothing changed

    done = stack.cli("rollback", "--stack", STACK, "--to", good, "--state-file", str(state))
    assert done.returncode == 0, done.stdout + done.stderr
    assert not_ready(stack) == []
    assert source_ref(stack) == {"commit": good}
    portal, pdp = release(stack, PORTAL), release(stack, PDP)
    # The roll-back is a new Helm revision with the values of the good revision: history kept.
    assert portal.revision == portal_before.revision + 2 and portal.values == portal_before.values
    assert (pdp.chart_version, pdp.status) == (pdp_before.chart_version, "deployed")
    hold = HoldStore(holds_file(state)).get(STACK)
    assert hold is not None and hold.revision == good
    assert bad != good

    assert stack.cli("rollback", "--stack", STACK, "--release", "--state-file", str(state)).returncode == 0
    assert HoldStore(holds_file(state)).get(STACK) is None
    stack.stack_file.write_text(original)
    stack.commit("the fix: back to the good stack file")
    stack.pulumi("up", "--yes", "--skip-preview")  # unpinned: Flux follows the branch again
    assert source_ref(stack) == {"branch": "main"}


def test_the_poller_rolls_a_broken_push_back_alone(stack: LocalStack, tmp_path: Path) -> None:
    state, port = tmp_path / "state.json", free_port()
    args = [
        str(Path(sys.executable).parent / "eoepca-gitops"), "poll",
        "--repo", str(stack.cluster.git_url), "--branch", "main", "--project-dir", ".", "--stack", STACK,
        "--interval", "1s", "--drift-interval", "0", "--listen", f"127.0.0.1:{port}",
        "--rollback-after", "30s",
        "--state-file", str(state), "--work-dir", str(tmp_path / "work"),
    ]  # fmt: skip
    log = tmp_path / "poll.log"
    with log.open("wb") as out:
        poller = subprocess.Popen(
            args, env=stack.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def current() -> StackState:
        assert poller.poll() is None, log.read_text()[-4000:]
        return (StateStore.read(state) if state.exists() else {}).get(STACK) or StackState(STACK)

    try:
        original = stack.stack_file.read_text()
        good = stack.commit("known good, for the poller")
        wait_for("the poller to record the head as good", lambda: current().last_good_revision == good, 600)
        portal_before = release(stack, PORTAL)
        bad = break_it(stack, 4)

        def rolled_back() -> StackState | None:
            s = current()
            return s if (s.held_revision, s.applied_revision, s.phase) == (good, good, "synced") else None

        held = wait_for("the automatic roll-back to be applied", rolled_back, 600)
        assert held.rollbacks == 1 and held.git_revision == bad
        assert held.held_reason is not None and held.held_reason.startswith(
            f"automatic rollback: {bad[:12]} not Ready"
        )
        wait_for("every block Ready at the good revision", lambda: not_ready(stack) == [], 300)
        assert source_ref(stack) == {"commit": good}
        portal = release(stack, PORTAL)
        assert portal.values == portal_before.values and portal.revision == portal_before.revision + 2
        table = stack.cli("status", "--state-file", str(state))
        assert good[:12] in table.stdout and "automatic rollback" in table.stdout, table.stdout
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert f'eoepca_gitops_rollbacks_total{{stack="{STACK}"}} 1.0' in response.read().decode()
        stack.stack_file.write_text(original)
        fixed = stack.commit("the fix")  # a newer commit ends the automatic hold

        def followed() -> StackState | None:
            s = current()
            return (
                s
                if (s.held_revision, s.applied_revision, s.last_good_revision) == (None, fixed, fixed)
                else None
            )

        wait_for("the poller to follow the branch again", followed, 600)
        assert source_ref(stack) == {"branch": "main"}
    finally:
        os.killpg(poller.pid, signal.SIGTERM)
        poller.wait(timeout=120)


def test_a_push_is_applied_at_once_through_the_webhooks(stack: LocalStack, tmp_path: Path) -> None:
    """Flux's github Receiver for the Git layer, the poller's /hooks/github for the Pulumi layer, both
    called by the Git server on a push; Flux's Git interval and the poller's are an hour."""
    token, port = "push-token-0123456789abcdef", free_port()

    def receiver(c: dict[str, Any]) -> None:
        c["git"]["interval"] = "1h"
        c.setdefault("notifications", {})["receiver"] = {
            "name": "github-push",
            "tokenSecret": "receiverToken",
        }

    stack.edit_config(receiver)
    stack.pulumi("config", "set", "--secret", "receiverToken", token)
    stack.commit("push webhooks")
    stack.pulumi("up", "--yes", "--skip-preview")
    path = wait_for(
        "the Receiver's webhook path",
        lambda: ((stack.get("receiver", "github-push", "flux-system") or {}).get("status") or {}).get(
            "webhookPath"
        ),
        120,
    )
    info = ClusterInfo.from_file(stack.cluster.state_dir / "cluster.json")
    assert info is not None and stack.cluster.git_repo is not None
    add_webhook(
        stack.cluster.git_repo,
        f"http://127.0.0.1:{info.ports['notification-controller-receiver']}{path}",
        token,
    )
    add_webhook(stack.cluster.git_repo, f"http://127.0.0.1:{port}/hooks/github", token)
    state = tmp_path / "state.json"
    args = [
        str(Path(sys.executable).parent / "eoepca-gitops"), "poll",
        "--repo", str(stack.cluster.git_url), "--branch", "main", "--project-dir", ".", "--stack", STACK,
        "--interval", "1h", "--drift-interval", "0", "--listen", f"127.0.0.1:{port}",
        "--state-file", str(state), "--work-dir", str(tmp_path / "work"),
    ]  # fmt: skip
    log = tmp_path / "poll.log"
    with log.open("wb") as out:
        poller = subprocess.Popen(
            args,
            env={**stack.env, "EOEPCA_GITOPS_WEBHOOK_SECRET": token},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        head = stack.commit("nothing: the poller's first round")

        def applied() -> bool:
            return (
                state.exists()
                and StateStore.read(state).get(STACK, StackState(STACK)).applied_revision == head
            )

        wait_for("the poller to apply a pushed commit", applied, 600)
        before = release(stack, PORTAL)
        pvc_file = stack.project / "clusters/flux/system-test/pvc-dummy-service.yaml"
        pvc_file.write_text(
            pvc_file.read_text().replace(
                "  name: dummy-service-pep-pvc\n",
                "  name: dummy-service-pep-pvc\n  labels:\n    pushed: now\n",
                1,
            )
        )
        stack.pulumi(
            "config", "set", "--path", "overrides.system-demo.releases.eoepca-portal.values.replicaCount", "5"
        )
        pushed = time.monotonic()
        revision = stack.commit("a pushed change to both layers")

        def upgraded() -> HelmRecord | None:
            record = stack.helm_release(*PORTAL)
            return record if record and record.revision > before.revision else None

        record = wait_for(f"the poller to apply {revision[:12]} on the push", upgraded, 300, every=0.2)
        helm_seconds = time.monotonic() - pushed
        labelled = wait_for(
            "Flux to apply the plain manifest on the push",
            lambda: (
                ((stack.get("pvc", "dummy-service-pep-pvc", "test") or {}).get("metadata") or {})
                .get("labels", {})
                .get("pushed")
            ),
            120,
            every=0.2,
        )
        flux_seconds = time.monotonic() - pushed
        print(f"push -> Helm release upgraded {helm_seconds:.1f} s; plain manifest {flux_seconds:.1f} s")
        assert record.values["replicaCount"] == 5 and labelled == "now"
        assert '"event": "webhook"' in log.read_text()
    finally:
        os.killpg(poller.pid, signal.SIGTERM)
        poller.wait(timeout=120)
