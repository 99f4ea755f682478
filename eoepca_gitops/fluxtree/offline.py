"""What can be known offline of a Flux Kustomization's build whose folders name remote resources.

Flux builds such a folder at apply time. Offline, each folder only Flux can build (Reads.opaque)
stands in for itself: kustomize builds a scratch copy of what the Kustomization reads, where each
such folder is an empty kustomization, and one stand-in object per folder (remote.standin: its
kustomization file, the URLs it fetches) follows the objects. With a Fetcher (fetch.py, `import
--fetch-remote`), each remote entry is replaced in the copy by what was fetched for it, so the
folder builds as Flux builds it; its objects are marked with the folder (remote.FETCHED_ANNOTATION:
a commonAnnotation of its copy) and its stand-in still follows, as the project carries the folder.
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
from eoepca_gitops.fluxtree.fetch import Fetcher
from eoepca_gitops.fluxtree.kustomize import kustomize
from eoepca_gitops.fluxtree.remote import FETCHED_ANNOTATION, RemoteUse, standin

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


def _copy(root: Path, reads: Reads, opaque: frozenset[Path], scratch: Path, fetcher: Fetcher | None) -> None:
    """What the build reads, at the same paths below `scratch`; each opaque folder empty, or, with
    a fetcher, built from what it fetches (`_fetched`)."""
    files: set[Path] = set()
    for path in reads.paths:
        if path.is_dir():
            files.update(files_under(root, path))
        elif path.is_file():
            files.add(path)
    for path in sorted(files):
        if fetcher is not None or not any(o in path.parents for o in opaque):
            write_file(scratch, os.path.relpath(path, root), read_text(root, path), replace=True)
    if fetcher is not None:
        _fetched(root, reads, opaque, scratch, fetcher)
        return
    for folder in opaque:
        write_file(scratch, f"{os.path.relpath(folder, root)}/kustomization.yaml", _EMPTY, replace=True)


def _replaced(doc: Any, key: str, entry: str, new: str) -> None:
    """`entry` replaced by `new` in the value at `key` (resources[1], patches[0].path, ...)."""
    parts = [p for p in key.replace("]", "").replace("[", ".").split(".") if p]
    *inner, last = [int(p) if p.isdigit() else p for p in parts]
    for part in inner:
        doc = doc[part]
    doc[last] = str(doc[last]).replace(entry, new)


def _fetched(root: Path, reads: Reads, opaque: frozenset[Path], scratch: Path, fetcher: Fetcher) -> None:
    """Each kustomization file naming a remote entry, in the copy, with what was fetched for it,
    and each opaque folder's objects marked with the folder (FETCHED_ANNOTATION)."""
    docs: dict[str, dict[str, Any]] = {}
    by_file: dict[str, list[RemoteUse]] = {}
    for use in reads.remote:
        by_file.setdefault(use.file, []).append(use)
    for folder in opaque:
        kfile = kustomization_file(folder)
        if kfile is not None:
            by_file.setdefault(os.path.relpath(kfile, root), [])
    for rel, uses in sorted(by_file.items()):
        if not (root / rel).is_file():
            continue  # a Flux Kustomization's spec.components entry: not in a file
        doc = yaml_io.load(read_text(root, rel))
        here = scratch / os.path.dirname(rel)
        for n, use in enumerate(uses):
            got = fetcher.fetch(use)
            new = os.path.relpath(got, here)
            if got.is_file():  # below the kustomization's own folder, where kustomize may load it
                new = f".fetched-{n}.yaml"
                write_file(here, new, read_text(got.parent, got), replace=True)
            _replaced(doc, use.key, use.remote.entry, new)
        docs[rel] = doc
    for folder in opaque:
        kfile = kustomization_file(folder)
        if kfile is not None:
            doc = docs[os.path.relpath(kfile, root)]
            marked = {
                **(doc.get("commonAnnotations") or {}),
                FETCHED_ANNOTATION: os.path.relpath(folder, root),
            }
            doc["commonAnnotations"] = marked
    for rel, doc in docs.items():
        write_file(scratch, rel, yaml_io.dump(doc), replace=True)


def build_offline(
    repo_root: Path,
    folder: Path,
    spec: Mapping[str, Any],
    reads: Reads,
    exclude: frozenset[Path] = frozenset(),
    fetcher: Fetcher | None = None,
) -> str:
    """kustomize's build of `folder` for a Flux Kustomization (its `spec`) as far as it is known
    offline (or with what `fetcher` fetches), followed by a stand-in for each folder only Flux can
    build (see the module doc)."""
    root = repo_root.resolve()
    opaque = reads.opaque(root)
    if not opaque:
        return kustomize(folder, spec, exclude)
    real = folder.resolve()
    with tempfile.TemporaryDirectory(prefix="fluxtree-offline-") as tmp:
        scratch = Path(tmp)
        _copy(root, reads, opaque, scratch, fetcher)
        moved = frozenset(scratch / os.path.relpath(p, root) for p in exclude)
        built = kustomize(scratch / os.path.relpath(real, root), spec, moved)
    extra = "".join("---\n" + yaml_io.dump(s) for s in standins(root, reads))
    return built + extra if built.endswith("\n") or not built else built + "\n" + extra
