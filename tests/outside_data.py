"""What some tests read that is not this project's, found where a user keeps it, never committed here.

- Flux's release install manifests (v2.9.3, and v0.24.0, which the EOEPCA creodias cluster runs):
  what a stack installs, the golden renders, the trees an import reads. Looked for in
  $EOEPCA_FLUX_MANIFESTS (a folder of install-<version>.yaml, as for an air-gapped cluster), then a
  folder shared/flux beside the checkout (or above it), then the product's own download cache
  (eoepca_gitops.manifests.flux_release: downloaded once from Flux's GitHub release where that is
  reachable, kept in ~/.cache/eoepca-gitops/flux).
- The EOEPCA repository's creodias GitOps tree, in a folder shared/eoepca beside the checkout.

A test that needs one says so with its marker (`flux_manifests`, `eoepca_tree`); where the data is
missing, tests/conftest.py skips it with what is missing and how to provide it. Tests that need only
the structure of an install manifest use the self-written fixtures of tests/fixtures/flux-install.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.manifests.flux_release import MIRROR_ENV, cache_dir, manifest_path
from eoepca_gitops.model.stack import FluxConfig

__all__ = [
    "EOEPCA_TREE",
    "FLUX_VERSIONS",
    "eoepca_tree_missing",
    "find_flux_manifests",
    "flux_manifests",
    "flux_manifests_missing",
    "install_manifest",
    "link_shared_flux",
]

FLUX_VERSIONS = ("v2.9.3", "v0.24.0")
_CHECKOUT = Path(__file__).resolve().parents[1]


def _shared(name: str) -> Path | None:
    """shared/<name> in the nearest folder above the checkout that has it (beside it, or beside
    the copy `make mutation` tests in)."""
    return next((d / "shared" / name for d in _CHECKOUT.parents if (d / "shared" / name).is_dir()), None)


def _file(folder: Path, version: str) -> Path | None:
    """A release's manifest in a folder of them, in either layout flux_release reads."""
    return next(
        (p for p in (folder / f"install-{version}.yaml", folder / version / "install.yaml") if p.is_file()),
        None,
    )


@dataclass(frozen=True)
class Found:
    folder: Path | None  # holds every one of FLUX_VERSIONS
    missing: str = ""  # why there is none, and how to provide them


def _download() -> Found:
    """The product's download cache, filled by its downloader where github.com is reachable."""
    mirror = os.environ.pop(MIRROR_ENV, None)
    try:
        for version in FLUX_VERSIONS:
            manifest_path(FluxConfig(version=version), file="tests", project=_CHECKOUT)
    except ConfigError as exc:  # its message: what was tried and why it failed, then what to set
        return Found(None, f"not in {cache_dir()}, and {exc.message.split(';')[0]}")
    finally:
        if mirror is not None:
            os.environ[MIRROR_ENV] = mirror
    return Found(cache_dir())


@functools.cache
def find_flux_manifests() -> Found:
    given = os.environ.get(MIRROR_ENV)
    if given:
        lacking = [f"install-{v}.yaml" for v in FLUX_VERSIONS if _file(Path(given), v) is None]
        if lacking:
            return Found(None, f"{MIRROR_ENV}={given} has no {' and no '.join(lacking)}")
        return Found(Path(given))
    shared = _shared("flux")
    if shared is not None and all(_file(shared, v) for v in FLUX_VERSIONS):
        return Found(shared)
    if all(_file(cache_dir(), v) for v in FLUX_VERSIONS):
        return Found(cache_dir())
    return _download()


def flux_manifests_missing() -> str:
    """Why the marker `flux_manifests` skips a test here ("" when the manifests are found)."""
    found = find_flux_manifests()
    if found.folder is not None:
        return ""
    return (
        f"Flux's install manifests {' and '.join(FLUX_VERSIONS)} are missing ({found.missing}): set "
        f"{MIRROR_ENV} to a folder of install-<version>.yaml (each release's install.yaml from "
        "github.com/fluxcd/flux2/releases), put them in ../shared/flux, or run once where github.com "
        "is reachable (they are downloaded into the cache)"
    )


def flux_manifests() -> Path:
    """The folder holding every release of FLUX_VERSIONS (a test using it carries the marker)."""
    found = find_flux_manifests()
    if found.folder is None:
        pytest.skip(flux_manifests_missing())
    return found.folder


def install_manifest(version: str) -> Path:
    """Flux's install manifest of `version` (one of FLUX_VERSIONS)."""
    path = _file(flux_manifests(), version)
    assert path is not None, version
    return path


def link_shared_flux(base: Path) -> None:
    """base/shared/flux, a link to the manifests where they are found: where a project at
    base/<folder> names ../shared/flux (a test reading them carries the marker)."""
    found = find_flux_manifests().folder
    (base / "shared").mkdir(exist_ok=True)
    link = base / "shared" / "flux"
    if found is not None and not link.exists():
        link.symlink_to(found, target_is_directory=True)


def eoepca_tree_missing() -> str:
    """Why the marker `eoepca_tree` skips a test here ("" when the tree is found)."""
    if _shared("eoepca") is not None:
        return ""
    return (
        "the EOEPCA creodias tree is missing: put the EOEPCA repository's GitOps tree "
        "(github.com/EOEPCA/eoepca, system/clusters/creodias/...) at ../shared/eoepca"
    )


#: The EOEPCA repository's tree (where it would be when missing: a test using it carries the marker).
EOEPCA_TREE = _shared("eoepca") or _CHECKOUT.parent / "shared" / "eoepca"
