"""A cluster's objects as the operations and the poller read and nudge them: by API version, kind,
namespace and name, as dicts, through the Kubernetes API (lightkube)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from lightkube import ApiError, Client
from lightkube.types import PatchType

from eoepca_gitops.errors import GitopsError, NoKubeconfigError
from eoepca_gitops.kube.client import KUBE_ERRORS, kube_client
from eoepca_gitops.kube.resources import resource

__all__ = ["REQUESTED_AT", "ClusterAccess", "ObjectRef", "StackRef", "requested_token"]

#: The annotation `flux reconcile` sets: the controller reconciles now and reports the token back.
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"


class _ClusterRef(Protocol):
    @property
    def kubeconfig(self) -> str | None: ...
    @property
    def kube_context(self) -> str | None: ...


class StackRef(Protocol):
    """What the adapter reads of a stack (eoepca_gitops.model.stack.Stack, a floor above): its name
    and which cluster it is (a kubeconfig and/or context; neither: $KUBECONFIG or in-cluster)."""

    @property
    def name(self) -> str: ...
    @property
    def config(self) -> _ClusterRef: ...


#: An object by API version, kind, namespace ("" when cluster-scoped) and name.
ObjectRef = tuple[str, str, str, str]


def requested_token() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ClusterAccess:
    """Reads and small changes of a stack's objects; every failure to reach the cluster is a GitopsError."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @classmethod
    def for_stack(cls, stack: StackRef) -> ClusterAccess:
        try:
            return cls(kube_client(stack.config.kubeconfig, stack.config.kube_context))
        except NoKubeconfigError as exc:
            raise GitopsError(f"stack {stack.name}: {exc}") from None

    def __enter__(self) -> ClusterAccess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object as a dict, or None when it does not exist (or its kind is not served)."""
        try:
            obj = self.client.get(resource(api_version, kind), name, namespace=namespace or None)
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise GitopsError(f"reading {kind} {namespace}/{name}: {exc.status.message}") from None
        except KUBE_ERRORS as exc:
            raise GitopsError(f"the cluster does not answer: {exc}") from None
        out: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        return out

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str = "*",
        labels: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every object of `kind` (in `namespace`, "*": all; with these labels); none when its kind is
        not served."""
        try:
            found = self.client.list(
                resource(api_version, kind), namespace=namespace, labels=dict(labels) if labels else None
            )
            for obj in found:
                yield obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        except ApiError as exc:
            if exc.status.code != 404:
                raise GitopsError(f"listing {kind}: {exc.status.message}") from None
        except KUBE_ERRORS as exc:
            raise GitopsError(f"the cluster does not answer: {exc}") from None

    def objects(self, objects: Iterable[ObjectRef]) -> dict[ObjectRef, dict[str, Any]]:
        """Each of `objects` that exists, as a dict, read with one list per kind and namespace (not
        one request per object)."""
        groups: dict[tuple[str, str, str], set[str]] = {}
        for api_version, kind, namespace, name in objects:
            groups.setdefault((api_version, kind, namespace), set()).add(name)
        found: dict[ObjectRef, dict[str, Any]] = {}
        for (api_version, kind, namespace), names in groups.items():
            res = resource(api_version, kind)
            try:
                listed = list(
                    self.client.list(res, namespace=namespace) if namespace else self.client.list(res)
                )
            except ApiError as exc:
                raise GitopsError(f"listing {kind}: {exc.status.message}") from None
            except KUBE_ERRORS as exc:
                raise GitopsError(f"the cluster does not answer: {exc}") from None
            for item in listed:
                obj = item.to_dict() if hasattr(item, "to_dict") else dict(item)
                name = str((obj.get("metadata") or {}).get("name", ""))
                if name in names:
                    found[(api_version, kind, namespace, name)] = obj
        return found

    def server_version(self) -> str:
        """The API server's version (`gitVersion` of /version, as `kubectl version` shows it)."""
        # lightkube has no call for /version: its HTTP client holds the server's address and credentials.
        http = self.client._client._client
        try:
            answer = http.get("/version")
            answer.raise_for_status()
            return str(answer.json().get("gitVersion", ""))
        except (*KUBE_ERRORS, ValueError) as exc:
            raise GitopsError(f"the cluster does not answer: {exc}") from None

    def pod_log(
        self, namespace: str, pod: str, container: str, since: int | None = None, tail: int | None = None
    ) -> Sequence[str]:
        """A container's log lines (the last `tail`, those of the last `since` seconds), as `kubectl logs`."""
        try:
            lines = self.client.log(
                pod, namespace=namespace, container=container, since=since, tail_lines=tail, newlines=False
            )
            return list(lines)
        except ApiError as exc:
            raise GitopsError(f"logs of pod {namespace}/{pod}: {exc.status.message}") from None
        except KUBE_ERRORS as exc:
            raise GitopsError(f"the cluster does not answer: {exc}") from None

    def merge_patch(
        self, api_version: str, kind: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> None:
        self._patch(api_version, kind, namespace, name, dict(patch), PatchType.MERGE)

    def json_patch(
        self, api_version: str, kind: str, namespace: str, name: str, ops: Sequence[Mapping[str, Any]]
    ) -> None:
        """An RFC 6902 patch; with a `test` of resourceVersion it is refused if the object changed."""
        self._patch(api_version, kind, namespace, name, [dict(op) for op in ops], PatchType.JSON)

    def _patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        body: Any,
        patch_type: PatchType,
    ) -> None:
        try:
            self.client.patch(
                resource(api_version, kind), name, body, namespace=namespace or None, patch_type=patch_type
            )
        except ApiError as exc:
            raise GitopsError(f"changing {kind} {namespace}/{name}: {exc.status.message}") from None
        except KUBE_ERRORS as exc:
            raise GitopsError(f"the cluster does not answer: {exc}") from None

    def request_reconcile(self, api_version: str, kind: str, namespace: str, name: str) -> str:
        """Sets the requestedAt annotation, as `flux reconcile` does; returns the token to wait for."""
        token = requested_token()
        self.merge_patch(
            api_version, kind, namespace, name, {"metadata": {"annotations": {REQUESTED_AT: token}}}
        )
        return token
