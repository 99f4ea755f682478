"""Secrets a stack makes from its own secret keys (`clusterSecrets`), and the public IP a cluster's
ingress can have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.flux_layer import check_git_layer
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model import load_stack
from eoepca_gitops.model.stack import Stack
from tests.helpers import FIXTURE_BLOCKS, FIXTURES, values

FILE = "Pulumi.test.yaml"
PROJECT = FIXTURES / "project"
MADE = [{"name": "portal-values", "namespace": "demo", "data": {"values.yaml": "portalValues"}}]


def load(v: dict[str, Any], secrets: dict[str, str] | None = None) -> Stack:
    secrets = secrets or {}
    return load_stack("test", {**v, **secrets}, set(secrets), FILE, FIXTURE_BLOCKS)


def test_a_cluster_secret_is_made_in_its_blocks_namespace_from_a_secret_key() -> None:
    stack = load(values(clusterSecrets=MADE), {"portalValues": "replicaCount: 2\n"})
    manifests = build_stack(stack, load_install_manifest(stack.config.flux, file=FILE, project=Path.cwd()))
    portal = manifests.blocks["portal"]
    made = next(o for o in portal if o["kind"] == "Secret")
    assert (made["metadata"]["namespace"], made["metadata"]["name"]) == ("demo", "portal-values")
    assert made["stringData"] == {"values.yaml": "replicaCount: 2\n"}
    # Registered after the namespace it lands in (eoepca_gitops' ObjectsComponent orders namespaces first).
    assert any(o["kind"] == "Namespace" and o["metadata"]["name"] == "demo" for o in portal)


def test_a_cluster_secret_outside_the_blocks_namespaces_goes_with_the_source() -> None:
    made = [{"name": "hook", "namespace": "flux-system", "data": {"address": "hookUrl"}}]
    stack = load(values(clusterSecrets=made), {"hookUrl": "https://hooks.example.org/x"})
    manifests = build_stack(stack, load_install_manifest(stack.config.flux, file=FILE, project=Path.cwd()))
    assert any(o["kind"] == "Secret" and o["metadata"]["name"] == "hook" for o in manifests.source)


def test_a_cluster_secrets_key_is_a_secret_the_stack_must_set() -> None:
    stack = load(values(clusterSecrets=MADE), {"portalValues": "x"})
    assert ("portalValues", "clusterSecrets[0].data.values.yaml") in stack.config.secret_refs()
    with pytest.raises(ConfigError, match="portalValues: missing secret"):
        load_stack("test", values(clusterSecrets=MADE), (), FILE, FIXTURE_BLOCKS)
    with pytest.raises(ConfigError, match="given in plain text where a secret is required"):
        load_stack("test", {**values(clusterSecrets=MADE), "portalValues": "x"}, (), FILE, FIXTURE_BLOCKS)


@pytest.mark.parametrize(
    ("made", "problem"),
    [
        ([{**MADE[0], "data": {}}], "at least 1 item"),
        ([{**MADE[0], "data": {"a b": "k"}}], "not a Secret data key"),
        ([MADE[0], MADE[0]], "the same Secret 'demo/portal-values'"),
        ([{**MADE[0], "namespace": "Demo"}], "not a DNS label"),
    ],
)
def test_a_bad_cluster_secret_is_refused(made: list[dict[str, Any]], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load(values(clusterSecrets=made), {"portalValues": "x"})


def test_the_git_layer_gate_takes_a_values_from_secret_the_stack_makes() -> None:
    stack = load(values(clusterSecrets=MADE), {"portalValues": "x"})
    install = load_install_manifest(stack.config.flux, file=FILE, project=Path.cwd())
    manifests = build_stack(stack, install)
    release = next(o for o in manifests.blocks["portal"] if o["kind"] == "HelmRelease")
    release["spec"]["valuesFrom"] = [{"kind": "Secret", "name": "portal-values"}]
    check_git_layer(stack, install, manifests, PROJECT, FILE)  # no refusal
    release["spec"]["valuesFrom"] = [{"kind": "Secret", "name": "nowhere"}]
    with pytest.raises(ConfigError, match=r"reads Secret demo/nowhere .*clusterSecrets"):
        check_git_layer(stack, install, manifests, PROJECT, FILE)


@pytest.mark.parametrize("ip", ["127.0.0.1", "192.168.49.2", "203.0.113.7", "100.64.0.1", "185.52.192.231"])
def test_an_ingress_ip_is_any_address_a_host_can_have(ip: str) -> None:
    assert load(values(cluster={"name": "test", "publicIp": ip})).config.cluster.public_ip == ip


@pytest.mark.parametrize(
    ("ip", "problem"),
    [
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "'this network'"),
        ("224.0.0.251", "multicast"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_an_ingress_ip_no_host_can_have_is_refused(ip: str, problem: str) -> None:
    with pytest.raises(
        ConfigError, match=f"cluster.publicIp: '{ip}' is not a usable unicast address.*{problem}"
    ):
        load(values(cluster={"name": "test", "publicIp": ip}))
