"""Fakes for unit tests of the code that talks to a cluster, to Pulumi, or waits: no API server, no
engine, no real time.

- FakeKube: the lightkube Client calls the product makes (get, list with a label selector, patch,
  replace, close), over objects held as dicts by (kind, namespace, name), whatever version they are
  asked in, and lightkube models (`models`: Secrets, Deployments) returned as they are; every call
  recorded, and failures (an ApiError, an outage) queued per call.
- FakeAccess: eoepca_gitops.kube.cluster.ClusterAccess over such objects, for the operations
  and the poller: reads, patches and reconcile requests recorded, the controllers' answers given by a
  callback.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from lightkube import ApiError
from lightkube.models.meta_v1 import Status
from lightkube.types import PatchType

from eoepca_gitops.errors import GitopsError

__all__ = ["FakeAccess", "FakeClock", "FakeKube", "FakePulumi", "api_error", "merge"]

Key = tuple[str, str, str]  # kind, namespace, name


def api_error(code: int, message: str = "") -> ApiError:
    return ApiError(status=Status(code=code, message=message or f"HTTP {code}"))


def merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """An RFC 7386 merge patch: None deletes, mappings merge, anything else replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _has(labels: Mapping[str, str] | None, wanted: Mapping[str, str]) -> bool:
    """Whether an object's labels match a label selector given as a mapping (as lightkube's list)."""
    return all((labels or {}).get(k) == v for k, v in wanted.items())


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"])


class FakeKube:
    def __init__(self, *objects: Mapping[str, Any]) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.calls: list[tuple[Any, ...]] = []  # (method, kind, name or namespace[, body, patch type])
        #: (method, kind) -> what the next calls raise, in order
        self.failures: dict[tuple[str, str], list[BaseException]] = {}
        self.models: list[Any] = []  # lightkube models `list` returns as they are (Secrets)
        self.version = 0
        for obj in objects:
            self.put(obj)

    def put(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(dict(obj))
        self.version += 1
        stored.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        self.objects[_key(stored)] = stored
        return copy.deepcopy(stored)

    def fail(self, method: str, kind: str, *errors: BaseException) -> None:
        self.failures.setdefault((method, kind), []).extend(errors)

    def _call(self, method: str, resource: Any, name: str) -> tuple[str, str]:
        info = resource._api_info
        kind = info.resource.kind
        self.calls.append((method, kind + ("/" + info.action if info.action else ""), name))
        queued = self.failures.get((method, kind))
        if queued:
            raise queued.pop(0)
        group = info.resource.group
        return kind, f"{group}/{info.resource.version}" if group else info.resource.version

    def _as(self, obj: dict[str, Any], api_version: str) -> dict[str, Any]:
        return {**copy.deepcopy(obj), "apiVersion": api_version}

    def get(self, resource: Any, name: str, namespace: str | None = None) -> Any:
        kind, api_version = self._call("get", resource, name)
        for model in self.models:  # lightkube's own classes answer as models, not dicts
            meta = model.metadata
            if type(model).__name__ == kind and (meta.namespace or "", meta.name) == (namespace or "", name):
                return model
        found = self.objects.get((kind, namespace or "", name))
        if found is None:
            raise api_error(404, f'{kind} "{name}" not found')
        return self._as(found, api_version)

    def list(self, resource: Any, namespace: str | None = None, labels: Any = None) -> Iterator[Any]:
        kind, api_version = self._call("list", resource, namespace or "")
        wanted = dict(labels or {})
        for model in self.models:
            if type(model).__name__ == kind and _has(getattr(model.metadata, "labels", None), wanted):
                yield model
        for (k, ns, _), obj in sorted(self.objects.items()):
            if k == kind and namespace in (None, "*", ns) and _has(obj["metadata"].get("labels"), wanted):
                yield self._as(obj, api_version)

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        kind, namespace, name = _key(obj)
        self.calls.append(("replace", kind, name))
        queued = self.failures.get(("replace", kind))
        if queued:
            raise queued.pop(0)
        if (kind, namespace, name) not in self.objects:
            raise api_error(404, f'{kind} "{name}" not found')
        entries = (obj.get("metadata") or {}).get("managedFields")
        written = self.put(obj)
        if entries == [{}]:  # the API server's way to clear the list
            self.objects[_key(written)]["metadata"]["managedFields"] = []
            written["metadata"]["managedFields"] = []
        return written

    def patch(
        self,
        resource: Any,
        name: str,
        body: Any,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.STRATEGIC,
    ) -> dict[str, Any]:
        kind, api_version = self._call("patch", resource, name)
        self.calls[-1] = (*self.calls[-1], body, patch_type)
        key = (kind, namespace or "", name)
        if key not in self.objects:
            raise api_error(404, f'{kind} "{name}" not found')
        obj = copy.deepcopy(self.objects[key])
        if patch_type == PatchType.JSON:
            for op in body:
                path = [p for p in op["path"].split("/") if p]
                parent = obj
                for part in path[:-1]:
                    parent = parent[part]
                if op["op"] == "test" and parent.get(path[-1]) != op["value"]:
                    raise api_error(422, "the test operation failed")
                if op["op"] == "replace":
                    parent[path[-1]] = copy.deepcopy(op["value"])
        else:
            merge(obj, body)
        return self._as(self.put(obj), api_version)

    def __enter__(self) -> FakeKube:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append(("close", "", ""))


class FakeAccess:
    """ClusterAccess without a cluster: objects by (kind, namespace, name), whatever the version.

    `on_request(ref, token, obj)` plays the controller when a reconcile is requested: it may change
    the object (set status.lastHandledReconcileAt, Ready); by default nothing answers.
    """

    def __init__(self, *objects: Mapping[str, Any]) -> None:
        self.objects: dict[Key, dict[str, Any]] = {_key(o): copy.deepcopy(dict(o)) for o in objects}
        self.reads: list[tuple[str, str, str, str]] = []
        self.patches: list[tuple[str, str, str, str, Any]] = []
        self.requests: list[tuple[str, str, str, str]] = []
        self.on_request: Callable[[tuple[str, str, str, str], str, dict[str, Any]], None] = lambda *_: None
        self.down = False  # every call fails as an unreachable cluster does
        self.version = "v1.37.2"
        self.logs: dict[tuple[str, str], list[str]] = {}  # (namespace, pod) -> its log lines
        self.log_reads: list[tuple[str, str, str, int | None, int | None]] = []
        self.tokens = iter(f"2026-11-30T05:00:{n:02d}.000000Z" for n in range(60))

    def _check(self) -> None:
        if self.down:
            raise GitopsError("the cluster does not answer: connection refused")

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self._check()
        self.reads.append((api_version, kind, namespace, name))
        found = self.objects.get((kind, namespace, name))
        return None if found is None else {**copy.deepcopy(found), "apiVersion": api_version}

    def list(
        self, api_version: str, kind: str, namespace: str = "*", labels: Mapping[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        self._check()
        for (k, ns, _), obj in sorted(self.objects.items()):
            if k == kind and namespace in ("*", ns) and _has(obj["metadata"].get("labels"), labels or {}):
                yield {**copy.deepcopy(obj), "apiVersion": api_version}

    def server_version(self) -> str:
        self._check()
        return self.version

    def pod_log(
        self, namespace: str, pod: str, container: str, since: int | None = None, tail: int | None = None
    ) -> Sequence[str]:
        self._check()
        self.log_reads.append((namespace, pod, container, since, tail))
        lines = self.logs.get((namespace, pod), [])
        return lines[-tail:] if tail else list(lines)

    def merge_patch(
        self, api_version: str, kind: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> None:
        self._check()
        self.patches.append((api_version, kind, namespace, name, copy.deepcopy(dict(patch))))
        if (kind, namespace, name) not in self.objects:
            raise GitopsError(f'changing {kind} {namespace}/{name}: {kind} "{name}" not found')
        merge(self.objects[(kind, namespace, name)], patch)

    def json_patch(
        self, api_version: str, kind: str, namespace: str, name: str, ops: Sequence[Mapping[str, Any]]
    ) -> None:
        self._check()
        self.patches.append((api_version, kind, namespace, name, [dict(op) for op in ops]))

    def request_reconcile(self, api_version: str, kind: str, namespace: str, name: str) -> str:
        token = next(self.tokens)
        self.requests.append((api_version, kind, namespace, name))
        self.merge_patch(
            api_version,
            kind,
            namespace,
            name,
            {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}},
        )
        self.on_request((api_version, kind, namespace, name), token, self.objects[(kind, namespace, name)])
        return token


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []
        self._due: list[tuple[float, Callable[[], None]]] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        """Runs `action` once the clock has moved `seconds` on (in a sleep)."""
        self._due.append((self.now + seconds, action))

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        due = [a for at, a in self._due if at <= self.now]
        self._due = [(at, a) for at, a in self._due if at > self.now]
        for action in due:
            action()


class FakePulumi:
    """PulumiCli for one stack: `missing` says why pulumi cannot run (None: it can); `answers` maps a
    command's first words (`("stack", "history")`) to what its --json form prints, or an error."""

    def __init__(
        self, missing: str | None = None, answers: Mapping[tuple[str, ...], Any] | None = None
    ) -> None:
        self.missing = missing
        self.answers = dict(answers or {})
        self.runs: list[tuple[str, ...]] = []

    def __call__(self, stack: str, project: Any, env: Any = None) -> FakePulumi:
        """Stands in for the class: `monkeypatch.setattr(module, "PulumiCli", fake)`."""
        self.stack, self.env = stack, env
        return self

    def available(self) -> str | None:
        return self.missing

    def run(self, *args: str, timeout: float = 1800) -> str:
        if self.missing:
            raise GitopsError(self.missing)
        self.runs.append(args)
        return ""

    def json(self, *args: str, timeout: float = 1800) -> Any:
        self.runs.append((*args, "--json"))
        for words, answer in self.answers.items():
            if args[: len(words)] == words:
                if isinstance(answer, BaseException):
                    raise answer
                return copy.deepcopy(answer)
        return None
