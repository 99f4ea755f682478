"""FluxMigration: the step of a Flux upgrade that rewrites stored objects before the new CRDs land.

A Python dynamic resource (pulumi.dynamic), so the engine orders it: FluxSystem gives every Flux CRD
an annotation from this resource's output, which makes each CRD wait for it, and keeps the CRDs'
server-side preview from running while a migration is pending (the API server would refuse the new
CRDs until it is done). It changes when the Flux version or a storage version does; its create and
update run eoepca_gitops.upgrade.migrate, which reads the cluster again and does what is left, so a
`pulumi up` stopped halfway is finished by the next one. Deleting it leaves the cluster as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import read_file

__all__ = ["MIGRATED_ANNOTATION", "FluxMigration", "FluxMigrationArgs", "FluxMigrationProvider"]

#: On every Flux CRD: the Flux release whose storage versions its objects were migrated to.
MIGRATED_ANNOTATION = "gitops.eoepca.org/storage-migrated-for"
# What decides whether the step runs again; the rest (paths, the plan's text) only informs.
_DECIDING = ("toVersion", "storage")


@dataclass(frozen=True)
class FluxMigrationArgs:
    from_version: str | None
    to_version: str
    #: CRD name -> the storage version of the new release
    storage: Mapping[str, str]
    #: the install manifest of to_version (read again by the provider, which runs apart)
    manifest: Path
    #: eoepca_gitops.upgrade.plan.UpgradePlan.lines(): shown by preview as what will be done
    plan: Sequence[str]
    kubeconfig: str | None = None
    context: str | None = None


class FluxMigrationProvider(ResourceProvider):
    def _run(self, props: dict[str, Any]) -> dict[str, Any]:
        # Imported here: the provider's process (`python -m pulumi.dynamic`) is started for every
        # preview and up, where it only checks and diffs; the Kubernetes client and the stack model
        # (about 0.3 CPU-s of imports) are needed only when the migration runs.
        from eoepca_gitops.kube.client import kube_client
        from eoepca_gitops.manifests.flux_release import read_install_manifest, release_version
        from eoepca_gitops.upgrade.migrate import migrate_storage

        manifest = Path(props["manifest"])
        found = release_version(read_file(manifest)[:2048])
        if found and found != props["toVersion"]:
            raise GitopsError(f"{manifest} is Flux {found}, not {props['toVersion']}")
        with kube_client(props.get("kubeconfig"), props.get("context"), timeout=60.0) as client:
            done = migrate_storage(client, read_install_manifest(manifest))
        return {**props, "migrated": props["toVersion"], "done": done}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("flux-api-migration", self._run(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _DECIDING if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._run(news))


class FluxMigration(Resource):
    #: to_version, once the cluster stores every Flux object in its versions
    migrated: pulumi.Output[str]
    #: one line per CRD the last run migrated
    done: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: FluxMigrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            "fromVersion": args.from_version,
            "toVersion": args.to_version,
            "storage": dict(sorted(args.storage.items())),
            "plan": list(args.plan),
            "manifest": str(args.manifest),
            "kubeconfig": args.kubeconfig,
            "context": args.context,
            "migrated": None,
            "done": None,
        }
        super().__init__(FluxMigrationProvider(), name, props, opts)
