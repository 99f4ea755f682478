"""The few Kubernetes API calls the dev cluster makes itself (readiness, the fake node, Flux's
Deployments) with its admin token, over urllib: they run while the cluster starts, before a kubeconfig
is of use to anyone."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, cast

from eoepca_gitops.errors import KubeApiError

__all__ = ["KubeApi"]


class KubeApi:
    def __init__(self, server: str, token: str, ca_file: Path) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.context = ssl.create_default_context(cafile=str(ca_file))

    def request(self, method: str, path: str, body: Any = None, timeout: float = 5.0) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=timeout) as resp:
                return int(resp.status), cast(bytes, resp.read())
        except urllib.error.HTTPError as err:
            return int(err.code), err.read()

    def get_json(self, path: str) -> dict[str, Any] | None:
        """The object at `path`, or None on 404."""
        status, raw = self.request("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise KubeApiError(status, raw.decode(errors="replace")[:500])
        return cast(dict[str, Any], json.loads(raw))

    def create(self, path: str, body: dict[str, Any]) -> bool:
        """POSTs `body`; False if it already exists."""
        status, raw = self.request("POST", path, body)
        if status == 409:
            return False
        if status not in (200, 201, 202):
            raise KubeApiError(status, raw.decode(errors="replace")[:500])
        return True

    def ready(self) -> bool:
        try:
            status, _ = self.request("GET", "/readyz", timeout=2.0)
        except (OSError, ssl.SSLError):
            return False
        return status == 200
