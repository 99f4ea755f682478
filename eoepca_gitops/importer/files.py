"""The import's files: plain manifests one per file with the kustomization.yaml listing them, and
the folders Flux builds from remote resources, carried unchanged."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.files import files_under, read_bytes, read_text, walk
from eoepca_gitops.fluxtree.confine import check_build
from eoepca_gitops.manifests.render import file_name

__all__ = ["CARRIED", "HEADER", "Carried", "folder_files", "same_folder"]

HEADER = "# Imported by eoepca-gitops import.\n"
#: Where a block's folder keeps the folders Flux builds from remote resources, at their tree paths.
CARRIED = "remote"


@dataclass(frozen=True)
class Carried:
    """Folders of a tree Flux builds with remote resources at apply time, with every file of the tree
    their build reads, at their paths in the tree below CARRIED: relative paths between them hold."""

    roots: tuple[str, ...] = ()  # CARRIED/<folder>, as the block's kustomization lists them
    files: dict[str, str] = field(default_factory=dict)  # CARRIED/<path> -> text

    def with_folder(self, repo_root: Path, folder: str) -> Carried:
        root = repo_root.resolve()
        reads = check_build(root, root / folder, {}, folder)
        found = {p for path in reads.paths for p in (files_under(root, path) if path.is_dir() else [path])}
        files = {
            f"{CARRIED}/{Path(os.path.relpath(p, root)).as_posix()}": read_text(root, p)
            for p in found
            if p.is_file()
        }
        roots = tuple(sorted({*self.roots, posixpath.normpath(f"{CARRIED}/{Path(folder).as_posix()}")}))
        return Carried(roots, {**self.files, **files})


def folder_files(
    objects: list[dict[str, Any]], folder: str, extra: tuple[str, ...] = (), carried: Carried = Carried()
) -> dict[str, str]:
    """One file per object and the kustomization.yaml listing them (after `extra` resources and the
    carried folders), and the carried files."""
    files = {f"{folder}/{file_name(o).lower()}": HEADER + yaml_io.dump(o) for o in objects}
    resources = [*extra, *carried.roots, *sorted(f.rsplit("/", 1)[1] for f in files)]
    files |= {f"{folder}/{rel}": text for rel, text in carried.files.items()}
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
