"""The typed model of one stack (one cluster): what `Pulumi.<stack>.yaml` may say, validated."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.model import defaults
from eoepca_gitops.model.base import Model, unique
from eoepca_gitops.model.blocks import BlockCatalog, BlockOverride, DriftExemption
from eoepca_gitops.model.notifications import NotificationsConfig
from eoepca_gitops.model.poller import PollerConfig
from eoepca_gitops.model.types import (
    ChartRepositoryUrl,
    DnsLabel,
    DnsName,
    FluxVersion,
    GitUrl,
    GoDuration,
    HostName,
    HttpUrl,
    IngressIPv4,
    K8sName,
)

_VARIABLE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
# What the API server accepts as a key of a Secret's data.
_SECRET_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")

Controller = Literal[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
]


class NfsConfig(Model):
    """The NFS export the storage block's provisioners carve volumes from."""

    server: HostName
    path: str = Field(pattern=r"^/", description="exported path, e.g. /data/dynamic")


class S3Config(Model):
    """An S3-compatible service: its endpoint URL (scheme, host, port) and region."""

    endpoint: HttpUrl
    region: str = Field(min_length=1)


class EoDataConfig(S3Config):
    """The cloud's Earth-observation data: the S3 archive processing stages in from, and its catalogue."""

    catalogue: HttpUrl | None = Field(default=None, description="base URL of the OpenSearch catalogue")


class ClusterConfig(Model):
    name: DnsLabel  # also a label value (${cluster_name} in manifests)
    # Unset in a stack whose tree proved none (import): Stack.unset, as git.url.
    public_ip: IngressIPv4 | None = None
    domain: DnsName | None = None
    # What differs between clusters by nature: the blocks refer to them as ${nfs_server}, ...
    nfs: NfsConfig | None = None
    eo_data: EoDataConfig | None = None
    object_store: S3Config | None = None
    # Offline views only (render, diff of a stack that does not set a value its blocks use): the
    # variable's stand-in text. Never a key of the stack file; nothing deploys such a stack.
    _placeholders: dict[str, str] = PrivateAttr(default_factory=dict)

    def with_placeholders(self, placeholders: dict[str, str]) -> ClusterConfig:
        copy = self.model_copy()
        copy._placeholders = dict(placeholders)
        return copy

    @property
    def host_domain(self) -> str | None:
        """The domain ingress hosts live under: the configured one, or nip.io on the public IP."""
        if self.domain or not self.public_ip:
            return self.domain
        return f"{self.public_ip.replace('.', '-')}.nip.io"

    def variables(self) -> dict[str, str]:
        """The values blocks refer to as ${name}, in Pulumi-side values and in Flux postBuild alike.

        Only those the stack sets: a block that uses another is refused by the loader, naming the key
        (CLUSTER_VARIABLES).
        """
        out = {"cluster_name": self.name}
        if self.public_ip:
            out["public_ip"] = self.public_ip
        if self.host_domain:
            out["domain"] = self.host_domain
        if self.nfs:
            out |= {"nfs_server": self.nfs.server, "nfs_path": self.nfs.path}
        if self.eo_data:
            out |= {"eodata_endpoint": self.eo_data.endpoint, "eodata_region": self.eo_data.region}
            if self.eo_data.catalogue:
                out["eodata_catalogue"] = self.eo_data.catalogue
        if self.object_store:
            endpoint = self.object_store.endpoint
            out |= {
                "object_store_endpoint": endpoint,
                "object_store_host": urlsplit(endpoint).netloc,
                "object_store_region": self.object_store.region,
            }
        return self._placeholders | out


#: Every variable a block may use, and the stack key that gives it (for errors naming what to set).
CLUSTER_VARIABLES: dict[str, str] = {
    "cluster_name": "cluster.name",
    "public_ip": "cluster.publicIp",
    "domain": "cluster.domain",
    "nfs_server": "cluster.nfs.server",
    "nfs_path": "cluster.nfs.path",
    "eodata_endpoint": "cluster.eoData.endpoint",
    "eodata_region": "cluster.eoData.region",
    "eodata_catalogue": "cluster.eoData.catalogue",
    "object_store_endpoint": "cluster.objectStore.endpoint",
    "object_store_host": "cluster.objectStore.endpoint",
    "object_store_region": "cluster.objectStore.region",
}


class ChartsConfig(Model):
    """Where HelmRepositories fetch charts from, for clusters that mirror them (air-gapped ones).

    `mirror` redirects every HelmRepository of the default (HTTP) type to `<mirror>/<its name>/`;
    `repositories` gives one repository its own URL (https:// or oci://) and wins over the mirror.
    """

    mirror: HttpUrl | None = None
    repositories: dict[K8sName, ChartRepositoryUrl] = {}

    def url_for(self, name: str, declared: str, oci: bool) -> str:
        """Where the HelmRepository `name` (declared with URL `declared`) fetches charts from."""
        if name in self.repositories:
            return self.repositories[name]
        if self.mirror and not oci:
            return f"{self.mirror}/{name}/"
        return declared


class ControllerPatch(Model):
    resources: dict[str, dict[str, str]] | None = None
    args: list[str] = []
    node_selector: dict[str, str] = {}
    tolerations: list[dict[str, Any]] = []


class FluxConfig(Model):
    version: FluxVersion = defaults.FLUX_VERSION
    manifest: str | None = Field(default=None, description="local install manifest (file or folder)")
    namespace: DnsLabel = defaults.FLUX_NAMESPACE
    components: list[Controller] = list(defaults.FLUX_COMPONENTS)
    components_extra: list[Controller] = []
    registry: str = defaults.FLUX_REGISTRY
    image_pull_secret: K8sName | None = None
    network_policy: bool = True
    watch_all_namespaces: bool = True
    cluster_domain: str = defaults.CLUSTER_DOMAIN
    toleration_keys: list[str] = []
    log_level: Literal["debug", "info", "error"] = defaults.LOG_LEVEL
    profile: Literal["small", "medium", "large"] | None = None
    patches: dict[str, ControllerPatch] = {}
    # Let a version change proceed although Flux objects in Git use API versions it removes.
    allow_api_removal: bool = False
    # False: Flux is not installed and the stack holds no Flux object, while the workloads Flux
    # deployed keep running (`eoepca-gitops undeploy` gets a cluster there safely).
    enabled: bool = True

    @property
    def controllers(self) -> list[str]:
        return list(dict.fromkeys([*self.components, *self.components_extra]))

    @model_validator(mode="after")
    def _patches_name_installed_controllers(self) -> FluxConfig:
        for name in self.patches:
            if name not in self.controllers:
                installed = ", ".join(self.controllers)
                raise ValueError(f"patches.{name}: no such controller is installed (installed: {installed})")
        return self


class GitAuth(Model):
    type: Literal["none", "ssh", "https"] = "none"
    username: str = "git"
    known_hosts: str | None = None
    ssh_private_key_secret: str = "gitSshPrivateKey"
    password_secret: str = "gitPassword"


NO_GIT_REF = "give one Git ref: branch, tag, semver or commit"


class GitConfig(Model):
    # Unset in a stack whose repository is not known yet (an import that found none, a new cluster):
    # render and diff work (Stack.unset); `pulumi preview` and `up` refuse (loader.load_stack).
    url: GitUrl | None = Field(
        default=None, description="the repository holding this project's clusters/ folder, which Flux clones"
    )
    branch: str | None = None
    tag: str | None = None
    semver: str | None = None
    commit: str | None = None
    path: str = defaults.GIT_PATH
    interval: GoDuration = defaults.GIT_INTERVAL
    timeout: GoDuration | None = None  # Flux's default (60s)
    ignore: str | None = None
    auth: GitAuth = GitAuth()

    @model_validator(mode="after")
    def _one_ref(self) -> GitConfig:
        given = [k for k in ("branch", "tag", "semver", "commit") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"give one Git ref, not {' and '.join(given)}")
        if self.url is None:
            return self  # nothing proves a ref either: both are Stack.unset
        if not given:
            raise ValueError(NO_GIT_REF)
        if self.url.startswith("ssh://") and self.auth.type != "ssh":
            raise ValueError(
                f"{self.url} is an ssh URL: it needs auth.type: ssh (with the secret "
                f"{self.auth.ssh_private_key_secret}), or an https URL"
            )
        if self.auth.type == "ssh" and not self.url.startswith("ssh://"):
            raise ValueError("auth.type ssh needs an ssh:// URL")
        return self

    def ref(self) -> dict[str, str]:
        return {k: v for k in ("branch", "tag", "semver", "commit") if (v := getattr(self, k))}


class BucketConfig(Model):
    """An S3-compatible bucket Flux can read manifests from (Bucket, source.toolkit.fluxcd.io)."""

    name: K8sName
    bucket_name: str
    endpoint: str
    provider: Literal["generic", "aws", "gcp", "azure"] = "generic"
    region: str | None = None
    insecure: bool = False
    interval: GoDuration = defaults.GIT_INTERVAL
    access_key_secret: str | None = Field(default=None, description="config key of the access key id")
    secret_key_secret: str | None = Field(default=None, description="config key of the secret access key")

    @model_validator(mode="after")
    def _both_keys_or_none(self) -> BucketConfig:
        if (self.access_key_secret is None) != (self.secret_key_secret is None):
            raise ValueError("give both accessKeySecret and secretKeySecret, or neither")
        return self


class VariablesConfigMap(Model):
    """A ConfigMap of postBuild variables the stack creates: Kustomizations name it in
    substituteFrom, and the builders substitute its values into the objects Pulumi applies for them."""

    name: K8sName
    namespace: DnsLabel | None = None  # default: Flux's namespace
    data: dict[str, str]

    @model_validator(mode="after")
    def _names(self) -> VariablesConfigMap:
        if self.name == defaults.CLUSTER_VARS_CONFIGMAP:
            raise ValueError(f"{self.name} is the ConfigMap the stack makes of its cluster config")
        for key in self.data:
            if not _VARIABLE.fullmatch(key):
                raise ValueError(f"{key!r} is not a variable name Flux substitutes ([_a-zA-Z][_a-zA-Z0-9]*)")
        return self


class ClusterSecret(Model):
    """A Secret the stack makes from its own secret keys: a credential of this cluster that an object
    reads from the cluster (a HelmRelease's valuesFrom), kept encrypted in the stack like the Git key
    rather than made by hand or committed to Git."""

    name: K8sName
    namespace: DnsLabel
    # key in the Secret -> the stack's secret config key holding its value (pulumi config set --secret)
    data: dict[str, str] = Field(min_length=1)

    @model_validator(mode="after")
    def _keys(self) -> ClusterSecret:
        for key in self.data:
            if len(key) > 253 or not _SECRET_DATA_KEY.fullmatch(key):
                raise ValueError(f"{key!r} is not a Secret data key (letters, digits, '-', '_' and '.')")
        return self


class AwaitConfig(Model):
    """Whether an update waits for Flux's verdict on these kinds (components/flux_await.py), and how
    long at most for what never settles."""

    kustomizations: bool = False
    helm_releases: bool = False
    timeout: GoDuration = defaults.AWAIT_TIMEOUT


class StackConfig(Model):
    """All of one stack's configuration, before it meets the building-block catalog."""

    cluster: ClusterConfig
    flux: FluxConfig = FluxConfig()
    git: GitConfig
    charts: ChartsConfig = ChartsConfig()
    buckets: list[BucketConfig] = []
    blocks: list[K8sName] = []
    overrides: dict[str, BlockOverride] = {}
    notifications: NotificationsConfig = NotificationsConfig()
    variables: list[VariablesConfigMap] = []
    cluster_secrets: list[ClusterSecret] = []
    await_: AwaitConfig = Field(default=AwaitConfig(), alias="await")
    # Which cluster: a kubeconfig file (relative to the project folder) and/or a context in it;
    # with neither, the provider uses $KUBECONFIG as kubectl does.
    kubeconfig: str | None = None
    kube_context: str | None = Field(default=None, min_length=1)
    # Fields or objects the stack leaves to someone else (a controller, an operator): drift on them
    # is neither reported nor corrected (blocks declare their own as driftExempt).
    drift_exempt: list[DriftExemption] = []
    secrets: dict[str, SecretStr] = {}
    poller: PollerConfig | None = None

    @field_validator("buckets")
    @classmethod
    def _buckets_once(cls, value: list[BucketConfig]) -> list[BucketConfig]:
        return list(unique(value, lambda b: b.name, "bucket name"))

    @field_validator("cluster_secrets")
    @classmethod
    def _cluster_secrets_once(cls, value: list[ClusterSecret]) -> list[ClusterSecret]:
        return list(unique(value, lambda s: f"{s.namespace}/{s.name}", "Secret"))

    @model_validator(mode="after")
    def _variables_once(self) -> StackConfig:
        seen: set[tuple[str, str]] = set()
        for configmap in self.variables:
            where = (configmap.namespace or self.flux.namespace, configmap.name)
            if where in seen:
                raise ValueError(f"variables: ConfigMap {where[0]}/{where[1]} given twice")
            seen.add(where)
        return self

    def secret_refs(self) -> list[tuple[str, str]]:
        """(config key that must hold a secret, the key that names it), for every secret the stack uses."""
        refs: list[tuple[str, str]] = []
        auth = self.git.auth
        if auth.type == "ssh":
            refs.append((auth.ssh_private_key_secret, "git.auth.sshPrivateKeySecret"))
        if auth.type == "https":
            refs.append((auth.password_secret, "git.auth.passwordSecret"))
        for i, bucket in enumerate(self.buckets):
            if bucket.access_key_secret and bucket.secret_key_secret:
                refs.append((bucket.access_key_secret, f"buckets[{i}].accessKeySecret"))
                refs.append((bucket.secret_key_secret, f"buckets[{i}].secretKeySecret"))
        for i, provider in enumerate(self.notifications.providers):
            if provider.address_secret:
                refs.append((provider.address_secret, f"notifications.providers[{i}].addressSecret"))
        for i, made in enumerate(self.cluster_secrets):
            for data_key, key in made.data.items():
                refs.append((key, f"clusterSecrets[{i}].data.{data_key}"))
        if self.notifications.receiver:
            refs.append((self.notifications.receiver.token_secret, "notifications.receiver.tokenSecret"))
        if self.poller:
            refs.append((self.poller.passphrase_secret, "poller.passphraseSecret"))
            for env_name, key in sorted(self.poller.credential_secrets.items()):
                refs.append((key, f"poller.credentialSecrets.{env_name}"))
        return refs


class Stack(Model):
    """A validated stack: its config joined with the blocks it enables, in dependency order."""

    name: str
    # The stack file it was loaded from, as the loader was given it (a path, or `Pulumi.<stack>.yaml`
    # in the program): errors and the Flux manifest path name it without rebuilding it.
    file: str
    config: StackConfig
    catalog: BlockCatalog
    # (key, what is wrong) for each key a deploy needs that the stack does not set yet: an offline
    # view (render, diff: load_stack(offline=True)) shows a placeholder; the program refuses it.
    unset: tuple[tuple[str, str], ...] = ()

    @property
    def file_name(self) -> str:
        """The stack file's name without its folder: what messages about the stack's objects name."""
        return PurePath(self.file).name

    def pinned(self, commit: str) -> Stack:
        """This stack with Flux's Git source pinned to `commit` (a roll-back holds the stack there):
        the GitRepository's ref names that commit instead of the branch, tag or semver."""
        if not _FULL_SHA.fullmatch(commit):
            raise GitopsError(
                f"{defaults.PIN_COMMIT}: {commit!r} is not a full commit id (40 or 64 hex digits)"
            )
        git = self.config.git.model_copy(
            update={"branch": None, "tag": None, "semver": None, "commit": commit}
        )
        return self.model_copy(update={"config": self.config.model_copy(update={"git": git})})


_FULL_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
