"""A stack loaded for a command: offline, from the project's stack file, with what it builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eoepca_gitops.manifests.flux_install import build_flux_install
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.prepared import Prepared, prepare
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.project import open_stack

__all__ = ["load", "load_flux"]


def load(stack: str, project: Path) -> Prepared:
    """Stack `stack` of the project, loaded offline, and what it builds."""
    return prepare(open_stack(project, stack), project)


def load_flux(stack: str, project: Path) -> tuple[Stack, list[dict[str, Any]]]:
    """Stack `stack` and only the Flux install it builds (what `check` compares a cluster with),
    with the stack's patches; none when the stack has Flux undeployed."""
    loaded = open_stack(project, stack)
    flux = loaded.config.flux
    if not flux.enabled:
        return loaded, []
    release = load_install_manifest(flux, file=loaded.file_name, project=project)
    return loaded, build_flux_install(release, flux)
