"""The source builders, each a model in and a literal object out."""

from __future__ import annotations

from typing import Any

import pytest

from eoepca_gitops.flux_apis import CURRENT
from eoepca_gitops.manifests.sources import (
    bucket,
    bucket_secret_data,
    git_auth_secret_data,
    git_repository,
    helm_repository,
    meta,
)
from eoepca_gitops.model.blocks import HelmRepository
from eoepca_gitops.model.stack import BucketConfig, ChartsConfig, GitConfig

V1 = "source.toolkit.fluxcd.io/v1"


def test_meta_leaves_out_what_is_empty() -> None:
    assert meta("a") == {"name": "a"}
    assert meta("a", "n", labels={"x": "1"}, annotations={}) == {
        "name": "a",
        "namespace": "n",
        "labels": {"x": "1"},
    }


@pytest.mark.parametrize(
    ("git", "spec"),
    [
        (
            {"url": "https://h/r.git", "branch": "main"},
            {"interval": "1m0s", "url": "https://h/r.git", "ref": {"branch": "main"}},  # timeout: Flux's
        ),
        (
            {
                "url": "https://h/r.git",
                "semver": ">=1.0",
                "interval": "5m",
                "timeout": "2m",
                "ignore": "docs/",
            },
            {
                "interval": "5m",
                "timeout": "2m",
                "url": "https://h/r.git",
                "ref": {"semver": ">=1.0"},
                "ignore": "docs/",
            },
        ),
        (
            {"url": "ssh://git@h/r", "commit": "a" * 40, "auth": {"type": "ssh"}},
            {
                "interval": "1m0s",
                "url": "ssh://git@h/r",
                "ref": {"commit": "a" * 40},
                "secretRef": {"name": "src"},
            },
        ),
    ],
)
def test_git_repository(git: dict[str, Any], spec: dict[str, Any]) -> None:
    assert git_repository(GitConfig.model_validate(git), "flux-system", "src", CURRENT) == {
        "apiVersion": V1,
        "kind": "GitRepository",
        "metadata": {"name": "src", "namespace": "flux-system"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("auth", "secrets", "data"),
    [
        ({"type": "ssh"}, {"gitSshPrivateKey": "KEY"}, {"identity": "KEY"}),
        (
            {"type": "ssh", "knownHosts": "h ssh-ed25519 AAA", "sshPrivateKeySecret": "k"},
            {"k": "KEY"},
            {"identity": "KEY", "known_hosts": "h ssh-ed25519 AAA"},
        ),
        ({"type": "https"}, {"gitPassword": "tok"}, {"username": "git", "password": "tok"}),
        (
            {"type": "https", "username": "bot", "passwordSecret": "p"},
            {"p": "tok"},
            {"username": "bot", "password": "tok"},
        ),
        ({"type": "none"}, {}, {}),
    ],
)
def test_git_auth_secret_data(auth: dict[str, Any], secrets: dict[str, str], data: dict[str, str]) -> None:
    url = "ssh://git@h/r" if auth["type"] == "ssh" else "https://h/r.git"
    git = GitConfig.model_validate({"url": url, "branch": "main", "auth": auth})
    assert git_auth_secret_data(git, secrets) == data


def repo(**changes: Any) -> HelmRepository:
    return HelmRepository.model_validate(
        {"name": "eoepca", "namespace": "common", "url": "https://charts.x/", **changes}
    )


@pytest.mark.parametrize(
    ("changes", "charts", "spec"),
    [
        ({}, None, {"interval": "10m0s", "url": "https://charts.x/"}),
        (
            {"interval": "2m", "timeout": "30s"},
            None,
            {"interval": "2m", "url": "https://charts.x/", "timeout": "30s"},
        ),
        (
            {"type": "oci", "url": "oci://ghcr.io/x"},
            None,
            {"interval": "10m0s", "url": "oci://ghcr.io/x", "type": "oci"},
        ),
        (
            {},
            {"mirror": "http://127.0.0.1:8181"},
            {"interval": "10m0s", "url": "http://127.0.0.1:8181/eoepca/"},
        ),
        # a mirror serves plain chart repositories only: an OCI one keeps its URL
        (
            {"type": "oci", "url": "oci://ghcr.io/x"},
            {"mirror": "http://127.0.0.1:8181"},
            {"interval": "10m0s", "url": "oci://ghcr.io/x", "type": "oci"},
        ),
        # one repository of its own wins over the mirror
        (
            {},
            {"mirror": "http://m", "repositories": {"eoepca": "oci://registry.local/eoepca"}},
            {"interval": "10m0s", "url": "oci://registry.local/eoepca"},
        ),
        ({}, {"repositories": {"other": "https://o"}}, {"interval": "10m0s", "url": "https://charts.x/"}),
    ],
)
def test_helm_repository(
    changes: dict[str, Any], charts: dict[str, Any] | None, spec: dict[str, Any]
) -> None:
    mirror = ChartsConfig.model_validate(charts) if charts is not None else None
    assert helm_repository(repo(**changes), CURRENT, mirror) == {
        "apiVersion": V1,
        "kind": "HelmRepository",
        "metadata": {"name": "eoepca", "namespace": "common"},
        "spec": spec,
    }


def test_an_anonymous_bucket() -> None:
    source = BucketConfig.model_validate({"name": "m", "bucketName": "b", "endpoint": "s3.example"})
    assert bucket(source, "flux-system") == {
        "apiVersion": V1,
        "kind": "Bucket",
        "metadata": {"name": "m", "namespace": "flux-system"},
        "spec": {"interval": "1m0s", "provider": "generic", "bucketName": "b", "endpoint": "s3.example"},
    }
    assert bucket_secret_data(source, {}) == {}


def test_a_bucket_with_region_and_keys() -> None:
    source = BucketConfig.model_validate(
        {
            "name": "m",
            "bucketName": "b",
            "endpoint": "s3.amazonaws.com",
            "provider": "aws",
            "region": "eu-west-1",
            "accessKeySecret": "ak",
            "secretKeySecret": "sk",
        }
    )
    assert bucket(source, "ns")["spec"] == {
        "interval": "1m0s",
        "provider": "aws",
        "bucketName": "b",
        "endpoint": "s3.amazonaws.com",
        "region": "eu-west-1",
        "secretRef": {"name": "m-bucket"},
    }
    assert bucket_secret_data(source, {"ak": "A", "sk": "S"}) == {"accesskey": "A", "secretkey": "S"}
