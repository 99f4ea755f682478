"""Where eoepca-gitops keeps what it downloads once: ~/.cache/eoepca-gitops (EOEPCA_CACHE_DIR moves
it). Flux release manifests go to flux/<version>/, Helm charts to charts/ (a chart version never
changes, so neither ever expires)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    return Path(os.environ.get("EOEPCA_CACHE_DIR") or os.path.join(Path.home(), ".cache", "eoepca-gitops"))
