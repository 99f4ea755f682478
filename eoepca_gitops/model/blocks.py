"""Building blocks, declared once under clusters/blocks/ and enabled per stack."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from eoepca_gitops.model.base import Model
from eoepca_gitops.model.types import GoDuration, K8sName


class SourceRef(Model):
    kind: Literal["HelmRepository", "GitRepository", "Bucket", "OCIRepository"] = "HelmRepository"
    name: K8sName
    namespace: K8sName | None = None


class HelmRepository(Model):
    name: K8sName
    namespace: K8sName
    url: str
    type: Literal["default", "oci"] = "default"
    interval: GoDuration | None = None
    timeout: GoDuration | None = None


class ReleaseRef(Model):
    name: K8sName
    namespace: K8sName | None = None


class HelmRelease(Model):
    name: K8sName
    namespace: K8sName
    chart: str
    version: str = Field(min_length=1)
    source_ref: SourceRef
    interval: GoDuration | None = None
    timeout: GoDuration | None = None
    release_name: str | None = None
    target_namespace: K8sName | None = None
    values: dict[str, Any] = {}
    values_from: list[dict[str, Any]] = []
    install: dict[str, Any] | None = None
    upgrade: dict[str, Any] | None = None
    depends_on: list[ReleaseRef] = []
    suspend: bool = False


class Kustomization(Model):
    """The Flux Kustomization that applies the block's plain manifests from Git."""

    path: str
    prune: bool = True
    interval: GoDuration | None = None
    retry_interval: GoDuration | None = None
    timeout: GoDuration | None = None
    wait: bool = False
    target_namespace: K8sName | None = None
    health_checks: list[dict[str, str]] = []
    substitute: dict[str, str] = {}
    suspend: bool = False


class DriftExemption(Model):
    """Drift on purpose: fields (dotted paths, e.g. spec.replicas) of an object that the stack does
    not take back, or the whole object when no field is named. The object is named as Pulumi names
    it: Kind/namespace/name (Kind/name for cluster-wide ones)."""

    object: str = Field(pattern=r"^[A-Za-z0-9]+/[a-z0-9.-]+(/[a-z0-9.-]+)?$")
    fields: list[str] = Field(default=[], description="dotted paths; none: the whole object")
    why: str = ""


class Block(Model):
    name: K8sName
    description: str = ""
    namespaces: list[K8sName] = []
    depends_on: list[K8sName] = []
    kustomization: Kustomization | None = None
    helm_repositories: list[HelmRepository] = []
    helm_releases: list[HelmRelease] = []
    drift_exempt: list[DriftExemption] = []


class ReleaseOverride(Model):
    version: str | None = None
    values: dict[str, Any] = {}
    suspend: bool | None = None


class BlockOverride(Model):
    """What one stack changes in a block: chart versions, extra values (deep-merged), suspension
    (of the block's Kustomization and releases; `eoepca-gitops suspend` sets it)."""

    releases: dict[str, ReleaseOverride] = {}
    suspend: bool | None = None
    interval: GoDuration | None = None


class BlockCatalog(Model):
    """The enabled blocks of a stack, in an order where every block follows its dependencies."""

    blocks: list[Block]

    def get(self, name: str) -> Block:
        for block in self.blocks:
            if block.name == name:
                return block
        raise KeyError(name)
