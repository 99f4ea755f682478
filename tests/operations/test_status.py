"""The status of both layers from objects as the API server returns them: rows, order, exit codes,
the JSON form against a golden file (`pytest --update-golden` rewrites it), and the page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from eoepca_gitops.operations.page import Update, page_html
from eoepca_gitops.operations.status import (
    EXIT_ALL_READY,
    EXIT_CANNOT_TELL,
    EXIT_NOT_READY,
    ClusterStatus,
    StackLayer,
    block_statuses,
    object_status,
)


def flux(
    kind: str, ns: str, name: str, ready: str, reason: str, message: str, **status: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"namespace": ns, "name": name, "generation": 2},
        "spec": {},
        "status": {
            "observedGeneration": 2,
            "conditions": [
                {"type": "Ready", "status": ready, "reason": reason, "message": message,
                 "lastTransitionTime": "2026-11-30T05:00:00Z"}
            ],
            **status,
        },
    }  # fmt: skip


def deployment(name: str, available: str = "True") -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"namespace": "flux-system", "name": name},
        "spec": {"template": {"spec": {"containers": [{"image": f"ghcr.io/fluxcd/{name}:v1.9.3"}]}}},
        "status": {
            "conditions": [
                {"type": "Available", "status": available, "reason": "MinimumReplicasAvailable",
                 "lastTransitionTime": "2026-11-30T04:00:00Z"}
            ]
        },
    }  # fmt: skip


BLOCKS = [
    (
        "system-demo",
        [("Kustomization", "flux-system", "system-demo"), ("HelmRelease", "demo", "eoepca-portal")],
    ),
    ("user-management", [("HelmRelease", "um", "um-login-service"), ("HelmRelease", "um", "um-pdp-engine")]),
]
FOUND = {
    ("Kustomization", "flux-system", "system-demo"): flux(
        "Kustomization", "flux-system", "system-demo", "True", "ReconciliationSucceeded", "Applied revision",
        lastAppliedRevision="main@sha1:0123456789abcdef",
    ),
    ("HelmRelease", "demo", "eoepca-portal"): flux(
        "HelmRelease", "demo", "eoepca-portal", "False", "ArtifactFailed",
        "HelmChart 'common/demo-eoepca-portal' is not ready: no chart version found for eoepca-portal-9.9.9",
    ),
    ("HelmRelease", "um", "um-login-service"): flux(
        "HelmRelease", "um", "um-login-service", "True", "InstallSucceeded", "Helm install succeeded",
        history=[{"chartVersion": "1.2.8"}],
    ),
}  # fmt: skip


def cluster_status(found: dict[tuple[str, str, str], Any] = FOUND) -> ClusterStatus:
    return ClusterStatus(
        stack=StackLayer("local", "2026-11-30T05:01:00Z", "succeeded", "0123456789abcdef0123"),
        flux_version="v2.9.3",
        controllers=(
            object_status("Deployment", "flux-system", "source-controller", deployment("source-controller")),
        ),
        source=object_status(
            "GitRepository",
            "flux-system",
            "flux-system",
            flux(
                "GitRepository",
                "flux-system",
                "flux-system",
                "True",
                "Succeeded",
                "stored artifact",
                artifact={"revision": "main@sha1:0123456789abcdef"},
            ),
        ),
        blocks=block_statuses(BLOCKS, found),
    )


def test_rows_put_what_is_not_ready_first_with_the_controllers_message() -> None:
    s = cluster_status()
    rows = [(c, o.ref, o.ready) for c, o in s.rows]
    assert rows[:2] == [
        ("system-demo", "HelmRelease demo/eoepca-portal", "False"),
        ("user-management", "HelmRelease um/um-pdp-engine", "Missing"),
    ]
    assert all(o.ok for _, o in s.rows[2:])
    assert "no chart version found" in s.rows[0][1].message
    assert s.exit_code == EXIT_NOT_READY


def test_exit_codes() -> None:
    ready = {k: flux(k[0], k[1], k[2], "True", "Succeeded", "") for _, refs in BLOCKS for k in refs}
    assert cluster_status(ready).exit_code == EXIT_ALL_READY
    assert (
        ClusterStatus(StackLayer("x"), "v2.9.3", (), None, (), error="no cluster").exit_code
        == EXIT_CANNOT_TELL
    )


@pytest.mark.parametrize(
    ("obj", "ready"),
    [
        ({**flux("HelmRelease", "a", "b", "True", "r", ""), "spec": {"suspend": True}}, "Suspended"),
        (
            {
                **flux("HelmRelease", "a", "b", "True", "r", ""),
                "metadata": {"namespace": "a", "name": "b", "generation": 3},
            },
            "Unknown",
        ),
        ({"kind": "HelmRelease", "metadata": {"name": "b"}, "status": {}}, "Unknown"),
        (None, "Missing"),
    ],
)
def test_suspended_stale_and_missing_objects_are_not_ready(obj: dict[str, Any] | None, ready: str) -> None:
    row = object_status("HelmRelease", "a", "b", obj)
    assert row.ready == ready and not row.ok


def test_revisions_are_what_each_kind_applied() -> None:
    s = cluster_status()
    by_ref = {o.ref: o for _, o in s.rows}
    assert by_ref["HelmRelease um/um-login-service"].revision == "1.2.8"
    assert by_ref["Kustomization flux-system/system-demo"].revision == "main@sha1:0123456789abcdef"
    assert by_ref["GitRepository flux-system/flux-system"].revision == "main@sha1:0123456789abcdef"
    assert by_ref["Deployment flux-system/source-controller"].revision == "v1.9.3"


def test_json_form_is_stable(golden: Callable[[str, str], None]) -> None:
    golden("status.json", json.dumps(cluster_status().to_json(), indent=2, sort_keys=True) + "\n")


def test_the_page_shows_what_is_not_ready_first_and_escapes_everything() -> None:
    found = dict(FOUND)
    found[("HelmRelease", "demo", "eoepca-portal")] = flux(
        "HelmRelease", "demo", "eoepca-portal", "False", "InstallFailed",
        "<script>alert(1)</script> fetching https://reader:s3cr3t-t0ken@git.example.org/x failed",
    )  # fmt: skip
    updates = [
        Update(__import__("datetime").datetime(2026, 11, 30, 5, i), 12.0, "succeeded", f"{i:040d}", 8.0 + i)
        for i in range(3)
    ]
    page = page_html([(cluster_status(found), updates)])
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page  # the page's own script aside
    assert "s3cr3t-t0ken" not in page
    body = page[page.index("<tbody>") :]
    assert body.index("eoepca-portal") < body.index("um-login-service")
    assert "<svg" in page and "polyline" in page
