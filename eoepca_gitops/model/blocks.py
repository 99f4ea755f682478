"""Building blocks, declared once under clusters/blocks/ and enabled per stack.

The fields follow Flux's own (HelmRelease v2, Kustomization v1), camelCase in the files: what a
field says is what Flux gets. A field left out is left out of the object too, so Flux's own
default applies, except where the project has one (model/defaults.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from eoepca_gitops.model.base import Model, unique
from eoepca_gitops.model.types import (
    ChartVersion,
    DnsLabel,
    GoDuration,
    HelmReleaseName,
    K8sName,
    helm_release_name,
)

#: Open Flux sub-objects (remediation settings, post-renderers, ...) kept as written: Flux's CRD
#: validates them, and the builders copy them verbatim.
Spec = dict[str, Any]


#: Sources a HelmRelease takes its chart whole from (Flux's spec.chartRef), not a chart in them.
WHOLE_CHART_SOURCES = ("OCIRepository", "HelmChart")


class SourceRef(Model):
    kind: Literal["HelmRepository", "GitRepository", "Bucket", "OCIRepository", "HelmChart"] = (
        "HelmRepository"
    )
    name: K8sName
    namespace: DnsLabel | None = None


class HelmRepository(Model):
    name: K8sName
    namespace: DnsLabel
    annotations: dict[str, str] = {}
    labels: dict[str, str] = {}
    url: str
    type: Literal["default", "oci"] = "default"
    provider: Literal["generic", "aws", "azure", "gcp"] | None = None
    interval: GoDuration | None = None
    timeout: GoDuration | None = None
    secret_ref: dict[str, str] | None = None
    cert_secret_ref: dict[str, str] | None = None
    pass_credentials: bool | None = None
    insecure: bool | None = None


class ReleaseRef(Model):
    name: K8sName
    namespace: DnsLabel | None = None


class HelmRelease(Model):
    name: K8sName
    namespace: DnsLabel
    annotations: dict[str, str] = {}
    labels: dict[str, str] = {}
    # The chart `chart` at `version` in the HelmRepository (GitRepository, Bucket) `sourceRef`, with
    # the settings of the HelmChart Flux makes for it; or, with `sourceRef` an OCIRepository or a
    # HelmChart, the chart that source holds (Flux's chartRef): no chart, version or settings then.
    source_ref: SourceRef
    chart: str = Field(default="", validate_default=True)
    version: ChartVersion = Field(default="", validate_default=True)
    chart_interval: GoDuration | None = None
    reconcile_strategy: Literal["ChartVersion", "Revision"] | None = None
    values_files: list[str] = []
    ignore_missing_values_files: bool | None = None
    verify: Spec | None = None
    interval: GoDuration | None = None
    timeout: GoDuration | None = None
    release_name: HelmReleaseName | None = None
    target_namespace: DnsLabel | None = None
    storage_namespace: DnsLabel | None = None
    service_account_name: K8sName | None = None
    max_history: int | None = None
    persistent_client: bool | None = None
    drift_detection: Spec | None = None
    install: Spec | None = None
    upgrade: Spec | None = None
    test: Spec | None = None
    rollback: Spec | None = None
    uninstall: Spec | None = None
    post_renderers: list[Spec] = []
    common_metadata: Spec | None = None
    values: Spec = {}
    values_from: list[Spec] = []
    depends_on: list[ReleaseRef] = []
    suspend: bool = False

    @property
    def whole_chart(self) -> bool:
        """Whether the chart is its source's whole (Flux's spec.chartRef)."""
        return self.source_ref.kind in WHOLE_CHART_SOURCES

    @field_validator("chart", "version")
    @classmethod
    def _named_in_the_source(cls, value: str, info: ValidationInfo) -> str:
        source: SourceRef | None = info.data.get("source_ref")
        kind = source.kind if source else "source"
        if kind in WHOLE_CHART_SOURCES and value:
            raise ValueError(f"a chart from an {kind} is the source's whole: no {info.field_name}")
        if kind not in WHOLE_CHART_SOURCES and not value:
            raise ValueError(f"missing required key: the {info.field_name} in the {kind}")
        return value

    @model_validator(mode="after")
    def _one_chart(self) -> HelmRelease:
        settings = (
            self.chart_interval,
            self.reconcile_strategy,
            self.verify,
            self.ignore_missing_values_files,
        )
        if self.whole_chart and (self.values_files or any(settings)):
            raise ValueError(
                f"a chart from an {self.source_ref.kind} is the source's whole: no chart settings"
            )
        return self

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


class SubstituteReference(Model):
    """A ConfigMap or Secret (in the Kustomization's namespace) Flux reads postBuild variables from."""

    kind: Literal["ConfigMap", "Secret"]
    name: K8sName
    optional: bool | None = None


class KustomizationSource(Model):
    kind: Literal["GitRepository", "OCIRepository", "Bucket"] = "GitRepository"
    name: K8sName
    namespace: DnsLabel | None = None


class KustomizationRef(Model):
    name: K8sName
    namespace: DnsLabel | None = None


class Kustomization(Model):
    """The Flux Kustomization that applies the block's plain manifests from Git.

    `path` is relative to the stack's git.path (`./...`: to the repository root). `substitute` and
    `substituteFrom` are its postBuild: Flux substitutes them into what it applies from Git, and the
    builders into the block's objects Pulumi applies (manifests/substitution.py).
    """

    path: str
    name: K8sName | None = None  # default: the block's name
    namespace: DnsLabel | None = None  # default: Flux's namespace
    source_ref: KustomizationSource | None = None  # default: the stack's Git source
    prune: bool = True
    interval: GoDuration | None = None
    retry_interval: GoDuration | None = None
    timeout: GoDuration | None = None
    wait: bool | None = None
    force: bool | None = None
    target_namespace: DnsLabel | None = None
    service_account_name: K8sName | None = None
    kube_config: Spec | None = None
    decryption: Spec | None = None
    deletion_policy: Literal["MirrorPrune", "Delete", "WaitForTermination", "Orphan"] | None = None
    health_checks: list[dict[str, str]] = []
    health_check_exprs: list[dict[str, str]] = []
    name_prefix: str | None = None
    name_suffix: str | None = None
    common_metadata: Spec | None = None
    patches: list[Spec] = []
    images: list[Spec] = []
    # Kustomize components: folders under clusters/components/ (the builder writes their path).
    components: list[K8sName] = []
    # Kustomizations this one waits for besides those of the blocks the block depends on.
    depends_on: list[KustomizationRef] = []
    substitute: dict[str, str] = {}
    substitute_from: list[SubstituteReference] = []
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
    # Each HelmRelease waits (Flux dependsOn) for the HelmReleases of the blocks this one depends
    # on; false: only for those its own dependsOn names (an imported tree's releases, as written).
    releases_wait_for_dependencies: bool = True
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
    version: ChartVersion | None = None
    values: dict[str, Any] = {}
    suspend: bool | None = None


class BlockOverride(Model):
    """What one stack changes in a block: chart versions, extra values (deep-merged), postBuild
    variables of its Kustomization (`substitute`, merged), suspension (of the block's Kustomization
    and releases; `eoepca-gitops suspend` sets it)."""

    releases: dict[str, ReleaseOverride] = {}
    substitute: dict[str, str] = {}
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
