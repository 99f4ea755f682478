"""The poller names what a block's wait for Flux reports (components/flux_await.py): a failure Flux
reports is FluxFailed and not retried for ever, whatever its message names; a wait that timed out
on an unreachable cluster is retried like any unreachable cluster."""

from __future__ import annotations

import pytest

from eoepca_gitops.poller.automation import classify
from eoepca_gitops.poller.conditions import Reason

FAILED = (
    "error: FluxNotReady: block system-common: Flux reports HelmRelease common/x failed: SourceNotReady: "
    "HelmChart 'common/common-x' is not ready: failed to fetch: dial tcp 10.0.0.9:443: connection refused"
)
TIMED_OUT = (
    "error: FluxNotReady: block user-management: not Ready within await.timeout (10m): "
    "HelmRelease um/x was waiting"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (FAILED, (Reason.FLUX_FAILED, False)),  # the chart repository's refusal, not the cluster's
        (TIMED_OUT + ": Progressing: Running 'install' action", (Reason.FLUX_FAILED, False)),
        (
            TIMED_OUT + ": Unreadable: the cluster does not answer: connection refused",
            (Reason.CLUSTER_UNREACHABLE, True),
        ),
        (
            "error: FluxNotReady: block b: no Kubernetes configuration: no context 'x'",
            (Reason.FLUX_FAILED, False),
        ),
    ],
)
def test_a_wait_for_flux_is_named(text: str, expected: tuple[Reason, bool]) -> None:
    assert classify(text) == expected
