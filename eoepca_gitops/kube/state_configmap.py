"""The poller's state document in a ConfigMap, where a pod's disk does not survive it."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from eoepca_gitops.kube.client import KUBE_ERRORS, EventLog

__all__ = ["ConfigMapBackend"]

STATE_KEY = "state.json"


class ConfigMapBackend:
    """The state document as `data["state.json"]` of one ConfigMap, written by server-side apply.

    A failed write (API server down) is logged and not raised: the state stays in memory and the
    next write sends the whole document again.
    """

    def __init__(self, client: Client, namespace: str, name: str, *, log: EventLog) -> None:
        self.client = client
        self.log = log
        self.namespace = namespace
        self.name = name
        self.pending = False
        self._last: Mapping[str, Any] | None = None

    def describe(self) -> str:
        return f"configmap {self.namespace}/{self.name}"

    def load(self) -> Any:
        try:
            cm = self.client.get(ConfigMap, self.name, namespace=self.namespace)
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise
        raw = (cm.data or {}).get(STATE_KEY)
        return json.loads(raw) if raw else None

    def flush(self) -> None:
        """Writes the last document again if its write failed (called before the poller exits)."""
        if self.pending and self._last is not None:
            self.save(self._last)

    def save(self, payload: Mapping[str, Any]) -> None:
        self._last = payload
        body = ConfigMap(
            metadata=ObjectMeta(
                name=self.name,
                namespace=self.namespace,
                labels={"app.kubernetes.io/part-of": "eoepca-gitops"},
            ),
            data={STATE_KEY: json.dumps(payload, indent=1, sort_keys=True)},
        )
        try:
            self.client.apply(body, force=True)
        except KUBE_ERRORS as exc:  # keep running, write again next time
            self.pending = True
            self.log("state-write-failed", logging.WARNING, target=self.describe(), error=str(exc)[:300])
            return
        if self.pending:
            self.pending = False
            self.log("state-write-recovered", target=self.describe())
