"""Routing: each object Flux applies from the tree goes to a block, as a candidate for the block's
declaration, a plain manifest every cluster shares, a manifest of this cluster only (its secrets), or
a notification.

- every Flux Kustomization applied from the root GitRepository becomes a block of its name; the
  root one's objects are split by their first sub-folder into blocks `<root folder>-<sub-folder>`;
- Namespaces, HelmRepositories and HelmReleases the block model can say are candidates (verified
  later by building them again, see assemble.py);
- SealedSecrets and Secrets stay this cluster's own; Providers and Alerts become notifications.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoepca_gitops.flux_apis import is_flux_group
from eoepca_gitops.fluxtree import AppliedObject, Key, is_flux_kustomization, key
from eoepca_gitops.importer.read import SourceIndex, TreeRoot
from eoepca_gitops.importer.report import Report
from eoepca_gitops.importer.upgrade import upgrade

__all__ = ["BlockParts", "Candidate", "Found", "Routed", "block_name", "route"]

# API groups whose kinds are plain Kubernetes: kept as manifests without a report line.
_CORE_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
}
_RELEASE_SPEC = {
    "chart",
    "interval",
    "timeout",
    "releaseName",
    "targetNamespace",
    "values",
    "valuesFrom",
    "install",
    "upgrade",
    "dependsOn",
    "suspend",
}


@dataclass
class BlockParts:
    name: str
    description: str
    shared: list[dict[str, Any]] = field(default_factory=list)  # plain manifests, every cluster
    own: list[dict[str, Any]] = field(default_factory=list)  # this cluster's (secrets)
    kustomization: dict[str, Any] | None = None  # the original Flux Kustomization's spec


@dataclass(frozen=True)
class Candidate:
    """An object (in the stack's API version) that may go into its block's declaration."""

    block: str
    obj: dict[str, Any]
    file: str
    line: int


@dataclass(frozen=True)
class Found:
    obj: dict[str, Any]
    file: str
    line: int


@dataclass
class Routed:
    root_block: str
    blocks: dict[str, BlockParts]
    candidates: list[Candidate] = field(default_factory=list)
    providers: list[Found] = field(default_factory=list)
    alerts: list[Found] = field(default_factory=list)
    #: block -> the block whose Kustomization applies its plain manifests (root sub-folders)
    plain_home: dict[str, str] = field(default_factory=dict)


def block_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "root"


def route(
    applied: list[AppliedObject],
    kustomizations: Mapping[str, dict[str, Any]],
    root_k: dict[str, Any],
    root_id: str,
    git_repo: Mapping[str, Any] | None,
    flux_ns: str,
    apis: Mapping[str, str],
    tree: TreeRoot,
    sources: SourceIndex,
    stack: str,
    report: Report,
) -> Routed:
    root_block = block_name(root_k["metadata"]["name"])
    routed = Routed(
        root_block, {root_block: BlockParts(root_block, "Objects of the cluster's root Kustomization.")}
    )
    blocks = routed.blocks
    blocks[root_block].kustomization = root_k.get("spec") or {}
    git_name = (git_repo or {}).get("metadata", {}).get("name")
    seen_keys: dict[Key, str] = {}
    for item in applied:
        obj = item.obj
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        kind, api = str(obj.get("kind")), str(obj.get("apiVersion"))
        group = api.rpartition("/")[0]
        file, line = sources.where(obj, item.path.removeprefix("./"))
        if labels.get("app.kubernetes.io/part-of") == "flux" or (
            kind == "CustomResourceDefinition" and is_flux_group(str(meta.get("name", "")))
        ):
            report.count("Flux install objects (installed by the stack)")
            continue
        if kind == "GitRepository" and meta.get("name") == git_name:
            continue
        k_id = f"{meta.get('namespace') or flux_ns}/{meta.get('name')}"
        if is_flux_kustomization(obj) and k_id == root_id:
            # the root Kustomization as the cluster has it: flux-system's patches applied
            blocks[root_block].kustomization = upgrade(obj, apis)[0].get("spec") or {}
            continue
        if is_flux_kustomization(obj) and k_id in kustomizations:
            name = block_name(str(meta["name"]))
            parts = blocks.setdefault(name, BlockParts(name, f"Objects of the Flux Kustomization {k_id}."))
            parts.kustomization = upgrade(obj, apis)[0].get("spec") or {}
            report.count("Flux Kustomizations (blocks)")
            continue
        k = key(obj)
        if k in seen_keys:
            report.note(file, line, f"{kind} {k_id} applied again (first by {seen_keys[k]}); left out")
            continue
        seen_keys[k] = item.kustomization
        block = _block_for(item, root_id, root_block, file, tree)
        sub = (
            Path(file).relative_to(tree.rel(tree.path)).parts[0]
            if file.startswith(tree.rel(tree.path))
            else ""
        )
        blocks.setdefault(block, BlockParts(block, f"Objects of {tree.rel(tree.path)}/{sub}."))
        if item.kustomization == root_id and block != root_block:
            routed.plain_home[block] = root_block
        obj, notes = upgrade(obj, apis)
        if notes:
            report.count("objects upgraded to newer API versions")
        extra_meta = set(meta) - {"name", "namespace"}
        spec = obj.get("spec") or {}
        if (
            kind == "Namespace"
            and group == ""
            and not extra_meta
            and set(obj) <= {"apiVersion", "kind", "metadata"}
        ) or (
            kind == "HelmRepository"
            and is_flux_group(group)
            and not extra_meta
            and (set(spec) <= {"url", "interval", "type", "timeout"} and "interval" in spec)
        ):
            routed.candidates.append(Candidate(block, obj, file, line))
        elif kind == "HelmRelease" and is_flux_group(group):
            why = _release_unmodelled(obj, extra_meta)
            if why:
                report.note(file, line, f"HelmRelease {k_id}: {why}; kept as a plain manifest")
                blocks[block].shared.append(obj)
            else:
                routed.candidates.append(Candidate(block, obj, file, line))
        elif kind == "Provider" and is_flux_group(group):
            routed.providers.append(Found(obj, file, line))
        elif kind == "Alert" and is_flux_group(group):
            routed.alerts.append(Found(obj, file, line))
        elif kind in ("SealedSecret", "Secret") or "sops" in obj:
            what = (
                "encrypted SealedSecret (sealed with this cluster's key)"
                if kind == "SealedSecret"
                else (f"{kind} with secret data")
            )
            report.note(
                file, line, f"{what} {k_id}: kept as a manifest of this cluster only (clusters/{stack}/)"
            )
            blocks[block].own.append(obj)
        else:
            if is_flux_group(group):
                report.note(file, line, f"{kind} {k_id}: Flux kind not modelled; kept as a plain manifest")
            elif group not in _CORE_GROUPS:
                report.note(
                    file, line, f"{kind} ({group}) {k_id}: kind not modelled; kept as a plain manifest"
                )
            blocks[block].shared.append(obj)
    return routed


def _block_for(item: AppliedObject, root_id: str, root_block: str, file: str, tree: TreeRoot) -> str:
    if item.kustomization != root_id:
        return block_name(item.kustomization.partition("/")[2])
    parts = Path(os.path.relpath(tree.repo_root / file, tree.path)).parts
    if len(parts) > 1 and parts[0] != "..":
        return block_name(f"{tree.path.name}-{parts[0]}")
    return root_block


def _release_unmodelled(obj: Mapping[str, Any], extra_meta: set[str]) -> str | None:
    spec = obj.get("spec") or {}
    chart = (spec.get("chart") or {}).get("spec")
    if extra_meta:
        return f"metadata.{', metadata.'.join(sorted(extra_meta))} not modelled"
    if extra := set(spec) - _RELEASE_SPEC:
        return f"spec.{', spec.'.join(sorted(extra))} not modelled"
    if not isinstance(chart, dict) or set(spec.get("chart", {})) != {"spec"}:
        return "no spec.chart.spec (chartRef) not modelled"
    if extra := set(chart) - {"chart", "version", "sourceRef"}:
        return f"spec.chart.spec.{', '.join(sorted(extra))} not modelled"
    if not chart.get("version"):
        return "no chart version (latest) not modelled"
    if "interval" not in spec:
        return "no spec.interval"
    return None
