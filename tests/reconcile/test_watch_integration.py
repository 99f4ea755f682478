"""The poller against real parts: Git (bare repo on disk and git daemon), the Pulumi engine, the
local cluster, the file and S3 (moto) state backends. Every wait has a deadline; nothing asserts
speed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reconcile.harness import GitRemote, Watcher, configmap_data

pytestmark = pytest.mark.integration


def applied(rev: str) -> Callable[..., bool]:
    return lambda s: s.applied_revision == rev and s.phase == "synced"


def test_new_commit_applied_then_next(
    remote: GitRemote, namespace: str, dev_cluster: object, start_watch: Callable[..., Watcher]
) -> None:
    kc: Path = dev_cluster.kubeconfig  # type: ignore[attr-defined]
    base = {"kubeconfig": str(kc), "namespace": namespace}
    c1 = remote.commit({**base, "data": {"k": "v1"}}, "first")
    w = start_watch(remote.url)
    w.wait_state("first commit applied", applied(c1))
    assert configmap_data(kc, namespace) == {"k": "v1"}
    c2 = remote.commit({**base, "data": {"k": "v2"}}, "second")
    w.wait_state("second commit applied", applied(c2))
    assert configmap_data(kc, namespace) == {"k": "v2"}
    status, body = w.http("/metrics")
    assert status == 200
    assert f'eoepca_gitops_applied_revision_info{{revision="{c2}",stack="dev"}} 1.0' in body
    assert w.http("/readyz")[0] == 200 and w.http("/healthz")[0] == 200
