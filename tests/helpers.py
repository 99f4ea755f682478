"""Shared test data: a valid stack's config values, to change one field at a time."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

from tests.outside_data import find_flux_manifests

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
FIXTURE_BLOCKS = FIXTURES / "blocks"
# Install manifests by structure only, self-written (tests/fixtures/flux-install/README.md).
FIXTURE_INSTALLS = FIXTURES / "flux-install"
# Flux's release manifests (tests/outside_data.py); where they are missing, a stack of these values
# is refused naming the folder, and the tests that load one carry the marker `flux_manifests`.
FLUX_MANIFESTS = find_flux_manifests().folder or REPO_ROOT.parent / "shared" / "flux"

BASE_VALUES: dict[str, Any] = {
    "cluster": {"name": "test", "publicIp": "10.0.0.1"},
    "flux": {"version": "v2.9.3", "manifest": str(FLUX_MANIFESTS)},
    "git": {"url": "https://example.org/gitops.git", "branch": "main"},
    "blocks": ["base", "portal"],
}


def values(**changes: Any) -> dict[str, Any]:
    """BASE_VALUES with top-level keys replaced (None deletes a key)."""
    out = copy.deepcopy(BASE_VALUES)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def fixture_install(release: str = "new") -> list[dict[str, Any]]:
    """The objects of a self-written install manifest: old, middle or new (tests/fixtures/flux-install)."""
    from eoepca_gitops import yaml_io

    return [d for d in yaml_io.load_all_file(FIXTURE_INSTALLS / f"{release}.yaml") if d]


def git(repo: Path, *args: str) -> str:
    """`git -C repo ARGS` with a committer of its own (a test's repository, not the user's set-up);
    its output."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
