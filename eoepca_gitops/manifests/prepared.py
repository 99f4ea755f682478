"""A stack made ready to register, review or read: the Flux install manifest its `flux` settings
name, found and read, and every object the builders make of the stack with it.

The program, `diff`, `render`, `validate`, `status` and `new-cluster` all start from `prepare`, so
that what each shows is what the others build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoepca_gitops.manifests.flux_release import checked_install_manifest, manifest_path
from eoepca_gitops.manifests.stack import StackManifests, build_stack
from eoepca_gitops.model.stack import Stack

__all__ = ["Prepared", "prepare"]


@dataclass(frozen=True)
class Prepared:
    """A stack and what is built from it, before anything is registered or compared."""

    stack: Stack
    manifest: Path  # the Flux install manifest read
    install: tuple[dict[str, Any], ...]  # its objects (shared, never mutate: builders copy)
    manifests: StackManifests


def prepare(stack: Stack, project: Path) -> Prepared:
    """`stack` built with the install manifest of its Flux version; a local manifest path in the
    stack file is read relative to `project`."""
    manifest = manifest_path(stack.config.flux, file=stack.file_name, project=project)
    install = checked_install_manifest(manifest, stack.config.flux, file=stack.file_name)
    return Prepared(stack, manifest, install, build_stack(stack, install))
