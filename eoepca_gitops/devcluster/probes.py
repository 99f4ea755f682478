"""Health probes of the dev cluster's processes on loopback: etcd, the Git server and the chart
repository (plain HTTP), the control plane's self-signed health endpoints."""

from __future__ import annotations

import ssl
import urllib.request

__all__ = ["healthz", "http_ok"]


def http_ok(url: str) -> bool:
    """GET on a plain-HTTP endpoint on loopback (etcd, the Git server, the chart repository); True on 200."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as resp:
            return int(resp.status) == 200
    except OSError:
        return False


def healthz(url: str, timeout: float = 2.0) -> bool:
    """GET on a component's self-signed health endpoint on loopback; True on HTTP 200."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as resp:
            return int(resp.status) == 200
    except (OSError, ssl.SSLError):
        return False
