"""Flux objects from old API versions to the versions a stack's CRDs store, fields renamed or dropped.

Pure: an object and a kind -> apiVersion map in, a new object and notes out.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.flux_apis import is_flux_group

__all__ = ["upgrade"]


def _patches_from_legacy(spec: dict[str, Any], notes: list[str], where: str) -> None:
    """patchesStrategicMerge / patchesJson6902 (v1beta1/v1beta2) -> patches (v1, v2)."""
    patches = list(spec.get("patches") or [])
    for patch in spec.pop("patchesStrategicMerge", None) or []:
        patches.append({"patch": yaml_io.dump(patch)})
        notes.append(f"{where}patchesStrategicMerge moved to {where}patches")
    for patch in spec.pop("patchesJson6902", None) or []:
        patches.append({"patch": yaml_io.dump(patch.get("patch", [])), "target": patch.get("target", {})})
        notes.append(f"{where}patchesJson6902 moved to {where}patches")
    if patches:
        spec["patches"] = patches


def _is_stable(api_version: str) -> bool:
    version = api_version.rpartition("/")[2]
    return ("beta" not in version and "alpha" not in version) or version == "v1beta3"


def upgrade(obj: Mapping[str, Any], apis: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """`obj` in the API version `apis` gives for its kind, with what that version renamed or removed."""
    out = copy.deepcopy(dict(obj))
    api, kind = str(out.get("apiVersion", "")), str(out.get("kind", ""))
    target = apis.get(kind)
    group = api.rpartition("/")[0]
    if not is_flux_group(group) or not target or target == api or target.rpartition("/")[0] != group:
        return out, []
    notes = [f"apiVersion {api} -> {target}"]
    spec = out.get("spec")
    if isinstance(spec, dict) and _is_stable(target):
        if kind == "Kustomization":
            if spec.pop("validation", None) is not None:
                notes.append("spec.validation dropped (ignored since v1beta2, removed in v1)")
            _patches_from_legacy(spec, notes, "spec.")
        elif kind == "GitRepository":
            for gone in ("gitImplementation", "accessFrom"):
                if spec.pop(gone, None) is not None:
                    notes.append(f"spec.{gone} dropped (removed in v1)")
        elif kind == "HelmRelease":
            chart = (spec.get("chart") or {}).get("spec") or {}
            if "valuesFile" in chart:
                chart["valuesFiles"] = [chart.pop("valuesFile")]
                notes.append("spec.chart.spec.valuesFile -> valuesFiles")
            for renderer in spec.get("postRenderers") or []:
                if isinstance(renderer.get("kustomize"), dict):
                    _patches_from_legacy(renderer["kustomize"], notes, "spec.postRenderers[].kustomize.")
        elif kind == "Alert" and "summary" in spec:
            summary = spec.pop("summary")
            out.setdefault("metadata", {}).setdefault("annotations", {})[
                "event.toolkit.fluxcd.io/summary"
            ] = summary
            notes.append("spec.summary -> annotation event.toolkit.fluxcd.io/summary")
    out["apiVersion"] = target
    return out, notes
