"""What a Flux tree may make kustomize and the importer read: files of its repository, nothing else.

The rule is eoepca_gitops.files.inside applied to everything a tree names: a Kustomization's
spec.path and spec.components; every path a kustomization file names (resources, bases,
components, generators' files and env files, patches, crds, configurations, replacements,
transformers, ...), in every kustomization file those lead to; the files of a folder Flux
generates a kustomization for, and of a component's folder (the importer copies it whole; it
reads every other file of a tree with files.read_text and files.files_under). Each must resolve,
symlinks followed, to the repository root or below it. Each refusal is one PathError naming
the file, the key and the path, raised before kustomize runs or anything is written.

A remote resource (eoepca_gitops.fluxtree.remote: a URL, a Git repository) is not read: it is
listed with the folder whose kustomization names it, and `opaque` finds the folders Flux alone can
build (that folder, or the one above it whose kustomization changes what it lists).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import PathError
from eoepca_gitops.files import OutsideError, files_under, inside, inside_found, read_text
from eoepca_gitops.fluxtree.kustomize import KUSTOMIZATION_FILES, generated_resources
from eoepca_gitops.fluxtree.remote import RemoteUse, classify

__all__ = ["Reads", "check_build", "kustomization_file", "kustomization_folder"]

# Fields of a kustomization file holding a path, or a list of paths.
_PATHS = ("resources", "bases", "components", "crds", "configurations", "patchesStrategicMerge")
# Fields of a kustomization file whose entries may be a path or an inline YAML document.
_PATH_OR_INLINE = ("generators", "transformers", "validators")
# Fields whose entries are mappings with a `path`.
_ENTRIES_WITH_PATH = ("patches", "patchesJson6902", "replacements")
_GENERATORS = ("configMapGenerator", "secretGenerator")
# Fields of a kustomization file that only list what it builds on: a folder listed by one keeps its
# objects as it builds them.
_LISTING = {"apiVersion", "kind", "metadata", "resources", "bases"}


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


def kustomization_file(folder: Path) -> Path | None:
    return next((folder / n for n in KUSTOMIZATION_FILES if (folder / n).is_file()), None)


def _paths(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(key, path, whether it may name a folder) for every path a kustomization file names."""
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


@dataclasses.dataclass
class Reads:
    """What building a folder reads: real paths of folders (any file below them: a generated
    kustomization takes what it finds) and of the files a kustomization file names outside them;
    the remote resources it names, and how its folders lead to one another."""

    paths: set[Path] = dataclasses.field(default_factory=set)
    remote: list[RemoteUse] = dataclasses.field(default_factory=list)
    # folder -> the folders whose kustomization lists it (resources, bases, components)
    parents: dict[Path, set[Path]] = dataclasses.field(default_factory=dict)
    # folders whose kustomization only lists what it builds on (or that Flux generates one for)
    listing: set[Path] = dataclasses.field(default_factory=set)

    def opaque(self, repo_root: Path) -> frozenset[Path]:
        """The folders Flux alone can build: each one whose kustomization names a remote resource,
        or, where a kustomization above it changes what it lists (namespace, patches, ...), the
        highest such one, as kustomize applies those changes to objects it cannot know offline."""
        found: set[Path] = set()
        todo = [repo_root.resolve() / u.folder for u in self.remote]
        while todo:
            folder = todo.pop()
            changing = sorted(p for p in self.parents.get(folder, ()) if p not in self.listing)
            if not changing:
                found.add(folder)
            todo += [p for p in changing if p not in found]
        # a folder below another opaque one is built with it
        return frozenset(f for f in found if not any(o in f.parents for o in found))


# A URL longer than this is refused by common HTTP servers (nginx, Apache: an 8 KiB request line);
# one that long in a kustomization is a mistake or an attack, not a base Flux could fetch.
_MAX_URL = 8192


def _line(text: str, entry: str) -> int:
    return next((n for n, line in enumerate(text.splitlines(), 1) if entry in line), 0)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system: no local file, as kustomize finds
        return False


@dataclasses.dataclass
class _Reader:
    repo_root: Path
    reads: Reads = dataclasses.field(default_factory=Reads)

    def entry(
        self, base: Path, entry: str, where: str, key: str, folder_field: bool, parent: Path | None, text: str
    ) -> None:
        remote = classify(entry, folder_field)
        if remote is not None and not _is_file(base / entry):  # kustomize reads a local file first
            line = _line(text, entry)
            if len(entry) > _MAX_URL:
                at = f"{where}:{line}" if line else where
                raise PathError(
                    f"{at}: {key}: a remote resource of {len(entry)} characters (more than {_MAX_URL}, "
                    f"which no server takes): {entry[:60]}..."
                )
            folder = os.path.relpath(base, self.repo_root)
            self.reads.remote.append(RemoteUse(folder, where, line, key, remote))
            return
        real = _local(self.repo_root, base, entry, where, key)
        if real.is_dir():
            if parent is not None and folder_field:
                self.reads.parents.setdefault(real, set()).add(parent)
            self.folder(real)
        elif real.exists() and not real.is_file():  # kustomize would wait on a FIFO or read a device forever
            raise PathError(f"{where}: {key}: {entry} is not a regular file")
        else:
            self.reads.paths.add(real)

    def folder(self, folder: Path) -> None:
        """Everything kustomize may read building `folder` (its kustomization file, or the one Flux
        generates), and the folders that leads to."""
        if folder in self.reads.paths:
            return
        self.reads.paths.add(folder)
        kfile = kustomization_file(folder)
        if kfile is None:
            self.reads.listing.add(folder)
            for path in generated_resources(folder):
                if (real := inside_found(self.repo_root, path)).is_dir():
                    self.reads.parents.setdefault(real, set()).add(folder)
                    self.folder(real)
            return
        inside_found(self.repo_root, kfile)
        where = os.path.relpath(kfile, self.repo_root)
        text = read_text(self.repo_root, kfile)
        try:
            doc = yaml_io.load(text)
        except yaml.YAMLError:
            return  # kustomize refuses it too, reading nothing it names
        if not isinstance(doc, Mapping):
            return
        if set(doc) <= _LISTING:
            self.reads.listing.add(folder)
        for key, entry, folder_field in _paths(doc):
            self.entry(folder, entry, where, key, folder_field, folder, text)


def check_build(repo_root: Path, folder: Path, spec: Mapping[str, Any], name: str) -> Reads:
    """Refuses (PathError) what building `folder` for the Flux Kustomization `name` (its `spec`)
    would read outside the repository. Returns what kustomize may read there (Reads)."""
    reader = _Reader(repo_root.resolve())
    for i, component in enumerate(_list(spec, "components")):
        key = f"spec.components[{i}]"
        reader.entry(folder.resolve(), str(component), f"Kustomization {name}", key, True, None, "")
        if (folder / str(component)).is_dir():  # the importer copies a component's folder whole
            files_under(repo_root, folder / str(component))
    reader.folder(folder.resolve())
    return reader.reads
