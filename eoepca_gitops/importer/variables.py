"""The ConfigMaps the tree's Kustomizations substitute variables from, as the stack's `variables`.

A ConfigMap that a Kustomization names in postBuild.substituteFrom and that the tree applies
itself (data only) becomes one the stack creates: Pulumi then knows its values and substitutes
them into the objects it applies in Flux's place, and Flux reads it as before for what stays in
Git. Any other reference (a Secret, a ConfigMap made elsewhere) stays on the Kustomization and is
reported: only the cluster knows its values, so what uses them stays in Git.
"""

from __future__ import annotations

import re
from typing import Any

from eoepca_gitops.importer.report import Report
from eoepca_gitops.importer.route import Candidate, Routed

__all__ = ["stack_variables"]

_VARIABLE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")


def _pure(obj: dict[str, Any]) -> bool:
    """A ConfigMap of variables only: what the stack's `variables` can say of it."""
    data = obj.get("data") or {}
    return (
        obj.get("apiVersion") == "v1"
        and set(obj) <= {"apiVersion", "kind", "metadata", "data"}
        and set(obj.get("metadata") or {}) <= {"name", "namespace"}
        and all(isinstance(v, str) and _VARIABLE.fullmatch(str(k)) for k, v in data.items())
    )


def stack_variables(routed: Routed, flux_ns: str, report: Report) -> list[dict[str, Any]]:
    """The stack's `variables`; the ConfigMaps they replace leave the blocks' plain manifests."""
    plain: dict[tuple[str, str], tuple[list[Candidate], Candidate]] = {}
    for parts in routed.blocks.values():
        for found in parts.shared:
            meta = found.forms.final.get("metadata") or {}
            here = routed.origins[found.origin].stays is None  # not applied to another cluster
            if here and found.forms.final.get("kind") == "ConfigMap" and meta.get("namespace"):
                plain[(str(meta["namespace"]), str(meta.get("name")))] = (parts.shared, found)
    out: list[dict[str, Any]] = []
    done: set[tuple[str, str]] = set()
    for k_id, origin in routed.origins.items():
        namespace = k_id.partition("/")[0]
        post = (origin.obj.get("spec") or {}).get("postBuild") or {}
        for ref in post.get("substituteFrom") or []:
            where = (namespace, str(ref.get("name")))
            holder = plain.get(where) if ref.get("kind") == "ConfigMap" else None
            if holder is not None and _pure(holder[1].forms.final):
                if where not in done:
                    done.add(where)
                    holder[0].remove(holder[1])
                    entry: dict[str, Any] = {
                        "name": where[1],
                        "data": holder[1].forms.final.get("data") or {},
                    }
                    if namespace != flux_ns:
                        entry["namespace"] = namespace
                    out.append(entry)
                    report.note(
                        holder[1].file,
                        holder[1].line,
                        f"ConfigMap {namespace}/{where[1]} (postBuild variables): created by the stack "
                        "(eoepca-gitops:variables), so Pulumi substitutes its values too",
                    )
                continue
            report.note(
                str((origin.obj.get("spec") or {}).get("path")),
                0,
                f"Kustomization {k_id}: substituteFrom {ref.get('kind')}/{ref.get('name')} kept: only "
                "the cluster knows its values, so the objects that use them stay in Git for Flux",
            )
    return out
