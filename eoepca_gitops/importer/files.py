"""The import's files: plain manifests one per file with the kustomization.yaml listing them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.files import read_bytes, walk
from eoepca_gitops.manifests.render import file_name

__all__ = ["HEADER", "folder_files", "same_folder"]

HEADER = "# Imported by eoepca-gitops import.\n"


def folder_files(objects: list[dict[str, Any]], folder: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """One file per object and the kustomization.yaml listing them (after `extra` resources)."""
    files = {f"{folder}/{file_name(o).lower()}": HEADER + yaml_io.dump(o) for o in objects}
    resources = [*extra, *sorted(f.rsplit("/", 1)[1] for f in files)]
    files[f"{folder}/kustomization.yaml"] = HEADER + yaml_io.dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
    )
    return files


def same_folder(a: Path, b: Path) -> bool:
    """Whether two folders hold the same files with the same content."""

    def files(folder: Path) -> dict[Path, bytes]:
        return {
            here.relative_to(folder) / name: read_bytes(here / name)
            for here, _, names in walk(folder)
            for name in names
            if (here / name).is_file()
        }

    return files(a) == files(b)
