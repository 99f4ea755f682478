"""The runner against an API server that stops mid-update (on a cluster of its own, so the other
tests' cluster is untouched), and SIGTERM with the real engine: a running update finishes within
the grace period; past it, the update is cancelled (SIGINT to pulumi) and the next start recovers; a
poller killed meanwhile leaves no process running."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from eoepca_gitops.devcluster import DevCluster
from tests.conftest import DevClusterHandle
from tests.leftovers import alive, names, settle
from tests.poller.harness import GitRemote, PollerProcess, applied, configmap_data, kubectl, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    cluster = DevCluster(tmp_path_factory.mktemp("outage-cluster"), progress=print, default_ports=False)
    cluster.up(flux=False)  # an outage of the API server alone
    try:
        yield cluster
    finally:
        cluster.down()


def _running(cluster: DevCluster) -> dict[str, bool]:
    components, _ = cluster.status()
    return {c.name: c.running for c in components}


def test_stop_and_start_one_component(own_cluster: DevCluster) -> None:
    before = _running(own_cluster)
    assert all(before.values()), before
    assert own_cluster.stop_component("kube-apiserver") is True
    now, ready = own_cluster.status()
    assert not ready
    assert {c.name: c.running for c in now} == {**before, "kube-apiserver": False}
    assert own_cluster.stop_component("kube-apiserver") is False  # already stopped
    own_cluster.start_component("kube-apiserver")
    _, ready = own_cluster.status()
    assert ready and all(_running(own_cluster).values())
    with pytest.raises(ValueError, match="unknown component"):
        own_cluster.stop_component("kubelet")


def test_api_server_stopped_mid_update_then_restarted_converges(
    own_cluster: DevCluster, remote: GitRemote, start_poller: Callable[..., PollerProcess]
) -> None:
    info = own_cluster.info()
    assert info is not None
    kc = info.kubeconfig
    ns = f"rc-{uuid.uuid4().hex[:8]}"
    kubectl(kc, "create", "namespace", ns)
    base = {"kubeconfig": str(kc), "namespace": ns}
    c1 = remote.commit({**base, "data": {"k": "v1"}}, "first")
    w = start_poller(remote.url, name="outage")
    w.wait_state("first commit applied", applied(c1))
    c2 = remote.commit({**base, "data": {"k": "v2"}, "pause": 8}, "second, pausing mid-update")
    w.wait_state("update of c2 running", lambda s: s.in_progress is not None and s.in_progress.revision == c2)
    wait_for("the first object of c2 applied", lambda: configmap_data(kc, ns) == {"k": "v2"}, 60)
    own_cluster.stop_component("kube-apiserver")  # while the program waits before the next object
    try:
        s = w.wait_state(
            "the update failed as ClusterUnreachable, to be retried",
            lambda s: (s.last_error or "").startswith("ClusterUnreachable") and s.attempted_revision == c2,
            timeout=180,
        )
        assert s.applied_revision == c1 and s.phase == "failed"
        assert s.last_failure_transient  # never stalls on an outage
        assert w.proc is not None and w.proc.poll() is None  # still running
    finally:
        own_cluster.start_component("kube-apiserver")
    s = w.wait_state("c2 applied once the API server is back", applied(c2), timeout=180)
    assert s.failures == 0 and s.last_error is None
    assert configmap_data(kc, ns, "after-pause") == {"after": "watched"}


def test_sigterm_lets_a_running_update_finish(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
) -> None:
    kc = dev_cluster.kubeconfig
    base = {"kubeconfig": str(kc), "namespace": namespace}
    c1 = remote.commit({**base, "data": {"k": "v1"}, "pause": 5}, "pausing update")
    w = start_poller(remote.url, "--grace", "120s", name="grace")
    wait_for("the first object applied", lambda: configmap_data(kc, namespace) == {"k": "v1"}, 120)
    assert w.state().in_progress is not None
    assert w.terminate(timeout=120) == 0
    s = w.state()
    assert s.applied_revision == c1 and s.phase == "synced" and s.in_progress is None
    assert configmap_data(kc, namespace, "after-pause") == {"after": "watched"}
    logs = w.logs()
    assert '"event": "shutdown-waiting"' in logs and '"event": "shutdown-cancelling"' not in logs


def test_sigterm_past_the_grace_cancels_and_the_next_start_recovers(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
    rc_env: dict[str, str],
) -> None:
    kc = dev_cluster.kubeconfig
    base = {"kubeconfig": str(kc), "namespace": namespace}
    c1 = remote.commit({**base, "data": {"k": "v1"}, "pause": 300}, "an update that outlasts the grace")
    w = start_poller(remote.url, "--grace", "2s", name="cancel")
    wait_for("the first object applied", lambda: configmap_data(kc, namespace) == {"k": "v1"}, 120)
    assert w.terminate(timeout=120) == 0
    logs = w.logs()
    assert '"event": "shutdown-cancelling"' in logs, logs[-3000:]
    s = w.state()
    assert s.applied_revision is None and s.attempted_revision == c1
    assert (s.last_error or "").startswith("Cancelled"), s
    assert configmap_data(kc, namespace, "after-pause") is None
    backend = Path(rc_env["PULUMI_BACKEND_URL"].removeprefix("file://"))
    locks = list((backend / ".pulumi" / "locks").rglob("*.json"))
    c2 = remote.commit({**base, "data": {"k": "v2"}, "pause": 0}, "no pause")
    w2 = start_poller(remote.url, name="cancel")
    s = w2.wait_state("the next start applies the next commit", applied(c2), timeout=180)
    assert configmap_data(kc, namespace) == {"k": "v2"}
    # Cancelled cleanly: the lock was released (nothing stale to remove), or reported if not.
    assert not locks or any("stale lock" in n for n in s.notes), (locks, s.notes)


def test_a_poller_killed_in_its_grace_period_leaves_no_process(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
) -> None:
    """SIGTERM, then SIGKILL to the poller alone while it waits for its update (a supervisor's
    shorter grace, a `kill -9`): its pulumi dies with it, and the update's plugins with their engine."""
    kc = dev_cluster.kubeconfig
    base = {"kubeconfig": str(kc), "namespace": namespace}
    remote.commit({**base, "data": {"k": "v1"}, "pause": 300}, "an update killed with its poller")
    w = start_poller(remote.url, "--grace", "300s", name="killed")
    wait_for("the first object applied", lambda: configmap_data(kc, namespace) == {"k": "v1"}, 120)
    assert w.proc is not None
    started = psutil.Process(w.proc.pid).children(recursive=True)
    assert {"pulumi", "pulumi-resource-kubernetes"} <= names(started), started
    w.proc.send_signal(signal.SIGTERM)
    wait_for("the poller waits for its update", lambda: '"event": "shutdown-waiting"' in w.logs(), 30)
    w.proc.kill()
    w.proc.wait(timeout=30)
    left = settle(lambda: [p for p in started if alive(p)], 10)
    assert not left, f"left running by a poller killed 10 s ago: {left}"
