"""Prometheus metrics on a private registry, and a tiny HTTP server: /healthz /readyz /metrics."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from . import webhook
from .conditions import Phase
from .state import StackState

__all__ = ["HealthServer", "Metrics", "http_server", "parse_listen"]

NS = "eoepca_gitops"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.applied_info = Gauge(
            f"{NS}_applied_revision_info",
            "Revision applied to the stack (value 1)",
            ["stack", "revision"],
            registry=r,
        )
        self.git_info = Gauge(
            f"{NS}_git_revision_info",
            "Head of the tracked branch (value 1)",
            ["stack", "revision"],
            registry=r,
        )
        self.last_success = Gauge(
            f"{NS}_last_success_timestamp_seconds", "End of the last successful update", ["stack"], registry=r
        )
        self.duration = Histogram(
            f"{NS}_operation_duration_seconds",
            "Duration of Pulumi operations",
            ["stack", "operation"],
            buckets=(1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.failures = Counter(f"{NS}_failures_total", "Failed operations", ["stack", "reason"], registry=r)
        self.drift = Gauge(
            f"{NS}_drift_detected", "1 when the last drift check found drift", ["stack"], registry=r
        )
        self.drift_found = Counter(
            f"{NS}_drift_total",
            "Drifted fields (or objects) found by drift checks, by object kind",
            ["stack", "kind"],
            registry=r,
        )
        self.drift_checks = Counter(
            f"{NS}_drift_checks_total", "Drift checks by result", ["stack", "result"], registry=r
        )
        self.state = Gauge(
            f"{NS}_stack_state", "1 for the stack's current state", ["stack", "state"], registry=r
        )
        self.source_errors = Counter(
            f"{NS}_source_errors_total", "Failed reads of the Git source", registry=r
        )
        self.rollbacks = Counter(
            f"{NS}_rollbacks_total",
            "Automatic roll-backs to the last good revision",
            ["stack"],
            registry=r,
        )
        self.held = Gauge(
            f"{NS}_stack_held", "1 while a roll-back holds the stack at a revision", ["stack"], registry=r
        )
        self._applied: dict[str, str] = {}
        self._git: dict[str, str] = {}

    def observe(self, s: StackState) -> None:
        """Sets the gauges from a stack's state (called after every state change)."""
        for attr, gauge, revision in (
            ("_applied", self.applied_info, s.applied_revision),
            ("_git", self.git_info, s.git_revision),
        ):
            seen: dict[str, str] = getattr(self, attr)
            old = seen.get(s.stack)
            if old != revision:
                if old is not None:
                    gauge.remove(s.stack, old)
                if revision is not None:
                    gauge.labels(s.stack, revision).set(1)
                    seen[s.stack] = revision
                else:
                    seen.pop(s.stack, None)
        if s.last_success_at is not None:
            self.last_success.labels(s.stack).set(s.last_success_at)
        self.drift.labels(s.stack).set(1 if s.drift else 0)
        self.held.labels(s.stack).set(1 if s.held_revision else 0)
        current = s.phase
        for p in Phase:
            self.state.labels(s.stack, str(p)).set(1 if p == current else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$"
)
_PORT = re.compile(r"[0-9]{1,5}")


def _host_ok(host: str, bracketed: bool) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return not bracketed and bool(_HOST_NAME.match(host))
    return bracketed or address.version == 4  # an IPv6 address is written in brackets


def parse_listen(value: str) -> tuple[str, int]:
    """HOST:PORT -> (host, port): an IPv4 address, an IPv6 one in brackets or a host name, and a
    port of 0-65535; ValueError saying so otherwise."""
    host, sep, port = value.rpartition(":")
    bracketed = len(host) > 1 and host[0] == "[" and host[-1] == "]"
    host = host[1:-1] if bracketed else host
    if not (sep and _PORT.fullmatch(port) and int(port) <= 65535 and _host_ok(host, bracketed)):
        raise ValueError(
            f"{value!r} is not HOST:PORT with a port of 0-65535 (e.g. 127.0.0.1:9464 or [::1]:9464)"
        )
    return host, int(port)


class _IPv6HTTPServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def http_server(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A threading HTTP server on (host, port), of the address family the host is written in."""
    server_class = _IPv6HTTPServer if ":" in host else ThreadingHTTPServer
    server = server_class((host, port), handler)
    server.daemon_threads = True
    return server


class HealthServer:
    """Serves /healthz (loop alive), /readyz (recovered and source read once), /metrics."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: Metrics,
        healthy: Callable[[], bool],
        ready: Callable[[], bool],
        hook: Callable[[bytes, Mapping[str, str]], tuple[int, str]] | None = None,
    ) -> None:
        """`hook`: answers POST /hooks/github (poller.webhook) with its body and lower-case headers."""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != webhook.PATH or hook is None:
                    self._send(404, b"not found\n")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 <= length <= webhook.MAX_BODY:
                    self._send(413, b"too large\n")
                    return
                body = self.rfile.read(length)
                code, text = hook(body, {k.lower(): v for k, v in self.headers.items()})
                self._send(code, f"{text}\n".encode())

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, outer.metrics.render(), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    ok = outer.healthy()
                    self._send(200 if ok else 503, b"ok\n" if ok else b"loop stuck\n")
                elif path == "/readyz":
                    ok = outer.ready()
                    self._send(200 if ok else 503, b"ok\n" if ok else b"not ready\n")
                else:
                    self._send(404, b"not found\n")

            def _send(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.metrics = metrics
        self.healthy = healthy
        self.ready = ready
        self.server = http_server(host, port, Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, name="health-http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
