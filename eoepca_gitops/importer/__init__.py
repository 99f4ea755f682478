"""`eoepca-gitops import`: an existing Flux tree into this project's stack file and clusters/ declarations.

By stage: read (flux-system, file:line index) -> route (objects to blocks) -> lift (the cluster's IP
and domain) -> assemble (block declarations verified by the builders) -> write (files); run.py
strings them together.
"""

from __future__ import annotations

from eoepca_gitops.importer.report import ReportItem
from eoepca_gitops.importer.run import ImportOptions, ImportResult, import_tree

__all__ = ["ImportOptions", "ImportResult", "ReportItem", "import_tree"]
