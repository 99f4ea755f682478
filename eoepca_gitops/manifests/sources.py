"""Flux sources: the GitRepository the cluster follows (and its auth Secret), HelmRepositories, Buckets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoepca_gitops.flux_apis import CURRENT
from eoepca_gitops.model import defaults
from eoepca_gitops.model.base import Model
from eoepca_gitops.model.blocks import HelmRepository
from eoepca_gitops.model.stack import BucketConfig, ChartsConfig, GitConfig

__all__ = [
    "bucket",
    "bucket_secret_data",
    "bucket_secret_name",
    "git_auth_secret_data",
    "git_repository",
    "given",
    "helm_repository",
    "meta",
]


_HELM_REPOSITORY_FIELDS = (
    "provider",
    "timeout",
    "secret_ref",
    "cert_secret_ref",
    "pass_credentials",
    "insecure",
)


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out.update({k: v for k, v in extra.items() if v})
    return out


def given(model: Model, fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields of `model` that are set (not None, not empty), under their camelCase names: what
    a block says is what Flux gets, and what it leaves out Flux defaults."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(model, name)
        if value is not None and value != [] and value != {}:
            out[type(model).model_fields[name].alias or name] = value
    return out


def git_repository(
    git: GitConfig, namespace: str, name: str = defaults.GIT_SOURCE_NAME, apis: Mapping[str, str] = CURRENT
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": git.interval,
        # Shown by render until the stack sets it; nothing deploys a stack without it.
        "url": git.url or f"<unset {defaults.CONFIG_NAMESPACE}:git.url>",
        "ref": git.ref(),
        **given(git, ("timeout",)),
    }
    if git.auth.type != "none":
        spec["secretRef"] = {"name": name}
    if git.ignore:
        spec["ignore"] = git.ignore
    return {
        "apiVersion": apis["GitRepository"],
        "kind": "GitRepository",
        "metadata": meta(name, namespace),
        "spec": spec,
    }


def git_auth_secret_data(git: GitConfig, secrets: dict[str, str]) -> dict[str, str]:
    """The stringData of the Git auth Secret, in the keys source-controller reads.

    `secrets` maps stack config keys to their values; read-only credentials are enough, since
    nothing here ever pushes to Git.
    """
    auth = git.auth
    if auth.type == "ssh":
        data = {"identity": secrets[auth.ssh_private_key_secret]}
        if auth.known_hosts:
            data["known_hosts"] = auth.known_hosts
        return data
    if auth.type == "https":
        return {"username": auth.username, "password": secrets[auth.password_secret]}
    return {}


def helm_repository(
    repo: HelmRepository, apis: Mapping[str, str] = CURRENT, charts: ChartsConfig | None = None
) -> dict[str, Any]:
    """A HelmRepository; `charts` redirects it to a mirror (air-gapped clusters, the dev cluster)."""
    url = charts.url_for(repo.name, repo.url, repo.type == "oci") if charts else repo.url
    spec: dict[str, Any] = {
        "interval": repo.interval or defaults.HELM_REPOSITORY_INTERVAL,
        "url": url,
        **given(repo, _HELM_REPOSITORY_FIELDS),
    }
    if repo.type == "oci":
        spec["type"] = "oci"
    return {
        "apiVersion": apis["HelmRepository"],
        "kind": "HelmRepository",
        "metadata": meta(repo.name, repo.namespace, labels=repo.labels, annotations=repo.annotations),
        "spec": spec,
    }


def bucket(source: BucketConfig, namespace: str, apis: Mapping[str, str] = CURRENT) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": source.interval,
        "provider": source.provider,
        "bucketName": source.bucket_name,
        "endpoint": source.endpoint,
    }
    if source.region:
        spec["region"] = source.region
    if source.insecure:
        spec["insecure"] = True
    if source.access_key_secret:
        spec["secretRef"] = {"name": bucket_secret_name(source)}
    return {
        "apiVersion": apis["Bucket"],
        "kind": "Bucket",
        "metadata": meta(source.name, namespace),
        "spec": spec,
    }


def bucket_secret_name(source: BucketConfig) -> str:
    return f"{source.name}-bucket"


def bucket_secret_data(source: BucketConfig, secrets: Mapping[str, str]) -> dict[str, str]:
    """The keys source-controller reads for a generic S3 bucket; empty for anonymous access."""
    if not (source.access_key_secret and source.secret_key_secret):
        return {}
    return {"accesskey": secrets[source.access_key_secret], "secretkey": secrets[source.secret_key_secret]}
