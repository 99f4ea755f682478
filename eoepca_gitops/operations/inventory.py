"""What Flux applied, as object references: a Kustomization's `status.inventory`, and a Helm release's
manifest as helm-controller stored it (the release Secret `sh.helm.release.v1.<name>.v<revision>`).

Pure: objects as the API server returns them in, references out.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError

__all__ = ["HelmRef", "Ref", "helm_release_ref", "inventory_refs", "manifest_refs", "release_manifest"]


@dataclass(frozen=True, order=True)
class Ref:
    """One object: what the API needs to read it."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.namespace, self.name


def inventory_refs(kustomization: Mapping[str, Any]) -> list[Ref]:
    """The objects a Kustomization applied: its inventory's ids `<namespace>_<name>_<group>_<kind>`
    (namespace empty for cluster-wide objects; no Kubernetes name holds an underscore)."""
    entries = ((kustomization.get("status") or {}).get("inventory") or {}).get("entries") or []
    refs = []
    for entry in entries:
        parts = str(entry.get("id", "")).split("_")
        if len(parts) != 4:
            continue
        namespace, name, group, kind = parts
        version = str(entry.get("v", ""))
        refs.append(Ref(f"{group}/{version}" if group else version, kind, namespace, name))
    return refs


@dataclass(frozen=True)
class HelmRef:
    """The Helm release a HelmRelease last made: where helm-controller stored it, and its revision."""

    name: str
    namespace: str
    storage_namespace: str
    revision: int
    chart_version: str

    @property
    def secret(self) -> str:
        return f"sh.helm.release.v1.{self.name}.v{self.revision}"


def helm_release_ref(helm_release: Mapping[str, Any]) -> HelmRef | None:
    """From the HelmRelease's status history (newest first); None when no release was ever made."""
    meta, spec = helm_release.get("metadata") or {}, helm_release.get("spec") or {}
    history = (helm_release.get("status") or {}).get("history") or []
    if not history:
        return None
    last = history[0]
    namespace = str(last.get("namespace") or spec.get("targetNamespace") or meta.get("namespace") or "")
    return HelmRef(
        name=str(last.get("name") or spec.get("releaseName") or meta.get("name", "")),
        namespace=namespace,
        storage_namespace=str(spec.get("storageNamespace") or meta.get("namespace") or namespace),
        revision=int(last.get("version") or 0),
        chart_version=str(last.get("chartVersion") or ""),
    )


def release_manifest(secret: Mapping[str, Any]) -> str:
    """The manifest of a Helm release Secret: its `release` is base64 (Kubernetes) of base64 (Helm) of
    gzip of the release's JSON."""
    raw = str((secret.get("data") or {}).get("release") or "")
    try:
        packed = base64.b64decode(base64.b64decode(raw))
        document = json.loads(gzip.decompress(packed) if packed[:2] == b"\x1f\x8b" else packed)
    except (binascii.Error, OSError, EOFError, ValueError) as exc:
        name = (secret.get("metadata") or {}).get("name", "?")
        raise GitopsError(f"Helm release Secret {name}: not a release Helm can read ({exc})") from None
    return str(document.get("manifest") or "")


def manifest_refs(manifest: str, release_namespace: str, namespaced: Any) -> list[Ref]:
    """The objects of a release's manifest; one without a namespace is in the release's namespace
    when its kind is namespaced (`namespaced(api_version, kind)`, the adapter's answer)."""
    try:
        docs = list(yaml_io.load_all(manifest))
    except yaml.YAMLError as exc:
        raise GitopsError(f"the Helm release's manifest is not YAML: {exc}") from None
    refs = []
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc:
            continue
        api_version, kind = str(doc.get("apiVersion", "")), str(doc["kind"])
        meta = doc.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        if not namespace and _namespaced(namespaced, api_version, kind):
            namespace = release_namespace
        refs.append(Ref(api_version, kind, namespace, str(meta.get("name", ""))))
    return sorted(refs, key=lambda r: (r.kind, r.namespace, r.name))


def _namespaced(namespaced: Any, api_version: str, kind: str) -> bool:
    try:
        return bool(namespaced(api_version, kind))
    except GitopsError:  # a kind the adapter has no class for (a chart's own CRD): most are namespaced
        return True
