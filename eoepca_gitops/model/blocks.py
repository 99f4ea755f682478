"""Building blocks, declared once under clusters/blocks/ and enabled per stack."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from eoepca_gitops.model.base import Model, unique
from eoepca_gitops.model.types import DnsLabel, GoDuration, HelmReleaseName, K8sName, helm_release_name


class SourceRef(Model):
    kind: Literal["HelmRepository", "GitRepository", "Bucket", "OCIRepository"] = "HelmRepository"
    name: K8sName
    namespace: DnsLabel | None = None


class HelmRepository(Model):
    name: K8sName
    namespace: DnsLabel
    url: str
    type: Literal["default", "oci"] = "default"
    interval: GoDuration | None = None
    timeout: GoDuration | None = None


class ReleaseRef(Model):
    name: K8sName
    namespace: DnsLabel | None = None


class HelmRelease(Model):
    name: K8sName
    namespace: DnsLabel
    chart: str
    version: str = Field(min_length=1)
    source_ref: SourceRef
    interval: GoDuration | None = None
    timeout: GoDuration | None = None
    release_name: HelmReleaseName | None = None
    target_namespace: DnsLabel | None = None
    values: dict[str, Any] = {}
    values_from: list[dict[str, Any]] = []
    install: dict[str, Any] | None = None
    upgrade: dict[str, Any] | None = None
    depends_on: list[ReleaseRef] = []
    suspend: bool = False

    @model_validator(mode="after")
    def _helm_accepts_the_release_name(self) -> HelmRelease:
        if self.release_name is None:
            # Flux's default: [targetNamespace-]name (older helm-controllers do not shorten it).
            default = f"{self.target_namespace}-{self.name}" if self.target_namespace else self.name
            try:
                helm_release_name(default)
            except ValueError as exc:
                raise ValueError(f"{exc}; give a shorter name or set releaseName") from None
        return self


class Kustomization(Model):
    """The Flux Kustomization that applies the block's plain manifests from Git."""

    path: str
    prune: bool = True
    interval: GoDuration | None = None
    retry_interval: GoDuration | None = None
    timeout: GoDuration | None = None
    wait: bool = False
    target_namespace: DnsLabel | None = None
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
    namespaces: list[DnsLabel] = []
    depends_on: list[K8sName] = []
    kustomization: Kustomization | None = None
    helm_repositories: list[HelmRepository] = []
    helm_releases: list[HelmRelease] = []
    drift_exempt: list[DriftExemption] = []

    @field_validator("namespaces")
    @classmethod
    def _namespaces_once(cls, value: list[str]) -> list[str]:
        return list(unique(value, lambda n: n, "namespace"))

    @field_validator("helm_repositories")
    @classmethod
    def _repositories_once(cls, value: list[HelmRepository]) -> list[HelmRepository]:
        return list(unique(value, lambda r: f"{r.namespace}/{r.name}", "HelmRepository"))

    @field_validator("helm_releases")
    @classmethod
    def _releases_once(cls, value: list[HelmRelease]) -> list[HelmRelease]:
        # By name alone: overrides name a release by its name.
        return list(unique(value, lambda r: r.name, "HelmRelease name"))


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
