"""The cluster a stack deploys to: its name, public IP and domain, and the services its blocks refer
to as ${variables} (NFS, the Earth-observation data, an object store)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr

from eoepca_gitops.model.base import Model
from eoepca_gitops.model.types import DnsLabel, DnsName, HostName, HttpUrl, IngressIPv4

__all__ = ["CLUSTER_VARIABLES", "ClusterConfig", "EoDataConfig", "NfsConfig", "S3Config"]


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
