"""What Flux says of a stack at a revision: each block's Kustomization and HelmReleases, read from
the stack's cluster, judged by poller.lastgood. The poller asks after an update that succeeded and
while the applied revision is not yet known good; the answer decides the last good revision."""

from __future__ import annotations

from pathlib import Path

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import api_versions
from eoepca_gitops.kube.client import KUBE_ERRORS
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.manifests.prepared import prepare
from eoepca_gitops.project import load_stack_file, stack_file_name

from .lastgood import FluxCheck, FluxObject, flux_check

__all__ = ["FluxReadiness"]

_JUDGED = ("Kustomization", "HelmRelease")


class FluxReadiness:
    def __init__(self, stack_name: str, project_dir: str = ".") -> None:
        self.stack_name = stack_name
        self.project_dir = project_dir

    def check(self, tree: Path, revision: str) -> FluxCheck:
        """Every Kustomization and HelmRelease of the stack (as the tree at `revision` declares
        them) Ready at `revision`; a check that is not ok, saying why, when the cluster cannot be read."""
        try:
            project = (tree / self.project_dir).resolve()
            stack = load_stack_file(project / stack_file_name(self.stack_name))
            prepared = prepare(stack, project)
            manifests, apis = prepared.manifests, api_versions(prepared.install)
            access = ClusterAccess.for_stack(stack)
            objects: list[FluxObject] = []
            for objs in manifests.blocks.values():
                for o in objs:
                    if o["kind"] in _JUDGED:
                        ns, name = str(o["metadata"].get("namespace") or ""), str(o["metadata"]["name"])
                        objects.append(
                            (o["kind"], ns, name, access.get(o["apiVersion"], o["kind"], ns, name))
                        )

            def lookup(kind: str, namespace: str, name: str) -> dict[str, object] | None:
                return access.get(apis[kind], kind, namespace, name) if kind in apis else None

            return flux_check(objects, revision, lookup)
        except (GitopsError, *KUBE_ERRORS) as exc:
            return FluxCheck(False, (f"cannot read what Flux says: {exc}",))
