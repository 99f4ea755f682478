"""A local HTTP server for `import --fetch-remote` tests: files, a redirect, a redirect to a file:
URL, a 404, a server that stalls or drips its body past any time cap, a body past a size cap.
Never the internet."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "fetched", "namespace": "infra"},
    "spec": {
        "selector": {"matchLabels": {"app": "fetched"}},
        "template": {
            "metadata": {"labels": {"app": "fetched"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
        },
    },
}
BIG = 4096  # bytes of /big.yaml


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    """http://127.0.0.1:PORT of `server`, served in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def http_server() -> Iterator[str]:
    """http://127.0.0.1:PORT serving the paths below until the block ends (a stalled answer ends then)."""
    stop = threading.Event()
    body = yaml.safe_dump(DEPLOYMENT).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, code: int, data: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for k, v in {"Content-Length": str(len(data)), **(headers or {})}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/deploy.yaml":
                self._send(200, body)
            elif self.path == "/moved.yaml":
                self._send(302, b"", {"Location": "/deploy.yaml"})
            elif self.path == "/to-file.yaml":
                self._send(302, b"", {"Location": "file:///etc/passwd"})
            elif self.path == "/big.yaml":
                self._send(200, b"# " + b"x" * BIG + b"\n")
            elif self.path == "/stalls.yaml":
                stop.wait(30)  # answers nothing until the test is over
            elif self.path == "/drips.yaml":  # a byte at a time, until the test is over
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                while not stop.wait(0.05):
                    self.wfile.write(b"#")
                    self.wfile.flush()
            else:
                self._send(404, b"not here\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    try:
        with serving(server) as url:
            yield url
    finally:
        stop.set()
