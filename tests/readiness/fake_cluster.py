"""Fakes for the waits: a clock that moves only when slept on (and runs what is due then), and a
cluster of Flux objects read and nudged as ClusterAccess does, recording every call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoepca_gitops.errors import GitopsError

Key = tuple[str, str, str]  # kind, namespace, name


class FakeClock:
    """`time` as settle() uses it: monotonic() and sleep(), which advances the clock and runs the
    events scheduled with after() that are due by then."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._events: list[tuple[float, int, Callable[[], None]]] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float, /) -> None:
        self.slept.append(seconds)
        self.now += seconds
        due = sorted(e for e in self._events if e[0] <= self.now)
        self._events = [e for e in self._events if e[0] > self.now]
        for _, _, event in due:
            event()

    def after(self, seconds: float, event: Callable[[], None]) -> None:
        self._events.append((self.now + seconds, len(self._events), event))


def condition(
    kind: str, status: str, reason: str = "", message: str = "", generation: int = 2
) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def flux_object(
    kind: str,
    name: str = "app",
    namespace: str = "ns",
    *conditions: dict[str, Any],
    generation: int = 2,
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "x/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "generation": generation},
        "spec": spec or {},
        "status": {**(status or {}), "conditions": list(conditions)},
    }


class FakeCluster:
    """Objects by (kind, namespace, name); get() as ClusterAccess.get (None when absent, GitopsError
    for the keys in `unreadable`), request_reconcile() and merge_patch() recorded."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.reads: list[tuple[str, str, str, str]] = []
        self.requests: list[tuple[str, str, str, str]] = []
        self.patches: list[tuple[Key, dict[str, Any]]] = []
        self.unreadable: set[Key] = set()
        self.on_request: Callable[[Key, str], None] = lambda *_: None
        for obj in objects:
            self.put(obj)

    def put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[(obj["kind"], meta.get("namespace", ""), meta["name"])] = obj

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads.append((api_version, kind, namespace, name))
        if (kind, namespace, name) in self.unreadable:
            raise GitopsError("the cluster does not answer: connection refused")
        return self.objects.get((kind, namespace, name))

    def request_reconcile(self, api_version: str, kind: str, namespace: str, name: str) -> str:
        self.requests.append((api_version, kind, namespace, name))
        token = f"token-{len(self.requests)}"
        self.on_request((kind, namespace, name), token)
        return token

    def merge_patch(
        self, api_version: str, kind: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> None:
        self.patches.append(((kind, namespace, name), patch))
