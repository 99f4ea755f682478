"""Blocks say Flux's fields and Flux gets them as written; what Flux would substitute into the objects
Pulumi applies, the builders substitute with Flux's rules; what nothing sets is refused up front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.stack import StackManifests, build_stack
from eoepca_gitops.model import load_stack
from tests.helpers import values

RELEASE: dict[str, Any] = {
    "name": "grafana",
    "namespace": "monitoring",
    "annotations": {"reloader.stakater.com/auto": "true"},
    "labels": {"team": "obs"},
    "chart": "grafana",
    "version": "${grafana_version:=8.3.x}",
    "sourceRef": {"name": "grafana", "namespace": "flux-system"},
    "chartInterval": "12h",
    "reconcileStrategy": "Revision",
    "valuesFiles": ["values.yaml", "values-prod.yaml"],
    "interval": "30m",
    "storageNamespace": "monitoring",
    "serviceAccountName": "helm",
    "maxHistory": 2,
    "persistentClient": False,
    "driftDetection": {"mode": "warn"},
    "install": {"remediation": {"retries": 3}},
    "upgrade": {"cleanupOnFail": True},
    "test": {"enable": True},
    "rollback": {"recreate": True},
    "uninstall": {"keepHistory": False},
    "postRenderers": [{"kustomize": {"images": [{"name": "grafana", "newTag": "11.0.0"}]}}],
    "values": {
        "host": "grafana.${domain}",
        "replicas": "${replicas}",
        "env": "${env}",
        "panel": "$${__interval}",
    },
}


def _build(
    tmp: Path, blocks: list[dict[str, Any]], secrets: frozenset[str] = frozenset(), **changes: Any
) -> StackManifests:
    folder = tmp / "clusters" / "blocks"
    folder.mkdir(parents=True, exist_ok=True)
    for block in blocks:
        (folder / f"{block['name']}.yaml").write_text(yaml.safe_dump(block))
    config = values(blocks=[b["name"] for b in blocks], **changes)
    stack = load_stack("test", config | {s: "x" for s in secrets}, secrets, "Pulumi.test.yaml", folder)
    install = load_install_manifest(stack.config.flux, file="Pulumi.test.yaml", project=tmp)
    return build_stack(stack, install)


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _monitoring(**kustomization: Any) -> dict[str, Any]:
    return {
        "name": "monitoring",
        "kustomization": {"path": "monitoring", **kustomization},
        "helmReleases": [RELEASE],
    }


@pytest.mark.flux_manifests
def test_release_fields_go_to_flux_as_written_and_variables_as_flux_substitutes_them(tmp_path: Path) -> None:
    m = _build(
        tmp_path,
        [
            _monitoring(
                substitute={"replicas": "2"}, substituteFrom=[{"kind": "ConfigMap", "name": "settings"}]
            )
        ],
        variables=[{"name": "settings", "data": {"env": "prod"}}],
    )
    release = _find(m.blocks["monitoring"], "HelmRelease", "grafana")
    assert release["metadata"] == {
        "name": "grafana",
        "namespace": "monitoring",
        "labels": {"team": "obs"},
        "annotations": {"reloader.stakater.com/auto": "true", "pulumi.com/patchForce": "true"},
    }
    spec = release["spec"]
    assert spec["chart"]["spec"] == {
        "chart": "grafana",
        "version": "8.3.x",  # the default: nothing sets grafana_version
        "sourceRef": {"kind": "HelmRepository", "name": "grafana", "namespace": "flux-system"},
        "interval": "12h",
        "reconcileStrategy": "Revision",
        "valuesFiles": ["values.yaml", "values-prod.yaml"],
    }
    for key in (
        "storageNamespace",
        "serviceAccountName",
        "maxHistory",
        "driftDetection",
        "test",
        "postRenderers",
    ):
        assert spec[key] == RELEASE[key]
    assert spec["persistentClient"] is False
    # ${domain}: the cluster's; ${replicas}: the Kustomization's substitute (a number after
    # substitution, as Flux's YAML gives it); ${env}: the stack's ConfigMap; $$: a literal $
    assert spec["values"] == {
        "host": "grafana.10-0-0-1.nip.io",
        "replicas": 2,
        "env": "prod",
        "panel": "${__interval}",
    }
    settings = _find(m.source, "ConfigMap", "settings")
    assert settings["data"] == {"env": "prod"} and settings["metadata"]["namespace"] == "flux-system"


@pytest.mark.flux_manifests
def test_substitution_disabled_on_a_release_is_left_alone(tmp_path: Path) -> None:
    release = {**RELEASE, "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}}
    m = _build(tmp_path, [{"name": "monitoring", "helmReleases": [release]}])
    built = _find(m.blocks["monitoring"], "HelmRelease", "grafana")
    assert built["spec"]["values"]["env"] == "${env}"
    assert built["spec"]["chart"]["spec"]["version"] == "${grafana_version:=8.3.x}"


@pytest.mark.flux_manifests
def test_a_variable_nothing_sets_is_refused_naming_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _build(tmp_path, [_monitoring(substitute={"replicas": "2"})])
    assert info.value.key == "eoepca-gitops:overrides.monitoring.substitute"
    assert "block monitoring (HelmRelease grafana): uses ${env}, which neither" in info.value.message
    secret_ref = [{"kind": "Secret", "name": "cluster-secrets"}]
    with pytest.raises(ConfigError, match=r"only the cluster knows Secret/cluster-secrets"):
        _build(tmp_path / "s", [_monitoring(substitute={"replicas": "2"}, substituteFrom=secret_ref)])
    # the stack sets it for this cluster
    m = _build(
        tmp_path / "o",
        [_monitoring(substitute={"replicas": "2"})],
        overrides={"monitoring": {"substitute": {"env": "staging", "replicas": "1"}}},
    )
    release = _find(m.blocks["monitoring"], "HelmRelease", "grafana")
    assert (release["spec"]["values"]["env"], release["spec"]["values"]["replicas"]) == ("staging", 1)
    k = _find(m.blocks["monitoring"], "Kustomization", "monitoring")
    assert k["spec"]["postBuild"] == {"substitute": {"replicas": "1", "env": "staging"}}


@pytest.mark.flux_manifests
def test_kustomization_fields_identity_and_dependencies(tmp_path: Path) -> None:
    base = {"name": "base", "kustomization": {"path": "base", "name": "infra", "namespace": "ops"}}
    app = {
        "name": "app",
        "dependsOn": ["base"],
        "kustomization": {
            "path": "app",
            "interval": "5m",
            "targetNamespace": "apps",
            "serviceAccountName": "tenant",
            "kubeConfig": {"secretRef": {"name": "spoke"}},
            "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
            "namePrefix": "dev-",
            "commonMetadata": {"labels": {"env": "dev"}},
            "patches": [
                {"patch": "- op: remove\n  path: /spec/replicas\n", "target": {"kind": "Deployment"}}
            ],
            "images": [{"name": "app", "newTag": "1.2.3"}],
            "components": ["debug"],
            "healthCheckExprs": [{"apiVersion": "v1", "kind": "Pod", "current": "true"}],
            "dependsOn": [{"name": "cert-manager", "namespace": "ops"}],
        },
    }
    m = _build(tmp_path, [base, app])
    infra = _find(m.blocks["base"], "Kustomization", "infra")
    assert infra["metadata"]["namespace"] == "ops"
    # outside Flux's namespace, the stack's Git source is named with its namespace
    assert infra["spec"] == {
        "interval": "10m0s",
        "path": "./clusters/flux/base",
        "prune": True,
        "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"},
        "suspend": False,
    }
    spec = _find(m.blocks["app"], "Kustomization", "app")["spec"]
    assert spec["components"] == ["../../components/debug"]
    assert spec["dependsOn"] == [
        {"name": "infra", "namespace": "ops"},
        {"name": "cert-manager", "namespace": "ops"},
    ]
    for key in (
        "targetNamespace",
        "serviceAccountName",
        "kubeConfig",
        "decryption",
        "namePrefix",
        "patches",
        "images",
    ):
        assert spec[key] == app["kustomization"][key]  # type: ignore[index]
    # what a block leaves out, Flux defaults: no timeout, retryInterval, wait or postBuild of ours
    assert not {"timeout", "retryInterval", "wait", "postBuild"} & set(spec)


@pytest.mark.flux_manifests
def test_a_provider_reads_a_secret_the_cluster_has(tmp_path: Path) -> None:
    notifications = {
        "providers": [
            {"name": "slack", "type": "slack", "channel": "ops", "secretRef": "slack-url"},
            {"name": "teams", "type": "msteams", "addressSecret": "teamsUrl"},
        ],
        "alerts": [{"name": "all", "provider": "slack", "eventSources": [{"kind": "Kustomization"}]}],
    }
    m = _build(
        tmp_path,
        [_monitoring(substitute={"replicas": "2", "env": "x"})],
        frozenset({"teamsUrl"}),
        notifications=notifications,
    )
    assert _find(m.notifications, "Provider", "slack")["spec"] == {
        "type": "slack",
        "channel": "ops",
        "secretRef": {"name": "slack-url"},
    }
    assert {o["metadata"]["name"] for o in m.notifications if o["kind"] == "Secret"} == {"teams-url"}
    both = {"providers": [{"name": "p", "type": "slack", "secretRef": "a", "addressSecret": "b"}]}
    with pytest.raises(ConfigError, match="give addressSecret or secretRef, not both"):
        _build(tmp_path / "b", [], frozenset({"b"}), notifications=both)


def test_a_stack_without_its_public_ip_is_refused_for_a_deploy(tmp_path: Path) -> None:
    folder = tmp_path / "clusters" / "blocks"
    folder.mkdir(parents=True)
    with pytest.raises(ConfigError) as info:
        load_stack("test", values(blocks=[], cluster={"name": "test"}), (), "Pulumi.test.yaml", folder)
    assert info.value.key == "eoepca-gitops:cluster.publicIp"
    assert info.value.message == "missing required key: the cluster's public (ingress) IPv4 address"
    with pytest.raises(
        ConfigError, match="cluster-vars is the ConfigMap the stack makes of its cluster config"
    ):
        _build(tmp_path / "v", [], variables=[{"name": "cluster-vars", "data": {"a": "b"}}])


def test_two_blocks_cannot_share_a_kustomization(tmp_path: Path) -> None:
    a = {"name": "a", "kustomization": {"path": "a"}}
    b = {"name": "b", "kustomization": {"path": "b", "name": "a"}}
    with pytest.raises(ConfigError, match="Kustomization flux-system/a is block a's too") as info:
        _build(tmp_path, [a, b])
    assert info.value.file.endswith("b.yaml") and info.value.key == "kustomization.name"


@pytest.mark.flux_manifests
def test_a_chart_a_source_holds_whole(tmp_path: Path) -> None:
    """A release from an OCIRepository (or HelmChart) is Flux's spec.chartRef: no chart, no version."""
    release = {
        "name": "redis",
        "namespace": "db",
        "sourceRef": {"kind": "OCIRepository", "name": "redis-chart"},
    }
    m = _build(tmp_path, [{"name": "db", "helmReleases": [release]}])
    spec = _find(m.blocks["db"], "HelmRelease", "redis")["spec"]
    assert spec["chartRef"] == {"kind": "OCIRepository", "name": "redis-chart"} and "chart" not in spec
    with pytest.raises(
        ConfigError, match=r"helmReleases\[0\]\.version: a chart from an OCIRepository is the source's whole"
    ):
        _build(tmp_path / "c", [{"name": "db", "helmReleases": [{**release, "version": "1.0.0"}]}])
    with pytest.raises(ConfigError, match="no chart version to change"):
        _build(
            tmp_path / "o",
            [{"name": "db", "helmReleases": [release]}],
            overrides={"db": {"releases": {"redis": {"version": "2.0.0"}}}},
        )


@pytest.mark.flux_manifests
def test_a_kustomization_outside_fluxs_namespace_keeps_the_source_namespace_it_names(tmp_path: Path) -> None:
    ops = {
        "name": "ops",
        "kustomization": {
            "path": "ops",
            "namespace": "ops",
            "sourceRef": {"kind": "GitRepository", "name": "tools", "namespace": "tools"},
        },
    }
    spec = _find(_build(tmp_path, [ops]).blocks["ops"], "Kustomization", "ops")["spec"]
    assert spec["sourceRef"] == {"kind": "GitRepository", "name": "tools", "namespace": "tools"}


@pytest.mark.flux_manifests
def test_a_git_path_ending_in_slashes_joins_a_block_path_with_one(tmp_path: Path) -> None:
    git = {**values()["git"], "path": "./fleet/BOX//"}
    m = _build(tmp_path, [{"name": "base", "kustomization": {"path": "base"}}], git=git)
    assert _find(m.blocks["base"], "Kustomization", "base")["spec"]["path"] == "./fleet/BOX/base"
