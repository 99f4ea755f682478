"""What a Flux tree may make kustomize and the importer read: files of its repository, nothing else.

The rule is eoepca_gitops.files.inside applied to everything a tree names: a Kustomization's
spec.path and spec.components; every path a kustomization file names (resources, bases,
components, generators' files and env files, patches, crds, configurations, replacements,
transformers, ...), in every kustomization file those lead to; the files of a folder Flux
generates a kustomization for, and of a component's folder (the importer copies it whole; it
reads every other file of a tree with files.read_text and files.files_under). Each must resolve,
symlinks followed, to the repository root or below it; a remote resource (a URL, a Git
repository) is refused before kustomize runs, as nothing is fetched. Each refusal is one
PathError naming the file, the key and the path, raised before kustomize runs or anything is
written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import PathError
from eoepca_gitops.files import OutsideError, files_under, inside, inside_found, read_text
from eoepca_gitops.fluxtree.kustomize import KUSTOMIZATION_FILES, generated_resources

__all__ = ["check_build", "kustomization_folder"]

# Fields of a kustomization file holding a path, or a list of paths.
_PATHS = ("resources", "bases", "components", "crds", "configurations", "patchesStrategicMerge")
# Fields of a kustomization file whose entries may be a path or an inline YAML document.
_PATH_OR_INLINE = ("generators", "transformers", "validators")
# Fields whose entries are mappings with a `path`.
_ENTRIES_WITH_PATH = ("patches", "patchesJson6902", "replacements")
_GENERATORS = ("configMapGenerator", "secretGenerator")
# kustomize fetches what it cannot find locally and reads as a URL: `https://...`, `git::...`,
# `git@host:...`, `github.com/org/repo//path?ref=v1`.
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^git@|\?ref=|//|^[^./][^/]*\.[^/]*/")


def _local(repo_root: Path, base: Path, entry: str, where: str, key: str) -> Path:
    """The real path of `entry` (relative to `base`), which must stay in the repository."""
    try:
        return inside(repo_root, base / entry)
    except OutsideError:
        raise PathError(f"{where}: {key}: {entry} leads outside the repository {repo_root}") from None
    except PathError as exc:  # a symlink loop, a NUL character
        raise PathError(f"{where}: {key}: {exc}") from None


def _list(doc: Mapping[str, Any], field: str) -> list[Any]:
    value = doc.get(field)
    return value if isinstance(value, list) else []


def kustomization_folder(repo_root: Path, path: str, name: str, applied_from: str) -> Path:
    """The folder a Flux Kustomization's spec.path names, inside the repository."""
    where = f"Kustomization {name} (applied from {applied_from})"
    return _local(repo_root, repo_root, path, where, "spec.path")


def _kustomization_file(folder: Path) -> Path | None:
    return next((folder / n for n in KUSTOMIZATION_FILES if (folder / n).is_file()), None)


def _paths(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(key, path, may be remote) for every path a kustomization file names."""
    for field in _PATHS:
        for i, entry in enumerate(_list(doc, field)):
            if isinstance(entry, str) and "\n" not in entry:  # else an inline patch
                yield f"{field}[{i}]", entry, field in ("resources", "bases", "components")
    for field in _PATH_OR_INLINE:
        for i, entry in enumerate(_list(doc, field)):
            if isinstance(entry, str) and "\n" not in entry:
                yield f"{field}[{i}]", entry, True
    for field in _ENTRIES_WITH_PATH:
        for i, entry in enumerate(_list(doc, field)):
            if isinstance(entry, Mapping) and isinstance(entry.get("path"), str):
                yield f"{field}[{i}].path", entry["path"], False
    for field in _GENERATORS:
        for i, gen in enumerate(_list(doc, field)):
            if not isinstance(gen, Mapping):
                continue
            for j, source in enumerate(_list(gen, "files")):
                if isinstance(source, str):  # `key=path` or `path`
                    yield f"{field}[{i}].files[{j}]", source.split("=", 1)[-1], False
            for j, env in enumerate(_list(gen, "envs")):
                if isinstance(env, str):
                    yield f"{field}[{i}].envs[{j}]", env, False
            if isinstance(gen.get("env"), str):
                yield f"{field}[{i}].env", gen["env"], False
    openapi = doc.get("openapi")
    if isinstance(openapi, Mapping) and isinstance(openapi.get("path"), str):
        yield "openapi.path", openapi["path"], False


def _check_entry(
    repo_root: Path, base: Path, entry: str, where: str, key: str, remote: bool, seen: set[Path]
) -> None:
    if remote and _REMOTE.search(entry) and not (base / entry).exists():
        raise PathError(
            f"{where}: {key}: {entry} is a remote resource; import and render fetch nothing "
            "(copy it into the repository)"
        )
    real = _local(repo_root, base, entry, where, key)
    if real.is_dir():
        _check_folder(repo_root, real, seen)
    elif real.exists() and not real.is_file():  # kustomize would wait on a FIFO or read a device forever
        raise PathError(f"{where}: {key}: {entry} is not a regular file")
    else:
        seen.add(real)


def _check_folder(repo_root: Path, folder: Path, seen: set[Path]) -> None:
    """Everything kustomize may read building `folder` (its kustomization file, or the one Flux
    generates), and the folders that leads to."""
    if folder in seen:
        return
    seen.add(folder)
    kfile = _kustomization_file(folder)
    if kfile is None:
        for path in generated_resources(folder):
            if (real := inside_found(repo_root, path)).is_dir():
                _check_folder(repo_root, real, seen)
        return
    inside_found(repo_root, kfile)
    where = os.path.relpath(kfile, repo_root)
    try:
        doc = yaml_io.load(read_text(repo_root, kfile))
    except yaml.YAMLError:
        return  # kustomize refuses it too, reading nothing it names
    if not isinstance(doc, Mapping):
        return
    for key, entry, remote in _paths(doc):
        _check_entry(repo_root, folder, entry, where, key, remote, seen)


def check_build(repo_root: Path, folder: Path, spec: Mapping[str, Any], name: str) -> frozenset[Path]:
    """Refuses (PathError) what building `folder` for the Flux Kustomization `name` (its `spec`)
    would read outside the repository or from the network. Returns what kustomize may read: real
    paths of folders (any file below them: a generated kustomization takes what it finds) and of
    the files a kustomization file names outside them."""
    seen: set[Path] = set()
    for i, component in enumerate(_list(spec, "components")):
        key = f"spec.components[{i}]"
        _check_entry(repo_root, folder, str(component), f"Kustomization {name}", key, True, seen)
        if (folder / str(component)).is_dir():  # the importer copies a component's folder whole
            files_under(repo_root, folder / str(component))
    _check_folder(repo_root, folder.resolve(), seen)
    return frozenset(seen)
