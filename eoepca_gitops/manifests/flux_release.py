"""Finds the Flux install manifest of a version: a local file or folder, or the release download.

Like `flux install`, the default source is the release asset of the configured version, cached
under ~/.cache/eoepca-gitops/flux/<version>/ so that it is downloaded once. Whatever the source,
what is read must be a Flux install manifest (the flux-system Namespace and the toolkit's CRDs):
any other file is refused, naming the key that led to it, rather than giving a stack without Flux.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import ConfigError, GitopsError
from eoepca_gitops.files import MAX_FILE_BYTES, decoded, read_file, resolved, write_file
from eoepca_gitops.model import defaults
from eoepca_gitops.model.stack import FluxConfig

__all__ = [
    "MIRROR_ENV",
    "cache_dir",
    "cache_root",
    "checked_install_manifest",
    "load_install_manifest",
    "manifest_path",
    "read_install_manifest",
    "release_version",
]

# A folder of release manifests (install-<version>.yaml or <version>/install.yaml) that stands in
# for the download on an air-gapped machine, without naming a path in every stack file.
MIRROR_ENV = "EOEPCA_FLUX_MANIFESTS"
# What every Flux install manifest holds, whatever its version and components.
_INSTALL_NAMESPACE = "flux-system"
_REQUIRED_CRDS = ("gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io")
# `flux install --export` and `flux bootstrap` start the manifest with this header.
_VERSION_HEADER = re.compile(r"^# Flux Version: (v[0-9][0-9.]*)\s*$", re.MULTILINE)


def release_version(manifest_text: str) -> str | None:
    """The Flux release an install manifest says it is (its header), or None."""
    found = _VERSION_HEADER.search(manifest_text[:2048])
    return found.group(1) if found else None


def cache_root() -> Path:
    """Where downloads are kept: ~/.cache/eoepca-gitops, or EOEPCA_CACHE_DIR."""
    return Path(os.environ.get("EOEPCA_CACHE_DIR") or os.path.join(Path.home(), ".cache", "eoepca-gitops"))


def cache_dir() -> Path:
    return cache_root() / "flux"


def _local_candidates(path: Path, version: str) -> list[Path]:
    if path.is_file():
        return [path]
    return [
        path / f"install-{version}.yaml",
        path / version / "install.yaml",
        path / "install.yaml",
        path / "gotk-components.yaml",
    ]


@retry(
    retry=retry_if_exception_type((urllib.error.URLError, TimeoutError)),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=1, max=8),
    reraise=True,
)
def _download(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read(MAX_FILE_BYTES + 1)
    if len(body) > MAX_FILE_BYTES:
        raise GitopsError(f"{url}: larger than any Flux install manifest")
    return decoded(body, url)


def manifest_path(flux: FluxConfig, *, file: str, project: Path) -> Path:
    """The install manifest for flux.version; raises ConfigError naming the key when there is none."""
    key = f"{defaults.CONFIG_NAMESPACE}:flux"
    if flux.manifest:
        try:
            local = resolved(project / flux.manifest)
        except GitopsError as exc:
            raise ConfigError(file, f"{key}.manifest", str(exc)) from None
        for candidate in _local_candidates(local, flux.version):
            if candidate.is_file():
                try:
                    found = release_version(read_file(candidate)[:2048])
                except GitopsError as exc:
                    raise ConfigError(file, f"{key}.manifest", str(exc)) from None
                if found and found != flux.version:
                    raise ConfigError(
                        file, f"{key}.manifest", f"{candidate} is Flux {found}, not {flux.version}"
                    )
                return candidate
        raise ConfigError(file, f"{key}.version", f"no install manifest for Flux {flux.version} in {local}")
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        for candidate in _local_candidates(Path(mirror), flux.version)[:-1]:
            if candidate.is_file():
                return candidate
    cached = cache_dir() / flux.version / "install.yaml"
    if cached.is_file():
        return cached
    url = defaults.FLUX_RELEASE_URL.format(version=flux.version)
    try:
        body = _download(url)
    except (urllib.error.URLError, TimeoutError, OSError, GitopsError) as exc:
        raise ConfigError(
            file,
            f"{key}.version",
            f"no install manifest for Flux {flux.version}: downloading {url} failed ({exc}); "
            f"for an air-gapped cluster set flux.manifest to a local file or folder, or {MIRROR_ENV} "
            "to a folder of release manifests",
        ) from None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            file, f"{key}.version", f"{cached.parent}: cannot create the cache: {exc.strerror}"
        ) from None
    return write_file(cached.parent, cached.name, body, replace=True)


@functools.lru_cache(maxsize=8)
def _parse(path: str, mtime_ns: int) -> tuple[dict[str, Any], ...]:
    # The C scanner: about 10x faster than the pure-Python one on these 200-600 KB files.
    return tuple(d for d in yaml_io.load_all_file(Path(path)) if isinstance(d, dict))


def _missing(objects: tuple[dict[str, Any], ...]) -> list[str]:
    """What a Flux install manifest has and `objects` lack."""
    names = {(o.get("kind"), (o.get("metadata") or {}).get("name")) for o in objects}
    missing = [f"CRD {crd}" for crd in _REQUIRED_CRDS if ("CustomResourceDefinition", crd) not in names]
    if ("Namespace", _INSTALL_NAMESPACE) not in names:
        missing.insert(0, f"Namespace {_INSTALL_NAMESPACE}")
    return missing


_parsing = threading.Lock()


def read_install_manifest(path: Path) -> tuple[dict[str, Any], ...]:
    """The parsed objects of an install manifest file (shared, never mutate: builders copy)."""
    with _parsing:  # the two revisions of a review read it at once: parsed once
        return _parse(str(path), path.stat().st_mtime_ns)


def load_install_manifest(flux: FluxConfig, *, file: str, project: Path) -> tuple[dict[str, Any], ...]:
    """The parsed objects of the install manifest of flux.version (shared, never mutate)."""
    return checked_install_manifest(manifest_path(flux, file=file, project=project), flux, file=file)


def checked_install_manifest(path: Path, flux: FluxConfig, *, file: str) -> tuple[dict[str, Any], ...]:
    """The parsed objects of `path`, the install manifest found for `flux`; a ConfigError naming the
    key that led to it when it is not a Flux install manifest."""
    objects = read_install_manifest(path)
    missing = _missing(objects)
    if missing:
        key = f"{defaults.CONFIG_NAMESPACE}:flux.{'manifest' if flux.manifest else 'version'}"
        raise ConfigError(
            file, key, f"{path} is not a Flux install manifest (it has no {' and no '.join(missing)})"
        )
    return objects
