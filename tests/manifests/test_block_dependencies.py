"""Block dependencies become Flux `dependsOn`, exactly: a Kustomization waits for the Kustomizations of
the blocks its block depends on, a HelmRelease for their HelmReleases (after its own, none twice)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model import load_stack
from tests.helpers import values

pytestmark = pytest.mark.flux_manifests

BLOCKS = {
    # Helm repositories only: nothing to wait for.
    "base": """
        name: base
        namespaces: [common]
        helmRepositories:
          - {name: eoepca, namespace: common, url: https://eoepca.github.io/helm-charts}
    """,
    "infra": """
        name: infra
        namespaces: [infra]
        kustomization: {path: infra}
        helmReleases:
          - {name: db, namespace: infra, chart: postgres, version: 1.0.0,
             sourceRef: {kind: HelmRepository, name: eoepca, namespace: common}}
          - {name: cache, namespace: infra, chart: redis, version: 2.0.0,
             sourceRef: {kind: HelmRepository, name: eoepca, namespace: common}}
    """,
    "apps": """
        name: apps
        namespaces: [apps]
        dependsOn: [base, infra]
        kustomization: {path: apps}
        helmReleases:
          - name: web
            namespace: apps
            chart: web
            version: 3.0.0
            sourceRef: {kind: HelmRepository, name: eoepca, namespace: common}
            dependsOn: [{name: cache, namespace: infra}, {name: api}]
    """,
}
PATCH_FORCE = {"pulumi.com/patchForce": "true"}
SOURCE = {"kind": "HelmRepository", "name": "eoepca", "namespace": "common"}


@pytest.fixture
def apps(tmp_path: Path) -> list[dict[str, Any]]:
    for name, text in BLOCKS.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text))
    stack = load_stack("test", values(blocks=list(BLOCKS)), set(), "Pulumi.test.yaml", tmp_path)
    install = load_install_manifest(stack.config.flux, file="Pulumi.test.yaml", project=tmp_path)
    return build_stack(stack, install).blocks["apps"]


def test_a_kustomization_depends_on_the_kustomizations_of_its_blocks_dependencies(
    apps: list[dict[str, Any]],
) -> None:
    assert apps[1] == {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system", "annotations": PATCH_FORCE},
        "spec": {
            "interval": "10m0s",  # what the block leaves out (retryInterval, timeout, wait) Flux defaults
            "path": "./clusters/flux/apps",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "suspend": False,  # declared either way: a suspend by hand is drift
            "dependsOn": [{"name": "infra"}],  # base has no Kustomization
        },
    }


def test_a_release_depends_on_its_own_list_then_every_release_of_its_blocks_dependencies(
    apps: list[dict[str, Any]],
) -> None:
    assert apps[2] == {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "apps", "annotations": PATCH_FORCE},
        "spec": {
            "interval": "5m0s",
            "chart": {"spec": {"chart": "web", "version": "3.0.0", "sourceRef": SOURCE}},
            "dependsOn": [
                {"name": "cache", "namespace": "infra"},  # its own, not repeated from infra
                {"name": "api"},
                {"name": "db", "namespace": "infra"},
            ],
            "suspend": False,
        },
    }


def test_a_block_namespace_is_a_plain_namespace(apps: list[dict[str, Any]]) -> None:
    assert apps[0] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "apps", "annotations": PATCH_FORCE},
    }


def test_the_block_objects_in_apply_order(apps: list[dict[str, Any]]) -> None:
    assert [(o["kind"], o["metadata"]["name"]) for o in apps] == [
        ("Namespace", "apps"),
        ("Kustomization", "apps"),
        ("HelmRelease", "web"),
    ]


NAMED = {
    "infra": """
        name: infra
        kustomization: {path: infra, name: platform, namespace: infra}
        helmReleases:
          - {name: db, namespace: infra, chart: postgres, version: 1.0.0,
             sourceRef: {kind: HelmRepository, name: eoepca, namespace: common}}
    """,
    "apps": """
        name: apps
        dependsOn: [infra]
        releasesWaitForDependencies: false
        kustomization:
          path: apps
          dependsOn: [{name: extra}]
        helmReleases:
          - {name: web, namespace: apps, chart: web, version: 3.0.0,
             sourceRef: {kind: HelmRepository, name: eoepca, namespace: common},
             dependsOn: [{name: api}]}
    """,
    "jobs": """
        name: jobs
        dependsOn: [infra]
        kustomization: {path: jobs, namespace: infra}
    """,
}


@pytest.fixture
def named(tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    for name, text in {**NAMED, "base": BLOCKS["base"]}.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text))
    stack = load_stack("test", values(blocks=["base", *NAMED]), set(), "Pulumi.test.yaml", tmp_path)
    install = load_install_manifest(stack.config.flux, file="Pulumi.test.yaml", project=tmp_path)
    return build_stack(stack, install).blocks


def test_a_dependency_kustomization_is_named_as_declared_with_its_namespace_when_another(
    named: dict[str, list[dict[str, Any]]],
) -> None:
    [apps] = [o for o in named["apps"] if o["kind"] == "Kustomization"]
    # the dependency's Kustomization in its namespace, then the block's own list
    assert apps["spec"]["dependsOn"] == [{"name": "platform", "namespace": "infra"}, {"name": "extra"}]
    assert named["jobs"] == [
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "jobs", "namespace": "infra", "annotations": PATCH_FORCE},
            "spec": {
                "interval": "10m0s",
                "path": "./clusters/flux/jobs",
                "prune": True,
                # the Git source stays in Flux's namespace
                "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"},
                "suspend": False,
                "dependsOn": [{"name": "platform"}],  # the same namespace: not repeated
            },
        }
    ]


def test_releases_that_do_not_wait_for_the_blocks_dependencies_keep_their_own_list(
    named: dict[str, list[dict[str, Any]]],
) -> None:
    [web] = [o for o in named["apps"] if o["kind"] == "HelmRelease"]
    assert web["spec"]["dependsOn"] == [{"name": "api"}]
    [db] = [o for o in named["infra"] if o["kind"] == "HelmRelease"]
    assert "dependsOn" not in db["spec"]  # no dependencies: no empty list
