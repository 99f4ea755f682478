"""The cluster of a stack, as the operations read and nudge it: Flux objects by API version, kind,
namespace and name, through the Kubernetes API (lightkube)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lightkube import ApiError, Client
from lightkube.core.exceptions import LoadResourceError
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_namespaced_resource
from lightkube.types import PatchType

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import PLURALS
from eoepca_gitops.kube import KUBE_ERRORS, kube_client
from eoepca_gitops.model.stack import Stack

__all__ = ["REQUESTED_AT", "ClusterAccess", "requested_token"]

#: The annotation `flux reconcile` sets: the controller reconciles now and reports the token back.
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
# lightkube's own classes for the Kubernetes kinds; a generic class per Flux kind and version,
# made once per process (lightkube's registry refuses a second class for the same kind).
_GENERIC: dict[tuple[str, str], Any] = {}


def _resource(api_version: str, kind: str) -> Any:
    key = (api_version, kind)
    if kind not in PLURALS:
        try:
            return resource_registry.load(api_version, kind)
        except LoadResourceError:
            raise GitopsError(f"no Kubernetes API known for {kind} ({api_version})") from None
    if key not in _GENERIC:
        group, _, version = api_version.rpartition("/")
        _GENERIC[key] = create_namespaced_resource(group, version, kind, PLURALS[kind])
    return _GENERIC[key]


def requested_token() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ClusterAccess:
    """Reads and small changes of a stack's objects; every failure to reach the cluster is a GitopsError."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @classmethod
    def for_stack(cls, stack: Stack) -> ClusterAccess:
        config = stack.config
        try:
            return cls(kube_client(config.kubeconfig, config.kube_context))
        except (*KUBE_ERRORS, ValueError) as exc:
            raise GitopsError(f"stack {stack.name}: no Kubernetes configuration: {exc}") from None

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object as a dict, or None when it does not exist (or its kind is not served)."""
        try:
            obj = self.client.get(_resource(api_version, kind), name, namespace=namespace or None)
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise GitopsError(f"reading {kind} {namespace}/{name}: {exc.status.message}") from None
        except KUBE_ERRORS as exc:
            raise GitopsError(f"the cluster does not answer: {exc}") from None
        out: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        return out

    def list(self, api_version: str, kind: str) -> Iterator[dict[str, Any]]:
        try:
            for obj in self.client.list(_resource(api_version, kind), namespace="*"):
                yield obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        except ApiError as exc:
            if exc.status.code != 404:
                raise GitopsError(f"listing {kind}: {exc.status.message}") from None
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
                _resource(api_version, kind), name, body, namespace=namespace or None, patch_type=patch_type
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
