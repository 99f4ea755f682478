"""The controllers' logs as their pods' logs (devcluster/pod_logs.py): what the API server gets from
the node's kubelet endpoint for a Flux controller's pod, `tailLines` and `sinceSeconds` applied, and
nothing for any other pod. Served over HTTPS with the dev cluster's own certificates."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.devcluster import certs
from eoepca_gitops.devcluster.pod_logs import select_lines, serve_pod_logs
from eoepca_gitops.devcluster.ports import free_port

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


def line(seconds_ago: int, msg: str) -> str:
    ts = datetime.fromtimestamp(NOW.timestamp() - seconds_ago, UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"level": "info", "ts": ts, "msg": msg}, separators=(",", ":"))


LINES = [line(600, "old"), "not JSON, kept", line(30, "recent"), line(5, "newest")]


def test_since_then_tail_as_a_kubelet() -> None:
    assert select_lines(LINES, None, None, NOW) == LINES
    assert select_lines(LINES, 2, None, NOW) == LINES[-2:]
    assert select_lines(LINES, None, 60, NOW) == LINES[1:]
    assert select_lines(LINES, 1, 60, NOW) == [LINES[-1]]


def _get(url: str) -> tuple[int, str]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # as the API server: no --kubelet-certificate-authority
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


@pytest.fixture
def served(tmp_path: Path) -> Any:
    files = certs.generate(tmp_path / "pki")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "helm-controller.log").write_text("\n".join(LINES) + "\n")
    pods = {
        ("flux-system", "helm-controller-abc"): {"app": "helm-controller"},
        ("demo", "web-1"): {"app": "web"},
    }
    port = free_port()
    server = serve_pod_logs(port, files.serving_cert, files.serving_key, tmp_path / "logs",
                            lambda ns, name: pods.get((ns, name)))  # fmt: skip
    yield f"https://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_a_controller_s_pod_answers_with_its_log(served: str) -> None:
    status, body = _get(f"{served}/containerLogs/flux-system/helm-controller-abc/manager?tailLines=2")
    assert (status, body.splitlines()) == (200, LINES[-2:])


def test_any_other_pod_has_no_logs_here(served: str) -> None:
    assert _get(f"{served}/containerLogs/demo/web-1/web")[0] == 404
    assert _get(f"{served}/containerLogs/demo/absent/web")[0] == 404
    assert _get(f"{served}/metrics")[0] == 404
