"""The migration step of a Flux upgrade, as `flux migrate` does it, run before the new CRDs are applied.

For each Flux CRD whose status.storedVersions holds a version other than the new release's storage
version:
1. bridge: the live CRD gets the new storage version (schema from the new release) as its storage
   version, every version it served staying served, so old clients keep working meanwhile;
2. rewrite: every object is read and written back unchanged, which the API server stores in the
   new storage version (`strategy: None`: the same object, fields the new schema lacks dropped);
3. clean: status.storedVersions becomes [new storage version], which lets the new CRDs drop the
   old versions.
Each CRD's state on the cluster says which of these are left, so a run stopped anywhere (a killed
`pulumi up`) is completed by the next one, and a finished migration does nothing again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from lightkube import ApiError, Client
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.types import PatchType

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import crd_specs, storage_version
from eoepca_gitops.kube import KUBE_ERRORS
from eoepca_gitops.upgrade.live import flux_resource, read_live_crds
from eoepca_gitops.upgrade.plan import LiveCrd

__all__ = ["migrate_storage"]

_SERVED_TIMEOUT = 60.0
_CONFLICT_RETRIES = 5


def _bridge_versions(live: LiveCrd, new_entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    name = new_entry["name"]
    kept = [{**v, "storage": False} for v in live.versions if v.get("name") != name]
    return [*kept, {**new_entry, "served": True, "storage": True}]


def _wait_served(client: Client, resource: Any) -> None:
    """A changed CRD is served a moment after the API server took it: wait for the new version."""
    deadline = time.monotonic() + _SERVED_TIMEOUT
    while True:
        try:
            for _ in client.list(resource, namespace="*"):
                break
            return
        except ApiError as exc:
            if exc.status.code != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def _rewrite(client: Client, resource: Any) -> int:
    count = 0
    for item in client.list(resource, namespace="*"):
        obj = item
        for attempt in range(_CONFLICT_RETRIES):
            try:
                client.replace(obj)
                break
            except ApiError as exc:
                if exc.status.code == 404:
                    break  # deleted meanwhile: nothing left to store
                if exc.status.code != 409 or attempt == _CONFLICT_RETRIES - 1:
                    raise
                # changed meanwhile (a controller wrote its status): write the current one
                meta = obj["metadata"]
                obj = client.get(resource, meta["name"], namespace=meta.get("namespace"))
        count += 1
    return count


def migrate_storage(client: Client, install: Iterable[Mapping[str, Any]]) -> list[str]:
    """Rewrites every Flux object stored in a version the install's CRDs do not store; one line per CRD."""
    new = crd_specs(install)
    done = []
    try:
        for live in read_live_crds(client):
            spec = new.get(live.name)
            if spec is None:
                continue
            entry = storage_version(spec)
            storage = str(entry["name"])
            if set(live.stored) <= {storage}:
                continue
            if live.storage != storage:
                client.patch(
                    CustomResourceDefinition,
                    live.name,
                    {"spec": {"versions": _bridge_versions(live, entry)}},
                    patch_type=PatchType.MERGE,
                )
            resource = flux_resource(live.group, storage, live.kind, live.plural)
            _wait_served(client, resource)
            count = _rewrite(client, resource)
            client.patch(
                CustomResourceDefinition.Status,
                live.name,
                {"status": {"storedVersions": [storage]}},
                patch_type=PatchType.MERGE,
            )
            was = ", ".join(live.stored)
            line = f"{live.kind}: {count} object(s) stored as {live.group}/{storage} (was {was})"
            done.append(line)
    except ApiError as exc:
        raise GitopsError(f"migrating Flux's stored API versions: {exc.status.message}") from None
    except KUBE_ERRORS as exc:
        raise GitopsError(f"migrating Flux's stored API versions: no answer: {exc}") from None
    return done
