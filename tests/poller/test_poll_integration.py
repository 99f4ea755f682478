"""The poller against real parts: Git (bare repo on disk and git daemon), the Pulumi engine, the
local cluster, the file and S3 (moto) state backends. Every wait has a deadline; nothing asserts
speed."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import DevClusterHandle, MotoS3
from tests.helpers import REPO_ROOT
from tests.poller.harness import (
    PROJECT_DIR,
    GitDaemon,
    GitRemote,
    PollerProcess,
    applied,
    configmap_data,
    kubectl,
    stack_history,
    wait_for,
)

pytestmark = pytest.mark.integration


def test_new_commit_applied_then_next(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
) -> None:
    kc = dev_cluster.kubeconfig
    base = {"kubeconfig": str(kc), "namespace": namespace}
    c1 = remote.commit({**base, "data": {"k": "v1"}}, "first")
    w = start_poller(remote.url)
    w.wait_state("first commit applied", applied(c1))
    assert configmap_data(kc, namespace) == {"k": "v1"}
    c2 = remote.commit({**base, "data": {"k": "v2"}}, "second")
    w.wait_state("second commit applied", applied(c2))
    assert configmap_data(kc, namespace) == {"k": "v2"}
    status, body = w.http("/metrics")
    assert status == 200
    assert f'eoepca_gitops_applied_revision_info{{revision="{c2}",stack="dev"}} 1.0' in body
    assert w.http("/readyz")[0] == 200 and w.http("/healthz")[0] == 200


def test_two_quick_commits_only_last_applied(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
    rc_env: dict[str, str],
) -> None:
    kc = dev_cluster.kubeconfig
    base = {"kubeconfig": str(kc), "namespace": namespace}
    c1 = remote.commit({**base, "data": {"k": "v1"}}, "first")
    w = start_poller(remote.url)
    w.wait_state("first commit applied", applied(c1))
    c2 = remote.commit({**base, "data": {"k": "v2"}}, "second", push=False)
    c3 = remote.commit({**base, "data": {"k": "v3"}}, "third", push=False)
    remote.push()  # two commits arrive together: only the head is applied
    w.wait_state("third commit applied", applied(c3))
    assert configmap_data(kc, namespace) == {"k": "v3"}
    history = stack_history(rc_env, remote.clone / PROJECT_DIR)
    messages = [h["message"] for h in history if h["kind"] == "update"]
    assert f"eoepca-gitops {c2}" not in messages
    assert messages.count(f"eoepca-gitops {c3}") == 1
    # never two updates at once: each update ends before the next starts
    spans = sorted((h["startTime"], h["endTime"]) for h in history if h["kind"] == "update")
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_bad_commit_reported_last_good_kept_then_fixed(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
) -> None:
    kc = dev_cluster.kubeconfig
    base = {"kubeconfig": str(kc), "namespace": namespace}
    good = remote.commit({**base, "data": {"k": "good"}}, "good")
    w = start_poller(remote.url, "--stall-after", "2")
    w.wait_state("good commit applied", applied(good))
    bad = remote.commit({**base, "data": {"k": "bad"}, "fail": "replicas must be positive"}, "bad")
    s = w.wait_state("bad commit stalled", lambda s: s.phase == "stalled" and s.attempted_revision == bad)
    assert s.applied_revision == good
    assert s.failures == 2
    assert s.last_error is not None and "replicas must be positive" in s.last_error
    assert s.last_error.startswith("ConfigInvalid")
    assert "waiting for a new commit" in s.conditions[2].message
    assert configmap_data(kc, namespace) == {"k": "good"}  # previous state intact
    _, body = w.http("/metrics")
    assert 'eoepca_gitops_failures_total{reason="ConfigInvalid",stack="dev"} 2.0' in body
    assert 'eoepca_gitops_stack_state{stack="dev",state="stalled"} 1.0' in body
    fixed = remote.commit({**base, "data": {"k": "fixed"}}, "fixed")
    w.wait_state("fixed commit applied", applied(fixed))
    assert configmap_data(kc, namespace) == {"k": "fixed"}
    out = subprocess.run(
        [sys.executable, "-c", "from eoepca_gitops.cli.main import app; app()", "status",
         "--state-file", str(w.state_file)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "dev" in out.stdout and fixed[:12] in out.stdout and "synced" in out.stdout


def test_git_remote_down_then_back_over_git_daemon(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
) -> None:
    kc = dev_cluster.kubeconfig
    base = {"kubeconfig": str(kc), "namespace": namespace}
    daemon = GitDaemon(remote.base)
    daemon.start()
    try:
        c1 = remote.commit({**base, "data": {"k": "v1"}}, "first")
        w = start_poller(daemon.url(remote.name))
        w.wait_state("first commit applied over git://", applied(c1))
        daemon.stop()
        s = w.wait_state(
            "source reported unavailable", lambda s: (s.last_error or "").startswith("SourceUnavailable")
        )
        assert s.applied_revision == c1
        assert w.proc is not None and w.proc.poll() is None  # still running
        c2 = remote.commit({**base, "data": {"k": "v2"}}, "while down")
        daemon.start()
        w.wait_state("commit pushed during the outage applied", applied(c2))
        assert configmap_data(kc, namespace) == {"k": "v2"}
        _, body = w.http("/metrics")
        assert "eoepca_gitops_source_errors_total" in body
    finally:
        daemon.stop()


def test_drift_detected_then_corrected(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
) -> None:
    kc = dev_cluster.kubeconfig
    c1 = remote.commit({"kubeconfig": str(kc), "namespace": namespace, "data": {"k": "declared"}}, "first")
    w = start_poller(remote.url, "--drift-interval", "1s", "--drift-mode", "detect", name="detect")
    w.wait_state("applied", applied(c1))
    kubectl(
        kc, "-n", namespace, "patch", "configmap", "watched", "--type=merge", "-p", '{"data":{"k":"edited"}}'
    )
    s = w.wait_state("drift detected", lambda s: s.phase == "drifted")
    assert s.conditions[0].message.startswith("drift: ") and "watched" in s.conditions[0].message
    _, body = w.http("/metrics")
    assert 'eoepca_gitops_drift_detected{stack="dev"} 1.0' in body
    # Detect mode had its chances to touch the object: two more drift checks found the drift again.
    checked = s.last_drift_check_at or 0.0
    w.wait_state("two more drift checks", lambda s: (s.last_drift_check_at or 0.0) >= checked + 2.0)
    assert configmap_data(kc, namespace) == {"k": "edited"}
    assert w.state().phase == "drifted"
    w.terminate()
    # Same stack and state, now in correct mode: the edit is undone.
    w2 = start_poller(remote.url, "--drift-interval", "1s", "--drift-mode", "correct", name="detect")
    w2.wait_state(
        "drift corrected", lambda s: s.phase == "synced" and s.conditions[0].reason == "DriftCorrected"
    )
    assert configmap_data(kc, namespace) == {"k": "declared"}


def test_two_runners_one_stack_on_s3_never_update_at_once(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
    rc_env: dict[str, str],
    moto_s3: MotoS3,
) -> None:
    kc = dev_cluster.kubeconfig
    env = {**rc_env, **moto_s3.aws_env, "PULUMI_BACKEND_URL": moto_s3.backend_url(namespace)}
    s3_remote = GitRemote(remote.base / "s3", env)
    c1 = s3_remote.commit({"kubeconfig": str(kc), "namespace": namespace, "data": {"k": "v1"}}, "first")
    a = start_poller(s3_remote.url, name="a", env=env)
    b = start_poller(s3_remote.url, name="b", env=env)
    sa = a.wait_state("runner a has the revision", applied(c1))
    sb = b.wait_state("runner b has the revision", applied(c1))
    assert configmap_data(kc, namespace) == {"k": "v1"}
    history = stack_history(env, s3_remote.clone / PROJECT_DIR)
    updates = sorted(
        (h for h in history if h["kind"] == "update" and h["message"] == f"eoepca-gitops {c1}"),
        key=lambda h: h["startTime"],
    )
    # The backend's stack lock: never two updates at once. Usually the second runner sees the
    # revision in the history (AlreadyApplied) or loses the lock and then sees it; when it checked
    # the history while the first update was still running, its own update changes nothing.
    assert 1 <= len(updates) <= 2, history
    assert all(a["endTime"] <= b["startTime"] for a, b in itertools.pairwise(updates)), updates
    assert updates[0]["resourceChanges"].get("create", 0) >= 1
    for later in updates[1:]:
        assert set(later["resourceChanges"]) <= {"same"}, later
    assert {sa.conditions[0].reason, sb.conditions[0].reason} <= {"Synced", "AlreadyApplied"}


def test_killed_mid_update_restart_recovers_pending_operations(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
    rc_env: dict[str, str],
) -> None:
    kc = dev_cluster.kubeconfig
    base = {"kubeconfig": str(kc), "namespace": namespace}
    slow = remote.commit(
        {**base, "data": {"k": "v1"}, "service": "LoadBalancer"}, "slow: a LoadBalancer that never gets an IP"
    )
    w = start_poller(remote.url, name="k")

    def service_exists() -> bool:
        return kubectl(kc, "-n", namespace, "get", "service", "slow", check=False).returncode == 0

    w.wait_state("update running", lambda s: s.in_progress is not None and s.in_progress.revision == slow)
    wait_for("the Service create in flight", service_exists, timeout=120)
    backend = Path(rc_env["PULUMI_BACKEND_URL"].removeprefix("file://"))

    def pending_service_persisted() -> bool:  # the engine's checkpoint names the create in flight
        return any(
            '"pending_operations"' in text and "Service::slow" in text
            for text in (p.read_text() for p in (backend / ".pulumi" / "stacks").rglob("*.json"))
        )

    wait_for("the engine to persist its pending operation", pending_service_persisted, timeout=60)
    w.kill()  # SIGKILL to the runner and its pulumi processes, like a node failure
    assert w.state().in_progress is not None
    assert list((backend / ".pulumi" / "locks").rglob("*.json")), "a stale lock should be left"
    # The next revision changes fields the killed run applied to the Service it was creating (and
    # maybe to the ConfigMap, when the kill came before its create was recorded): the re-create
    # takes them from the dead run's field manager (patchForce), no field conflict.
    fixed = remote.commit({**base, "data": {"k": "v2"}, "service": "ClusterIP"}, "no LoadBalancer")
    w2 = start_poller(remote.url, name="k")
    s = w2.wait_state("recovered and fixed commit applied", applied(fixed), timeout=180)
    notes = " ".join(s.notes)
    assert "pending creating of" in notes and "Service::slow" in notes, notes  # reported, not ignored
    assert "stale lock" in notes, notes
    assert '"event": "recovered"' in w2.logs()
    assert configmap_data(kc, namespace) == {"k": "v2"}
    service_type = ["-n", namespace, "get", "service", "slow", "-o", "jsonpath={.spec.type}"]
    assert kubectl(kc, *service_type).stdout == "ClusterIP"
    # ... and the stack's again: a revision that drops it deletes it.
    dropped = remote.commit({**base, "data": {"k": "v2"}}, "no Service")
    w2.wait_state("the revision without the Service applied", applied(dropped), timeout=120)
    wait_for("the Service deleted", lambda: not service_exists(), timeout=60)
