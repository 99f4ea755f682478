"""What Flux will apply from Git: kustomize build of each Kustomization path, then postBuild.

Built by eoepca_gitops.fluxtree (the one implementation of Flux's rules: generated kustomizations,
kubectl kustomize, envsubst), on the project's own checkout, which is what the GitRepository
points at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.fluxtree import SubstitutionError, build_dir, kubectl
from eoepca_gitops.manifests.api_gate import RemovedApi, check_api_removal
from eoepca_gitops.manifests.stack import StackManifests
from eoepca_gitops.model.stack import Stack

__all__ = ["build_flux_layer", "check_flux_upgrade", "kubectl"]


def build_flux_layer(manifests: StackManifests, project_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Kustomization name -> the objects Flux applies for it, variables substituted."""
    variables: dict[str, str] = {}
    for obj in manifests.source:
        if obj["kind"] == "ConfigMap":
            variables.update(obj["data"])
    layer: dict[str, list[dict[str, Any]]] = {}
    for objects in manifests.blocks.values():
        for k in (o for o in objects if o["kind"] == "Kustomization"):
            name, spec = k["metadata"]["name"], k["spec"]
            folder = (project_dir / spec["path"]).resolve()
            if not folder.is_dir():
                raise GitopsError(
                    f"Kustomization {name}: path {spec['path']} is not a folder in {project_dir}"
                )
            own = {**variables, **spec.get("postBuild", {}).get("substitute", {})}
            try:
                layer[name] = build_dir(folder, own if "postBuild" in spec else None, spec)
            except SubstitutionError as exc:
                raise GitopsError(f"Kustomization {name}: {exc}") from None
    return layer


def check_flux_upgrade(
    stack: Stack,
    install: Iterable[dict[str, Any]],
    manifests: StackManifests,
    project_dir: Path,
    file: str,
    warn: Callable[[str], None] | None = None,
) -> list[RemovedApi]:
    """The upgrade gate on this checkout's Git layer (eoepca_gitops.manifests.api_gate); raises ConfigError.

    A Git layer that does not build here (the stack may follow another repository) cannot be
    checked: that is said through `warn`, and the gate passes.
    """
    try:
        layer = build_flux_layer(manifests, project_dir)
    except GitopsError as exc:
        if warn:
            warn(f"upgrade gate not checked: the Git layer does not build in {project_dir}: {exc}")
        return []
    return check_api_removal(stack.config.flux, install, layer, file)
