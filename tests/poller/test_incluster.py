"""The runner's in-cluster parts against the dev cluster: state in a ConfigMap that survives a
restart, and a Lease with which two pollers on one stack never both update."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from eoepca_gitops.poller.state import StackState, decode
from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT
from tests.poller.harness import (
    PROJECT_DIR,
    GitRemote,
    PollerProcess,
    applied,
    configmap_data,
    kubectl,
    stack_history,
    wait_for,
)

pytestmark = pytest.mark.integration
STATE_CM = "poller-state"


def cm_state(kc: Path, namespace: str, stack: str = "dev") -> StackState:
    data = configmap_data(kc, namespace, STATE_CM)
    if not data or "state.json" not in data:
        return StackState(stack=stack)
    return decode(json.loads(data["state.json"])).get(stack) or StackState(stack=stack)


def wait_cm(
    kc: Path, ns: str, what: str, pred: Callable[[StackState], bool], *watchers: PollerProcess
) -> StackState:
    def check() -> StackState | None:
        s = cm_state(kc, ns)
        return s if pred(s) else None

    try:
        return wait_for(what, check, timeout=150)
    except AssertionError as exc:
        logs = "\n".join(f"--- {w.log_file.name}\n{w.logs()[-3000:]}" for w in watchers)
        raise AssertionError(f"{exc}\n{logs}") from None


def updates(env: dict[str, str], remote: GitRemote, rev: str) -> int:
    history = stack_history(env, remote.clone / PROJECT_DIR)
    return sum(1 for h in history if h["kind"] == "update" and h["message"] == f"eoepca-gitops {rev}")


def test_state_in_a_configmap_survives_a_restart(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
    rc_env: dict[str, str],
) -> None:
    kc = dev_cluster.kubeconfig
    env = {**rc_env, "KUBECONFIG": str(kc)}
    base = {"kubeconfig": str(kc), "namespace": namespace}
    extra = ("--state-configmap", STATE_CM, "--kube-namespace", namespace)
    c1 = remote.commit({**base, "data": {"k": "v1"}}, "first")
    w = start_poller(remote.url, *extra, name="one", env=env)
    wait_cm(kc, namespace, "first commit applied, recorded in the ConfigMap", applied(c1), w)
    assert not w.state_file.exists()  # nothing on local disk
    assert w.terminate() == 0
    # A new process with an empty disk (a new pod) reads what the first one applied.
    w2 = start_poller(remote.url, *extra, name="two", env=env)
    wait_for("the second runner to tick", lambda: '"event": "started"' in w2.logs(), timeout=60)
    c2 = remote.commit({**base, "data": {"k": "v2"}}, "second")
    wait_cm(kc, namespace, "second commit applied", applied(c2), w2)
    assert updates(env, remote, c1) == 1  # c1 was not applied again after the restart
    assert '"event": "update", "reason": "NotYetApplied"' not in w2.logs()
    assert configmap_data(kc, namespace) == {"k": "v2"}
    out = subprocess.run(
        [sys.executable, "-c", "from eoepca_gitops.cli.main import app; app()", "status",
         "--state-configmap", STATE_CM, "--kube-namespace", namespace],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert c2[:12] in out.stdout and "synced" in out.stdout


def test_lease_one_leader_updates_the_other_takes_over(
    remote: GitRemote,
    namespace: str,
    dev_cluster: DevClusterHandle,
    start_poller: Callable[..., PollerProcess],
    rc_env: dict[str, str],
) -> None:
    kc = dev_cluster.kubeconfig
    env = {**rc_env, "KUBECONFIG": str(kc)}
    base = {"kubeconfig": str(kc), "namespace": namespace}
    extra = ("--state-configmap", STATE_CM, "--kube-namespace", namespace, "--lease", "poller",
             "--lease-duration", "6s")  # fmt: skip
    c1 = remote.commit({**base, "data": {"k": "v1"}}, "first")
    a = start_poller(remote.url, *extra, name="a", env=env)
    b = start_poller(remote.url, *extra, name="b", env=env)
    wait_cm(kc, namespace, "first commit applied", applied(c1), a, b)
    elected = [w for w in (a, b) if '"event": "leader-elected"' in w.logs()]
    assert len(elected) == 1, [w.logs()[-2000:] for w in (a, b)]
    leader, standby = elected[0], b if elected[0] is a else a
    assert '"event": "waiting-for-lease"' in standby.logs()
    assert '"event": "update"' not in standby.logs()
    assert updates(env, remote, c1) == 1
    lease = json.loads(kubectl(kc, "-n", namespace, "get", "lease", "poller", "-o", "json").stdout)
    holder = lease["spec"]["holderIdentity"]
    assert holder.endswith(f"-{leader.proc.pid}") if leader.proc else False

    # The leader stops (SIGTERM: it hands the Lease back); the standby takes over and applies.
    assert leader.terminate() == 0
    assert '"event": "leader-released"' in leader.logs()
    wait_for("the standby to become leader", lambda: '"event": "leader-elected"' in standby.logs(), 60)
    c2 = remote.commit({**base, "data": {"k": "v2"}}, "second")
    wait_cm(kc, namespace, "second commit applied by the new leader", applied(c2), standby)
    assert configmap_data(kc, namespace) == {"k": "v2"}
    assert updates(env, remote, c1) == 1 and updates(env, remote, c2) == 1
    lease = json.loads(kubectl(kc, "-n", namespace, "get", "lease", "poller", "-o", "json").stdout)
    assert lease["spec"]["holderIdentity"].endswith(f"-{standby.proc.pid}") if standby.proc else False
    # A Lease handed back and taken is no takeover: transitions count leases taken from a holder.
    assert lease["spec"]["leaseTransitions"] == 0

    # Someone else takes the Lease: the runner steps down at its next renewal and exits 1 (its pod
    # restarts and stands by), rather than updating next to another holder.
    kubectl(kc, "-n", namespace, "patch", "lease", "poller", "--type=merge",
            "-p", '{"spec":{"holderIdentity":"intruder"}}')  # fmt: skip
    assert standby.proc is not None
    assert standby.proc.wait(timeout=60) == 1
    assert '"event": "leader-lost"' in standby.logs()
