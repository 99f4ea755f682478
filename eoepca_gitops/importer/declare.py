"""Declarations made of a tree's objects: the items of a block file (camelCase, as written there),
each checked by the block model. What the model cannot say raises Unmodelled with the reason: the
object then stays a plain manifest, and the reason goes into the report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from eoepca_gitops.fluxtree.kustomize import BUILD_FIELDS
from eoepca_gitops.manifests.building_block import CHART_FIELDS
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import HelmRelease, HelmRepository, Kustomization

__all__ = ["Unmodelled", "kustomization_item", "release_item", "repository_item"]
# A release's HelmChart settings: key in spec.chart.spec -> the block's key.
_CHART = {chart_key: HelmRelease.model_fields[field].alias or field for field, chart_key in CHART_FIELDS}
# What a block says of an object's metadata.
_METADATA = {"name", "namespace", "annotations", "labels"}
# Kustomization spec keys the block says in its own way (or the stack does).
_KUSTOMIZATION_OWN = {"path", "sourceRef", "dependsOn", "postBuild", "components"}


class Unmodelled(Exception):
    """The block model cannot say this object as it is."""


def _aliases(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def _validated(model: type[BaseModel], item: dict[str, Any]) -> dict[str, Any]:
    try:
        model.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"]))
        raise Unmodelled(f"{where}: {err['msg']}") from None
    return item


def _metadata(obj: Mapping[str, Any], allowed: set[str]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    if extra := set(meta) - allowed:
        raise Unmodelled(f"metadata.{', metadata.'.join(sorted(extra))} not modelled")
    return meta


def _chart_item(spec: dict[str, Any]) -> dict[str, Any]:
    """The block's chart keys of a release's spec.chart or spec.chartRef (taken out of `spec`)."""
    if "chartRef" in spec:
        return {"sourceRef": spec.pop("chartRef")}
    chart = spec.pop("chart", None) or {}
    if set(chart) != {"spec"}:
        raise Unmodelled(
            f"spec.chart.{', spec.chart.'.join(sorted(set(chart) - {'spec'})) or 'spec'} not modelled"
        )
    chart_spec = dict(chart["spec"] or {})
    if "version" not in chart_spec:
        raise Unmodelled("no chart version (the latest) not modelled")
    item: dict[str, Any] = {
        "chart": chart_spec.pop("chart", None),
        "version": str(chart_spec.pop("version")),
        "sourceRef": chart_spec.pop("sourceRef", None),
    }
    for key, value in chart_spec.items():
        if key not in _CHART:
            raise Unmodelled(f"spec.chart.spec.{key} not modelled")
        item[_CHART[key]] = value
    return item


def release_item(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = _metadata(obj, _METADATA)
    spec = dict(obj.get("spec") or {})
    item = {**meta, **_chart_item(spec)}
    allowed = _aliases(HelmRelease) - _METADATA - set(_CHART.values()) - {"chart", "version", "sourceRef"}
    if extra := set(spec) - allowed:
        raise Unmodelled(f"spec.{', spec.'.join(sorted(extra))} not modelled")
    return _validated(HelmRelease, {**item, **spec})


def repository_item(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = _metadata(obj, _METADATA)
    spec = dict(obj.get("spec") or {})
    if extra := set(spec) - (_aliases(HelmRepository) - _METADATA):
        raise Unmodelled(f"spec.{', spec.'.join(sorted(extra))} not modelled")
    return _validated(HelmRepository, {**meta, **spec})


def kustomization_item(
    obj: Mapping[str, Any], block: str, flux_ns: str, baked: bool, components: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """The block's `kustomization` (its path, dependencies and postBuild set by the caller) and what
    of the original it leaves out, one line each."""
    meta, spec = obj.get("metadata") or {}, dict(obj.get("spec") or {})
    item: dict[str, Any] = {"path": block}
    if meta.get("name") != block:
        item["name"] = meta.get("name")
    if (meta.get("namespace") or flux_ns) != flux_ns:
        item["namespace"] = meta["namespace"]
    left_out = []
    source = spec.get("sourceRef") or {}
    default_source = {"kind": "GitRepository", "name": defaults.GIT_SOURCE_NAME}
    if item.get("namespace"):
        default_source["namespace"] = flux_ns
    if source != default_source:
        item["sourceRef"] = {**source, "name": defaults.GIT_SOURCE_NAME}
        if source.get("name") != defaults.GIT_SOURCE_NAME:
            left_out.append(
                f"spec.sourceRef.name {source.get('name')} is the stack's {defaults.GIT_SOURCE_NAME}"
            )
    for key, value in spec.items():
        if key in _KUSTOMIZATION_OWN:
            continue
        if baked and key in BUILD_FIELDS:
            left_out.append(f"spec.{key} applied at import")
        elif key in _aliases(Kustomization):
            item[key] = value
        else:
            left_out.append(f"spec.{key} not modelled, left out")
    if components:
        item["components"] = components
    return item, left_out
