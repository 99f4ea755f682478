"""`eoepca-gitops import`: an existing Flux tree into this project's stack file and clusters/ declarations.

By stage: read (flux-system, the sync source, file:line index) -> route (objects to blocks, in the
forms Flux applies, declares and keeps in Git) -> variables (substituteFrom ConfigMaps into the
stack) and notifications -> lift (the cluster's IP and domain, where they recur) -> assemble (block
declarations, declare.py, verified by the builders) -> merge (with the blocks other clusters'
imports declared) -> write (files); run.py strings them together.
"""

from __future__ import annotations

from eoepca_gitops.importer.report import ReportItem
from eoepca_gitops.importer.run import ImportOptions, ImportResult, import_tree

__all__ = ["ImportOptions", "ImportResult", "ReportItem", "import_tree"]
