"""Reads what a cluster holds of Flux, for the upgrade plan: Flux's CRDs (served and stored versions),
every Flux object, who applies it, and the Helm releases. Reads only."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import httpx2
from lightkube import ApiError, Client
from lightkube.generic_resource import GenericGlobalResource, create_api_info
from lightkube.resources.core_v1 import Secret

from eoepca_gitops.errors import GitopsError, NoKubeconfigError
from eoepca_gitops.flux_apis import crd_specs, is_flux_group, storage_version
from eoepca_gitops.kube.client import KUBE_ERRORS, kube_client
from eoepca_gitops.kube.resources import flux_resource
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.upgrade.plan import LiveCrd, LiveFlux, LiveObject, LiveRelease

__all__ = [
    "BUSY",
    "FLUX_APPLIER",
    "list_all",
    "read_live",
    "read_live_crds",
    "read_stack_cluster",
]

#: The field manager kustomize-controller applies the objects of Git with (server-side apply).
FLUX_APPLIER = "kustomize-controller"
_KUSTOMIZATION_LABEL = "kustomize.toolkit.fluxcd.io/name"
# For a moment after a CRD changes, the API server answers its objects' lists with 429 or 503
# ("storage is (re)initializing"): asked again a little later, it answers.
BUSY = (429, 503)
_BUSY_FOR = 60.0


def list_all(client: Client, resource: Any, wait_for: tuple[int, ...] = BUSY, **kwargs: Any) -> list[Any]:
    """Every object of a kind (client.list), asked again for a while on the answers in `wait_for`."""
    deadline = time.monotonic() + _BUSY_FOR
    while True:
        try:
            return list(client.list(resource, **kwargs))
        except (ApiError, httpx2.HTTPStatusError) as exc:
            code = exc.status.code if isinstance(exc, ApiError) else exc.response.status_code
            if code not in wait_for or time.monotonic() > deadline:
                raise
        time.sleep(0.5)


class _CrdDicts(GenericGlobalResource):
    """CRDs read as plain dicts: lightkube's CustomResourceDefinition model would build its classes
    for every schema at the first read of a process (about 0.05 CPU-s of each preview and up), for
    the few fields read_live_crds keeps. Not registered: lightkube's own class stays the one of the
    kind."""

    _api_info = create_api_info(
        "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", ["list"]
    )


def _as_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return out


def read_live_crds(client: Client) -> list[LiveCrd]:
    """Flux's CRDs in the cluster."""
    found = []
    for item in list_all(client, _CrdDicts):
        crd = _as_dict(item)
        spec, status, meta = crd["spec"], crd.get("status") or {}, crd["metadata"]
        if not is_flux_group(str(spec.get("group", ""))):
            continue
        live = LiveCrd(
            name=meta["name"],
            group=spec["group"],
            kind=spec["names"]["kind"],
            plural=spec["names"]["plural"],
            versions=tuple(spec.get("versions") or ()),
            stored=tuple(status.get("storedVersions") or ()),
            conversion=str((spec.get("conversion") or {}).get("strategy", "None")),
            release=(meta.get("labels") or {}).get("app.kubernetes.io/version"),
        )
        found.append(live)
    return found


def _flux_applied(meta: Mapping[str, Any]) -> str | None:
    for entry in meta.get("managedFields") or []:
        if entry.get("manager") == FLUX_APPLIER and entry.get("operation") == "Apply":
            return str(entry.get("apiVersion"))
    return None


def _objects(client: Client, crd: LiveCrd) -> Iterator[LiveObject]:
    if not crd.storage:
        return
    for item in list_all(client, flux_resource(crd.group, crd.storage, crd.kind, crd.plural), namespace="*"):
        obj = _as_dict(item)
        meta = obj["metadata"]
        labels = meta.get("labels") or {}
        yield LiveObject(
            kind=crd.kind,
            namespace=meta.get("namespace") or "",
            name=meta["name"],
            api_version=obj["apiVersion"],
            spec=obj.get("spec") or {},
            flux_applied=_flux_applied(meta),
            kustomization=labels.get(_KUSTOMIZATION_LABEL, ""),
        )


def _releases(client: Client) -> list[LiveRelease]:
    latest: dict[tuple[str, str], LiveRelease] = {}
    for item in list_all(client, Secret, namespace="*", labels={"owner": "helm"}):
        meta = item.metadata
        labels = (meta.labels if meta else None) or {}
        if not meta or "name" not in labels or not labels.get("version", "").isdigit():
            continue
        release = LiveRelease(
            meta.namespace or "", labels["name"], int(labels["version"]), labels.get("status", "")
        )
        key = (release.namespace, release.name)
        if key not in latest or latest[key].revision < release.revision:
            latest[key] = release
    return sorted(latest.values(), key=lambda r: (r.namespace, r.name))


def _changing(crd: LiveCrd, new: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether installing `new` (crd_specs) changes what this CRD serves or stores."""
    spec = new.get(crd.name)
    if spec is None:
        return False
    versions = {v["name"] for v in spec.get("versions", []) if v.get("served")}
    served = {v["name"] for v in crd.versions if v.get("served", True)}
    return not served <= versions or not set(crd.stored) <= {storage_version(spec)["name"]}


def read_live(client: Client, install: Iterable[Mapping[str, Any]]) -> LiveFlux:
    """Everything the upgrade plan looks at for installing `install`; a cluster without Flux reads as
    empty. Flux's objects and the Helm releases are read only when the CRDs change what they serve
    or store: a stack staying on its release costs one list of CRDs."""
    try:
        crds = read_live_crds(client)
        new = crd_specs(install)
        if not any(_changing(crd, new) for crd in crds):
            return LiveFlux(tuple(crds))
        objects = tuple(o for crd in crds for o in _objects(client, crd))
        return LiveFlux(tuple(crds), objects, tuple(_releases(client)))
    except ApiError as exc:
        raise GitopsError(f"reading Flux's objects in the cluster: {exc.status.message}") from None
    except KUBE_ERRORS as exc:
        raise GitopsError(f"the cluster does not answer: {exc}") from None


def read_stack_cluster(
    stack: Stack, install: Iterable[Mapping[str, Any]], warn: Callable[[str], None]
) -> LiveFlux | None:
    """read_live on the stack's cluster (its kubeconfig and context, else $KUBECONFIG); None, said
    through `warn`, when there is no Kubernetes configuration to reach one."""
    config = stack.config
    try:
        client = kube_client(config.kubeconfig, config.kube_context)
    except NoKubeconfigError as exc:
        warn(f"the cluster was not read ({exc}): the upgrade gate checks Git only")
        return None
    with client:
        return read_live(client, install)
