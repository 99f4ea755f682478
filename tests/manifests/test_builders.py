"""Pure builders for sources, blocks and notifications: start from a valid stack, change one field."""

from __future__ import annotations

from typing import Any

import pytest

from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.stack import StackManifests, build_stack
from eoepca_gitops.model import load_stack
from tests.helpers import FIXTURE_BLOCKS, values

pytestmark = pytest.mark.flux_manifests


def build(secrets: dict[str, str] | None = None, **changes: Any) -> StackManifests:
    v = values(**changes) | (secrets or {})
    stack = load_stack("test", v, set(secrets or {}), "Pulumi.test.yaml", FIXTURE_BLOCKS)
    install = load_install_manifest(stack.config.flux, file="Pulumi.test.yaml", project=FIXTURE_BLOCKS)
    return build_stack(stack, install)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_bucket_source_with_credentials_from_secrets() -> None:
    bucket = {
        "name": "manifests",
        "bucketName": "gitops",
        "endpoint": "127.0.0.1:9000",
        "insecure": True,
        "accessKeySecret": "s3Access",
        "secretKeySecret": "s3Secret",
    }
    m = build({"s3Access": "AK", "s3Secret": "SK"}, buckets=[bucket])
    objects = m.buckets["manifests"]
    spec = find(objects, "Bucket", "manifests")["spec"]
    assert find(objects, "Bucket", "manifests")["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    assert spec == {
        "interval": "1m0s",
        "provider": "generic",
        "bucketName": "gitops",
        "endpoint": "127.0.0.1:9000",
        "insecure": True,
        "secretRef": {"name": "manifests-bucket"},
    }
    assert find(objects, "Secret", "manifests-bucket")["stringData"] == {"accesskey": "AK", "secretkey": "SK"}


def test_https_git_auth_secret_and_refs() -> None:
    m = build(
        {"gitPassword": "tok"},
        git={"url": "https://x/y.git", "tag": "v1.2.0", "auth": {"type": "https", "username": "reader"}},
    )
    repo = find(m.source, "GitRepository", "flux-system")
    assert repo["spec"]["ref"] == {"tag": "v1.2.0"}
    assert find(m.source, "Secret", "flux-system")["stringData"] == {"username": "reader", "password": "tok"}


def test_await_leaves_the_flux_objects_to_the_wait_resource() -> None:
    # No pulumi.com/waitFor: the provider's await would wait for Ready whatever Flux says (flux_await.py).
    m = build(None, **{"await": {"kustomizations": True, "helmReleases": True, "timeout": "5m"}})
    release = find(m.blocks["portal"], "HelmRelease", "eoepca-portal")
    assert release["metadata"]["annotations"] == {
        "pulumi.com/patchForce": "true",  # drift correction takes declared fields back (manifests/drift.py)
    }
    assert build().blocks["portal"] == m.blocks["portal"]


def test_block_dependencies_become_flux_depends_on() -> None:
    m = build()
    release = find(m.blocks["portal"], "HelmRelease", "eoepca-portal")
    assert "dependsOn" not in release["spec"]  # base has no releases
    kustomization = find(m.blocks["portal"], "Kustomization", "portal")
    assert "dependsOn" not in kustomization["spec"]  # base has no kustomization


def test_overrides_change_version_and_merge_values() -> None:
    m = build(
        overrides={
            "portal": {
                "releases": {"eoepca-portal": {"version": "2.0.0", "values": {"ingress": {"tls": True}}}}
            }
        }
    )
    spec = find(m.blocks["portal"], "HelmRelease", "eoepca-portal")["spec"]
    assert spec["chart"]["spec"]["version"] == "2.0.0"
    assert spec["values"]["ingress"] == {"host": "eoepca-portal.10-0-0-1.nip.io", "tls": True}


def test_notifications_with_receiver() -> None:
    notifications = {
        "providers": [{"name": "teams", "type": "msteams", "addressSecret": "teamsUrl"}],
        "alerts": [
            {
                "name": "errors",
                "provider": "teams",
                "severity": "error",
                "eventSources": [{"kind": "Kustomization", "namespace": "rm"}],
            }
        ],
        "receiver": {"tokenSecret": "hookToken"},
    }
    m = build({"teamsUrl": "https://teams/x", "hookToken": "t"}, notifications=notifications)
    kinds = [(o["kind"], o["metadata"]["name"]) for o in m.notifications]
    assert kinds == [
        ("Secret", "teams-url"),
        ("Provider", "teams"),
        ("Alert", "errors"),
        ("Secret", "flux-webhook-token"),
        ("Receiver", "flux-webhook"),
    ]
    alert = find(m.notifications, "Alert", "errors")["spec"]
    assert alert["eventSources"] == [{"kind": "Kustomization", "name": "*", "namespace": "rm"}]
    receiver = find(m.notifications, "Receiver", "flux-webhook")["spec"]
    assert receiver["resources"] == [{"kind": "GitRepository", "name": "flux-system"}]
