"""The migration step of a Flux upgrade, as `flux migrate` does it, run before the new CRDs are applied.

For each Flux CRD whose status.storedVersions holds a version other than the new release's storage
version:
1. bridge: the live CRD gets the new storage version (schema from the new release) as its storage
   version, every version it served staying served, so old clients keep working meanwhile;
2. rewrite: every object is read and written back unchanged, which the API server stores in the
   new storage version (`strategy: None`: the same object, fields the new schema lacks dropped),
   its managedFields entries recorded in the new version too;
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
from eoepca_gitops.kube.client import FIELD_MANAGER, KUBE_ERRORS
from eoepca_gitops.kube.resources import flux_resource
from eoepca_gitops.upgrade.live import BUSY, list_all, read_live_crds
from eoepca_gitops.upgrade.plan import LiveCrd

__all__ = ["migrate_storage"]

_RETRIES = 20


def _bridge_versions(live: LiveCrd, new_entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The live CRD's versions, still served, plus the new release's storage version, now stored."""
    name = new_entry["name"]
    kept = [{**v, "storage": False} for v in live.versions if v.get("name") != name]
    return [*kept, {**new_entry, "served": True, "storage": True}]


def _in_version(obj: Any, api_version: str) -> Any:
    """The object with its managedFields entries recorded in `api_version`.

    The API server converts an object to the version of each entry whenever it is applied; once the
    new CRDs drop a version, an entry still naming it fails every server-side apply ("request to
    convert CR to an invalid group/version"). With `strategy: None` the field sets are the same in
    every version: only the version they are recorded in changes.
    """
    group = api_version.rpartition("/")[0] + "/"
    for entry in obj["metadata"].get("managedFields") or []:
        if str(entry.get("apiVersion", "")).startswith(group):
            entry["apiVersion"] = api_version
    return obj


def _disown(client: Client, obj: Any) -> None:
    """Drops this step's managedFields entry from a rewritten object.

    Writing an object back can change fields the new schema defaults or prunes, and the API server
    then records this step as their manager: the stack's apply would have to take them back from it
    (and drift reports name it). The rewrite only moves the object: it keeps no field.
    """
    entries = obj["metadata"].get("managedFields") or []
    kept = [e for e in entries if e.get("manager") != FIELD_MANAGER]
    if len(kept) != len(entries):
        obj["metadata"]["managedFields"] = kept or [{}]  # [{}] clears the list; [] would keep it
        client.replace(obj)


def _rewrite(client: Client, resource: Any, api_version: str) -> int:
    """Writes every object back as read; the API server stores it in the CRD's storage version."""
    count = 0
    for item in list_all(client, resource, namespace="*"):
        obj = item
        for attempt in range(_RETRIES):
            try:
                written = client.replace(_in_version(obj, api_version))
                _disown(client, written)
                break
            except ApiError as exc:
                code = exc.status.code
                if code == 404:
                    break  # deleted meanwhile: nothing left to store
                if code not in (409, *BUSY) or attempt == _RETRIES - 1:
                    raise
                time.sleep(0.2)
                if code == 409:  # changed meanwhile (a controller wrote its status): write the current one
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
            # A changed CRD is served a moment after the API server took it (404 until then).
            list_all(client, resource, (404, *BUSY), namespace="*")
            count = _rewrite(client, resource, f"{live.group}/{storage}")
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
