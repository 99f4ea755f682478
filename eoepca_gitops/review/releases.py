"""What Helm renders for a HelmRelease, as helm-controller works it out: where the chart comes from,
the release name and namespace, and the values, from the objects a stack applies (both layers).

Pure: the chart is fetched and rendered by eoepca_gitops.review.helm_layer. What cannot be known
offline (a chart in a source this project does not fetch, values from an object only the cluster
has, post-renderers) is said in `notes`, and what can be rendered still is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from eoepca_gitops import yaml_io
from eoepca_gitops.fluxtree import Key
from eoepca_gitops.model import defaults

__all__ = ["ChartSource", "ReleaseInput", "merged", "release_input", "release_name"]

Objects = Mapping[Key, Mapping[str, Any]]
_SOURCE_GROUP = "source.toolkit.fluxcd.io"
# Helm's limit on a release name; helm-controller shortens longer ones (its release.ShortenName).
_MAX_RELEASE_NAME, _SHORT_HASH = 53, 12


@dataclass(frozen=True)
class ChartSource:
    kind: Literal["repository", "oci", "folder"]
    url: str  # an HTTP(S) chart repository, an oci:// reference without the chart, or a folder of the project
    chart: str  # the chart's name (empty for a folder)
    version: str  # a version or a Helm version constraint ("*": the newest)

    @property
    def label(self) -> str:
        return f"{self.chart} {self.version}" if self.chart else f"{self.url} (Git)"


@dataclass(frozen=True)
class ReleaseInput:
    """Everything `helm template` is given for one release; equal inputs render equal objects."""

    name: str
    namespace: str
    source: ChartSource | None  # None: a source not fetched here (see notes)
    values: Mapping[str, Any]
    values_files: tuple[str, ...] = ()
    include_crds: bool = True
    notes: tuple[str, ...] = ()

    @property
    def chart_label(self) -> str:
        return self.source.label if self.source else "?"


def release_name(hr: Mapping[str, Any]) -> str:
    """spec.releaseName, or <targetNamespace>-<name> with a targetNamespace, or the name; shortened
    as helm-controller does beyond 53 characters."""
    spec, name = hr.get("spec") or {}, str(hr["metadata"]["name"])
    target = spec.get("targetNamespace")
    full = str(spec.get("releaseName") or (f"{target}-{name}" if target else name))
    if len(full) <= _MAX_RELEASE_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_SHORT_HASH]
    return f"{full[: _MAX_RELEASE_NAME - _SHORT_HASH - 1]}-{digest}"


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` merged into `base`, maps key by key, anything else replaced (Flux's MergeMaps)."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = merged(out[k], v)
        else:
            out[k] = v
    return out


def _data(obj: Mapping[str, Any], key: str) -> str | None:
    if isinstance((obj.get("stringData") or {}).get(key), str):
        return str(obj["stringData"][key])
    raw = (obj.get("data") or {}).get(key)
    if raw is None or obj.get("kind") != "Secret":
        return None if raw is None else str(raw)
    try:
        return base64.b64decode(str(raw), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _set_path(values: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    """`value` (a string, as `--set-string`) at a dotted path (`\\.` escapes a dot in a key)."""
    keys = [k.replace("\0", ".") for k in path.replace("\\.", "\0").split(".")]
    nested: dict[str, Any] = {keys[-1]: value}
    for k in reversed(keys[:-1]):
        nested = {k: nested}
    return merged(values, nested)


def _values(hr: Mapping[str, Any], objects: Objects) -> tuple[dict[str, Any], list[str]]:
    spec, ns = hr.get("spec") or {}, str(hr["metadata"].get("namespace") or "")
    values: dict[str, Any] = {}
    notes: list[str] = []
    for ref in spec.get("valuesFrom") or []:
        kind, name = str(ref.get("kind")), str(ref.get("name"))
        item = f"{ref.get('valuesKey') or 'values.yaml'} of {kind} {ns}/{name}"
        obj = objects.get(("", kind, ns, name))
        text = _data(obj, str(ref.get("valuesKey") or "values.yaml")) if obj else None
        if text is None:
            if not ref.get("optional"):
                notes.append(
                    f"values from {item} are not in the stack or its Git layer: rendered without them"
                )
            continue
        if ref.get("targetPath"):
            values = _set_path(values, str(ref["targetPath"]), text)
            continue
        loaded = yaml_io.load(text)
        if isinstance(loaded, Mapping):
            values = merged(values, loaded)
        elif loaded is not None:
            notes.append(f"values from {item} are not a YAML mapping: rendered without them")
    return merged(values, spec.get("values") or {}), notes


def _source(hr: Mapping[str, Any], objects: Objects) -> tuple[ChartSource | None, str]:
    spec, ns = hr.get("spec") or {}, str(hr["metadata"].get("namespace") or "")
    if "chartRef" in spec:
        ref = spec["chartRef"]
        where = f"{ref.get('kind')} {ref.get('namespace') or ns}/{ref.get('name')}"
        return None, f"chart from {where} (spec.chartRef): not fetched here, not rendered"
    chart = (spec.get("chart") or {}).get("spec") or {}
    ref = chart.get("sourceRef") or {}
    kind, name, ref_ns = str(ref.get("kind")), str(ref.get("name")), str(ref.get("namespace") or ns)
    version = str(chart.get("version") or "*")
    source = objects.get((_SOURCE_GROUP, kind, ref_ns, name))
    where = f"{kind} {ref_ns}/{name}"
    if source is None:
        return None, f"its {where} is neither in the stack nor in its Git layer: not rendered"
    url = str((source.get("spec") or {}).get("url", ""))
    if kind == "HelmRepository":
        oci = (source.get("spec") or {}).get("type") == "oci"
        return ChartSource("oci" if oci else "repository", url, str(chart.get("chart")), version), ""
    if kind == "GitRepository" and name == defaults.GIT_SOURCE_NAME:
        # The stack's own Git source is this project's repository (as its Git layer is built here).
        return ChartSource("folder", str(chart.get("chart")), "", version), ""
    return None, f"chart {chart.get('chart')} from {where}: a source not fetched here, not rendered"


def release_input(hr: Mapping[str, Any], objects: Objects, *, upgrade: bool) -> ReleaseInput:
    """What helm-controller gives Helm for `hr`, its sources and values read from `objects` (the
    stack's and its Git layer's, at the same revision); `upgrade`: an upgrade of an installed
    release, whose CRDs Helm leaves alone unless the release says otherwise."""
    spec = hr.get("spec") or {}
    source, why = _source(hr, objects)
    values, notes = _values(hr, objects)
    if why:
        notes.insert(0, why)
    if spec.get("postRenderers"):
        notes.append("its post-renderers (spec.postRenderers) are not applied here")
    policy = ((spec.get("upgrade" if upgrade else "install") or {}).get("crds")) or (
        "Skip" if upgrade else "Create"
    )
    chart = (spec.get("chart") or {}).get("spec") or {}
    return ReleaseInput(
        name=release_name(hr),
        namespace=str(spec.get("targetNamespace") or hr["metadata"].get("namespace") or "default"),
        source=source,
        values=values,
        values_files=tuple(str(f) for f in chart.get("valuesFiles") or ()),
        include_crds=policy != "Skip",
        notes=tuple(notes),
    )
