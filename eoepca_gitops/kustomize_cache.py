"""kustomize builds of the Git layer kept by what they read, so that a folder is built once.

A Flux Kustomization's build is keyed by a hash of what kustomize may read for it: every file
below its path and below each folder its kustomization files lead to, and each file they name
elsewhere, as eoepca_gitops.fluxtree.confine resolves them (inside the repository, symlinks
followed; anything else is refused before kustomize runs), with their paths relative to the
repository; its build fields; the kubectl that builds it (a folder that names a remote resource
is built as far as it is known offline: eoepca_gitops.fluxtree.offline). The base and the head
of a review whose folder holds the same files share one build, and so do `diff`, `render` and the
program's Git-layer check, run after run.

Kept in <cache>/kustomize/ (~/.cache/eoepca-gitops, EOEPCA_CACHE_DIR moves it), each build one
file written under a temporary name and renamed into place: runs at once may build the same key,
never read half a file. A cache that cannot be written is not used. Within a process, a key being
built is built once; the others wait for it. Safe to delete at any time.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError, PathError
from eoepca_gitops.files import read_bytes, read_file, resolved, walk, write_file
from eoepca_gitops.fluxtree.confine import Reads, check_build
from eoepca_gitops.fluxtree.fetch import Fetcher
from eoepca_gitops.fluxtree.kustomize import BUILD_FIELDS, kubectl
from eoepca_gitops.fluxtree.offline import build_offline
from eoepca_gitops.manifests.flux_release import cache_root

__all__ = ["build_key", "cache_folder", "cached_kustomize_all"]

#: Bumped when what a key covers or what an entry holds changes.
_FORMAT = "2"

_lock = threading.Lock()
_building: dict[str, Future[str]] = {}


def cache_folder() -> Path:
    return cache_root() / "kustomize"


def _entries(root: Path, path: Path) -> Iterator[tuple[str, str]]:
    """(path relative to the repository, what it is) for `path` and, for a folder, everything below
    it: a file's sha256, a symlink's target (and, inside the repository, what it points to)."""
    if not path.is_dir():
        yield from _entry(root, path)
        return
    for here, dirnames, filenames in walk(path):  # a symlinked folder is not descended into
        for name in [*dirnames, *filenames]:
            yield from _entry(root, here / name)


def _entry(root: Path, path: Path) -> Iterator[tuple[str, str]]:
    rel = os.path.relpath(path, root)
    if path.is_symlink():
        yield rel, f"symlink {os.readlink(path)}"
    try:
        real = resolved(path)
        info = real.stat()
    except (OSError, PathError):
        yield rel, "missing"
        return
    if real != root and root not in real.parents:
        yield rel, "outside"  # never read: confine refuses it, or kustomize does not read it
    elif stat.S_ISREG(info.st_mode):
        yield rel, "file " + hashlib.sha256(read_bytes(real)).hexdigest()
    elif not stat.S_ISDIR(info.st_mode):
        yield rel, "special"


def build_key(repo_root: Path, folder: Path, spec: Mapping[str, Any], name: str) -> str:
    """The key of building `folder` for the Flux Kustomization `name` (its `spec`); PathError when
    that build would read outside `repo_root` (confine.check_build)."""
    return _key(repo_root, folder, spec, check_build(repo_root.resolve(), folder, spec, name))


def _key(repo_root: Path, folder: Path, spec: Mapping[str, Any], reads: Reads) -> str:
    root = repo_root.resolve()
    folders = {p for p in reads.paths if p.is_dir()}
    # a folder below another is hashed with it
    top = sorted(p for p in reads.paths if not any(f in p.parents for f in folders))
    tool = Path(kubectl())
    info = tool.stat()
    digest = hashlib.sha256()
    header = {
        "format": _FORMAT,
        "kubectl": [str(tool), info.st_size, info.st_mtime_ns],
        "folder": os.path.relpath(folder.resolve(), root),
        "build": {f: spec[f] for f in BUILD_FIELDS if spec.get(f)},
    }
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for path in top:
        for rel, what in _entries(root, path):
            digest.update(f"\0{rel}\0{what}".encode())
    return digest.hexdigest()


def _stored(key: str, build: Callable[[], str]) -> str:
    path = cache_folder() / key[:2] / f"{key}.yaml"
    try:
        return read_file(path)
    except GitopsError:
        pass
    built = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path.parent, path.name, built, replace=True)
    except (OSError, GitopsError):
        pass  # a cache that cannot be written: the build stands
    return built


def _once(key: str, build: Callable[[], str]) -> str:
    """The build of `key`, built once in this process however many threads ask for it."""
    with _lock:
        pending = _building.get(key)
        if pending is None:
            pending = _building[key] = Future()
            owner = True
        else:
            owner = False
    if owner:
        try:
            pending.set_result(_stored(key, build))
        except BaseException as exc:
            with _lock:
                del _building[key]  # a failed build is not kept: each caller reports its own
            pending.set_exception(exc)
            raise
        return pending.result()
    try:
        return pending.result()
    except Exception:
        return build()


def cached_kustomize_all(
    repo_root: Path, builds: Sequence[tuple[str, Path, Mapping[str, Any]]], fetcher: Fetcher | None = None
) -> list[str]:
    """`kustomize` of each (Kustomization name, folder, spec), side by side, each built only when no
    build of the same key is cached. With `fetcher`, remote bases are fetched: what a server answers
    today is not keyed by the files, so those builds are neither cached nor run side by side."""

    def one(build: tuple[str, Path, Mapping[str, Any]]) -> str:
        name, folder, spec = build
        reads = check_build(repo_root.resolve(), folder, spec, name)
        if fetcher is not None:
            return build_offline(repo_root, folder, spec, reads, fetcher=fetcher)
        return _once(
            _key(repo_root, folder, spec, reads), lambda: build_offline(repo_root, folder, spec, reads)
        )

    if fetcher is not None:
        return [one(build) for build in builds]

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(one, builds))
