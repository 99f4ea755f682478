"""The import's files: plain manifests one per file with the kustomization.yaml listing them."""

from __future__ import annotations

import filecmp
from pathlib import Path
from typing import Any

from eoepca_gitops import yaml_io
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

    def files(folder: Path) -> list[Path]:
        return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())

    return files(a) == files(b) and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files(a))
