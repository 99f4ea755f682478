"""Routing an import's objects (importer/route.py): each object the tree applies to a block's
declaration, a plain manifest, the stack's notifications, or left out with a report line. Each test
imports a small tree written by hand (tests/importer/trees.py: small_repository)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.importer.trees import declared, flux_kustomization, import_small

N = "notification.toolkit.fluxcd.io/v1beta3"
SETTINGS = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "web"},
    "data": {"color": "blue"},
}
# What the report says of every small tree: it has no install manifest and no recurring IP.
NO_INSTALL = "./clusters/home: no flux-system/gotk-components.yaml: the stack uses the default Flux"
NO_IP = (
    "Pulumi.home.yaml: no public IP recurs in the tree: set eoepca-gitops:cluster.publicIp "
    "(the stack is refused until then)"
)


def _namespace(name: str, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, **metadata}}


def test_a_namespace_of_a_name_only_is_declared_in_its_block(tmp_path: Path) -> None:
    out, _ = import_small(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "apps/ns.yaml": [_namespace("web")],
        },
    )
    assert declared(out, "apps") == {
        "name": "apps",
        "description": "Objects of the Flux Kustomization flux-system/apps.",
        "namespaces": ["web"],
        "kustomization": {"path": "apps", "interval": "10m"},
    }
    assert not (out / "clusters/flux/apps/namespace__cluster_web.yaml").exists()


@pytest.mark.flux_manifests
def test_a_namespace_with_labels_is_kept_as_a_plain_manifest(tmp_path: Path) -> None:
    out, result = import_small(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "apps/ns.yaml": [_namespace("web", labels={"team": "a"})],
        },
    )
    assert [str(item) for item in result.report] == [NO_INSTALL, NO_IP]
    assert declared(out, "apps") == {
        "name": "apps",
        "description": "Objects of the Flux Kustomization flux-system/apps.",
        "kustomization": {"path": "apps", "interval": "10m"},
    }
    kept = yaml.safe_load((out / "clusters/flux/apps/namespace__cluster_web.yaml").read_text())
    assert kept == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"labels": {"team": "a"}, "name": "web"},
    }


@pytest.mark.flux_manifests
def test_a_namespace_with_a_spec_is_kept_as_a_plain_manifest(tmp_path: Path) -> None:
    namespace = _namespace("web") | {"spec": {"finalizers": ["kubernetes"]}}
    out, result = import_small(
        tmp_path,
        {"clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")], "apps/ns.yaml": [namespace]},
    )
    assert [str(item) for item in result.report] == [NO_INSTALL, NO_IP]
    assert declared(out, "apps") == {
        "name": "apps",
        "description": "Objects of the Flux Kustomization flux-system/apps.",
        "kustomization": {"path": "apps", "interval": "10m"},
    }
    kept = yaml.safe_load((out / "clusters/flux/apps/namespace__cluster_web.yaml").read_text())
    assert kept == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "web"},
        "spec": {"finalizers": ["kubernetes"]},
    }


@pytest.mark.flux_manifests
def test_an_object_applied_again_is_left_out_and_the_objects_after_it_are_still_routed(
    tmp_path: Path,
) -> None:
    """Flux applies a folder's Namespaces first, its ConfigMaps before its sources: the repeated
    ConfigMap comes before the HelmRepository."""
    repository = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": "web"},
        "spec": {"interval": "1h", "url": "https://charts.example.org"},
    }
    out, result = import_small(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "clusters/home/more.yaml": [flux_kustomization("more", "./more")],
            "apps/settings.yaml": [SETTINGS],
            "more/settings.yaml": [SETTINGS, repository],
        },
    )
    assert [str(item) for item in result.report] == [
        NO_INSTALL,
        NO_IP,
        "more/settings.yaml:2: ConfigMap web/settings applied again (first by flux-system/apps); left out",
    ]
    assert declared(out, "more") == {
        "name": "more",
        "description": "Objects of the Flux Kustomization flux-system/more.",
        "kustomization": {"path": "more", "interval": "10m"},
        "helmRepositories": [
            {"name": "charts", "namespace": "web", "url": "https://charts.example.org", "interval": "1h"}
        ],
    }


def test_the_counts_are_of_the_kustomizations_beside_the_root_and_of_the_objects_lifted(
    tmp_path: Path,
) -> None:
    _, result = import_small(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "clusters/home/more.yaml": [flux_kustomization("more", "./more")],
            "apps/ns.yaml": [_namespace("web")],
            "apps/settings.yaml": [SETTINGS],
        },
    )
    assert result.counts == {"Flux Kustomizations (blocks)": 2, "lifted into block declarations": 1}


def test_a_provider_and_an_alert_of_the_tree_are_the_stacks_notifications(tmp_path: Path) -> None:
    provider = {
        "apiVersion": N,
        "kind": "Provider",
        "metadata": {"name": "slack", "namespace": "flux-system"},
        "spec": {"type": "slack", "channel": "ops", "address": "https://hooks.example.org/x"},
    }
    alert = {
        "apiVersion": N,
        "kind": "Alert",
        "metadata": {"name": "on-error", "namespace": "flux-system"},
        "spec": {
            "providerRef": {"name": "slack"},
            "eventSeverity": "error",
            "eventSources": [{"kind": "Kustomization", "name": "*"}],
        },
    }
    out, _ = import_small(tmp_path, {"clusters/home/notify.yaml": [provider, alert]})
    config = yaml.safe_load((out / "Pulumi.home.yaml").read_text())["config"]
    assert config["eoepca-gitops:notifications"] == {
        "providers": [
            {"name": "slack", "address": "https://hooks.example.org/x", "channel": "ops", "type": "slack"}
        ],
        "alerts": [
            {
                "name": "on-error",
                "provider": "slack",
                "severity": "error",
                "eventSources": [{"kind": "Kustomization", "name": "*"}],
            }
        ],
    }


def test_a_kustomization_whose_build_fields_cannot_be_kept_over_gits_objects_leaves_them_out(
    tmp_path: Path,
) -> None:
    """Its patch tests the annotations as Git has them: over the objects tagged by the import it
    fails, so the objects are written as Flux builds them and the block's Kustomization has no patches."""
    settings = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "web", "annotations": {"team": "a"}},
        "data": {"color": "blue"},
    }
    patch = {
        "patch": "- op: test\n  path: /metadata/annotations\n  value:\n    team: a\n",
        "target": {"kind": "ConfigMap"},
    }
    out, result = import_small(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps", patches=[patch])],
            "apps/settings.yaml": [settings],
        },
    )
    assert declared(out, "apps") == {
        "name": "apps",
        "description": "Objects of the Flux Kustomization flux-system/apps.",
        "kustomization": {"path": "apps", "interval": "10m"},
    }
    report = [str(item) for item in result.report]
    assert "./apps: Kustomization flux-system/apps: spec.patches applied at import" in report
    assert (
        "./apps: Kustomization flux-system/apps: its own build fields (targetNamespace, patches, ...) are "
        "applied at import: its manifests are written as built and the block's Kustomization leaves them out"
    ) in report


def _crd(name: str, **metadata: Any) -> dict[str, Any]:
    group, plural = name.split(".", 1)[1], name.split(".", 1)[0]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name, **metadata},
        "spec": {
            "group": group,
            "names": {"kind": plural.capitalize().rstrip("s"), "plural": plural},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        },
    }


@pytest.mark.flux_manifests
def test_a_crd_of_another_group_is_a_plain_manifest_not_one_of_fluxs_install(tmp_path: Path) -> None:
    out, result = import_small(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "apps/crd.yaml": [_crd("certificates.cert-manager.io")],
        },
    )
    assert result.counts == {"Flux Kustomizations (blocks)": 1, "lifted into block declarations": 0}
    assert [str(item) for item in result.report] == [NO_INSTALL, NO_IP]
    assert sorted(p.name for p in (out / "clusters/flux/apps").iterdir()) == [
        "customresourcedefinition__cluster_certificates.cert-manager.io.yaml",
        "kustomization.yaml",
    ]


@pytest.mark.flux_manifests
def test_fluxs_crds_and_the_objects_labelled_as_its_install_are_counted_and_left_out(
    tmp_path: Path,
) -> None:
    install = {"app.kubernetes.io/part-of": "flux", "app.kubernetes.io/instance": "flux-system"}
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "helm-controller", "namespace": "flux-system", "labels": install},
    }
    out, result = import_small(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "apps/flux.yaml": [_crd("helmreleases.helm.toolkit.fluxcd.io"), account],
            "apps/settings.yaml": [SETTINGS],
        },
    )
    assert result.counts == {
        "Flux Kustomizations (blocks)": 1,
        "Flux install objects (installed by the stack)": 2,
        "lifted into block declarations": 0,
    }
    assert [str(item) for item in result.report] == [NO_INSTALL, NO_IP]
    assert sorted(p.name for p in (out / "clusters/flux/apps").iterdir()) == [
        "configmap_web_settings.yaml",
        "kustomization.yaml",
    ]
