"""`eoepca-gitops import`: an existing Flux tree into this project's stack file and clusters/ declarations."""

from __future__ import annotations

from eoepca_gitops.importer.core import ImportOptions, ImportResult, ReportItem, import_tree

__all__ = ["ImportOptions", "ImportResult", "ReportItem", "import_tree"]
