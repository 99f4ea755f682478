"""Shared test data: a valid stack's config values, to change one field at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

FIXTURE_BLOCKS = Path(__file__).parent / "fixtures" / "blocks"
# The nearest shared/ above the checkout (beside it, or beside the copy `make mutation` tests in).
SHARED = next(
    (d / "shared" for d in Path(__file__).resolve().parents if (d / "shared" / "flux").is_dir()),
    Path(__file__).resolve().parents[2] / "shared",
)
SHARED_FLUX = SHARED / "flux"

BASE_VALUES: dict[str, Any] = {
    "cluster": {"name": "test", "publicIp": "10.0.0.1"},
    "flux": {"version": "v2.9.3", "manifest": str(SHARED_FLUX)},
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
