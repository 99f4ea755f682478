"""What can be known offline of a Flux Kustomization's build whose folders name remote resources.

Flux builds such a folder at apply time. Offline, each folder only Flux can build (Reads.opaque)
stands in for itself: kustomize builds a scratch copy of what the Kustomization reads, where each
such folder is an empty kustomization, and one stand-in object per folder (remote.standin: its
kustomization file, the URLs it fetches) follows the objects. With `fetched` (fetch.py), a remote
entry is replaced in the copy by what was fetched for it, and the folder builds as Flux builds it.
A build that names nothing remote is kustomize's own, in place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.files import files_under, read_text, write_file
from eoepca_gitops.fluxtree.confine import Reads, kustomization_file
from eoepca_gitops.fluxtree.kustomize import kustomize
from eoepca_gitops.fluxtree.remote import standin

__all__ = ["build_offline", "standins"]

_EMPTY = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"


def standins(repo_root: Path, reads: Reads) -> list[dict[str, Any]]:
    """One stand-in object per folder only Flux can build, in folder order."""
    root = repo_root.resolve()
    out = []
    for folder in sorted(reads.opaque(root)):
        rel = os.path.relpath(folder, root)
        kfile = kustomization_file(folder)
        doc = yaml_io.load(read_text(root, kfile)) if kfile else {}
        uses = [u for u in reads.remote if u.folder == rel or Path(u.folder).is_relative_to(rel)]
        out.append(standin(rel, doc if isinstance(doc, Mapping) else {}, uses))
    return out


def _copy(root: Path, reads: Reads, opaque: frozenset[Path], scratch: Path) -> None:
    """What the build reads, at the same paths below `scratch`; each opaque folder empty."""
    files: set[Path] = set()
    for path in reads.paths:
        if path.is_dir():
            files.update(files_under(root, path))
        elif path.is_file():
            files.add(path)
    for path in sorted(files):
        if not any(o in path.parents for o in opaque):
            write_file(scratch, os.path.relpath(path, root), read_text(root, path), replace=True)
    for folder in opaque:
        write_file(scratch, f"{os.path.relpath(folder, root)}/kustomization.yaml", _EMPTY, replace=True)


def build_offline(
    repo_root: Path,
    folder: Path,
    spec: Mapping[str, Any],
    reads: Reads,
    exclude: frozenset[Path] = frozenset(),
) -> str:
    """kustomize's build of `folder` for a Flux Kustomization (its `spec`) as far as it is known
    offline, followed by a stand-in for each folder only Flux can build (see the module doc)."""
    root = repo_root.resolve()
    opaque = reads.opaque(root)
    if not opaque:
        return kustomize(folder, spec, exclude)
    real = folder.resolve()
    with tempfile.TemporaryDirectory(prefix="fluxtree-offline-") as tmp:
        scratch = Path(tmp)
        _copy(root, reads, opaque, scratch)
        moved = frozenset(scratch / os.path.relpath(p, root) for p in exclude)
        built = kustomize(scratch / os.path.relpath(real, root), spec, moved)
    extra = "".join("---\n" + yaml_io.dump(s) for s in standins(root, reads))
    return built + extra if built.endswith("\n") or not built else built + "\n" + extra
