"""The Flux controllers' logs as their pods' logs: what a kubelet answers for `kubectl logs`.

On the dev cluster the controllers run as host processes while their pods are kwok's, on a node no
kubelet runs. The API server reads a pod's logs from the node's kubelet endpoint (the node's
InternalIP and daemonEndpoints port, /containerLogs/NAMESPACE/POD/CONTAINER over HTTPS, the
certificate not verified unless --kubelet-certificate-authority is set); kwok advertises this
server's port there (kwok_argv's --node-port). A pod of a Flux controller's Deployment (label `app`)
answers with that controller's log file, `tailLines` and `sinceSeconds` applied as a kubelet
applies them; any other pod has no logs here.
"""

from __future__ import annotations

import ssl
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eoepca_gitops.devcluster.flux import CONTROLLERS
from eoepca_gitops.errors import KubeApiError

__all__ = ["select_lines", "serve_pod_logs"]

# The last lines a request reads at most, as a kubelet keeps a bounded log per container.
KEPT_LINES = 20_000


def _timestamp(line: str) -> datetime | None:
    """The `ts` of a controller's JSON log line."""
    start = line.find('"ts":"')
    if start < 0:
        return None
    value = line[start + 6 : line.find('"', start + 6)]
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def select_lines(lines: Sequence[str], tail: int | None, since: int | None, now: datetime) -> list[str]:
    """What a kubelet returns of `lines`: those of the last `since` seconds, then the last `tail`."""
    kept = list(lines)
    if since is not None:
        cutoff = now - timedelta(seconds=since)
        kept = [ln for ln in kept if (ts := _timestamp(ln)) is None or ts >= cutoff]
    return kept[-tail:] if tail is not None else kept


def serve_pod_logs(
    port: int,
    cert: Path,
    key: Path,
    logs: Path,
    pod_labels: Callable[[str, str], dict[str, Any] | None],
) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:PORT (HTTPS with `cert`), serving in a thread of its own; the controllers'
    logs are `logs`/<controller>.log; `pod_labels(namespace, name)` reads a pod's labels."""
    names = {c.name for c in CONTROLLERS}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            parts = path.strip("/").split("/")
            if len(parts) != 4 or parts[0] != "containerLogs":
                self.send_error(404, "only /containerLogs/NAMESPACE/POD/CONTAINER is served here")
                return
            try:
                labels = pod_labels(parts[1], parts[2])
            except (OSError, KubeApiError) as exc:
                self.send_error(503, f"reading pod {parts[1]}/{parts[2]}: {exc}")
                return
            controller = (labels or {}).get("app")
            if controller not in names:
                self.send_error(404, f"pod {parts[1]}/{parts[2]} runs no Flux controller: no logs here")
                return
            asked = urllib.parse.parse_qs(query)
            tail = int(asked["tailLines"][0]) if "tailLines" in asked else None
            since = int(asked["sinceSeconds"][0]) if "sinceSeconds" in asked else None
            log = logs / f"{controller}.log"
            lines = log.read_text(errors="replace").splitlines()[-KEPT_LINES:] if log.exists() else []
            body = "".join(f"{ln}\n" for ln in select_lines(lines, tail, since, datetime.now(UTC)))
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the supervisor's log is for the controllers' states

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, name="pod-logs", daemon=True).start()
    return server
