"""Assembling an import's blocks (importer/assemble.py): what a block's Kustomization keeps of the
tree's, what is lifted into its declaration or kept as a plain manifest, and what the report says
of each. Each test imports a small tree written by hand (tests/importer/trees.py: small_repository)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.importer.assemble import assemble, stack_config
from eoepca_gitops.importer.lift import Lifter
from eoepca_gitops.importer.report import Report, ReportItem
from eoepca_gitops.importer.route import BlockParts, Candidate, Forms, Origin, Routed
from tests.importer.trees import declared, flux_kustomization, import_small

# What the report says of every small tree: it has no install manifest and no recurring IP.
NO_INSTALL = "./clusters/home: no flux-system/gotk-components.yaml: the stack uses the default Flux"
NO_IP = (
    "Pulumi.home.yaml: no public IP recurs in the tree: set eoepca-gitops:cluster.publicIp "
    "(the stack is refused until then)"
)


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _repository(name: str = "charts", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": name, "namespace": "web"},
        "spec": {"interval": "1h", "url": "https://charts.example.org", **spec},
    }


def _release(name: str, metadata: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    chart = {"chart": name, "version": "1.0.0", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "web", **(metadata or {})},
        "spec": {"interval": "10m", "chart": {"spec": chart}, **spec},
    }


def _import(tmp_path: Path, files: dict[str, list[dict[str, Any]]]) -> tuple[Path, list[str]]:
    """(the project, the report's lines) of the small tree of `files` imported as stack home."""
    out, result = import_small(tmp_path, files)
    return out, [str(item) for item in result.report]


# --- what a block's Kustomization keeps of the tree's dependsOn


def test_a_dependency_in_the_tree_is_the_blocks_and_one_outside_stays_the_kustomizations(
    tmp_path: Path,
) -> None:
    out, _ = _import(
        tmp_path,
        {
            "clusters/home/infra.yaml": [flux_kustomization("infra", "./infra")],
            "clusters/home/apps.yaml": [
                flux_kustomization("apps", "./apps", dependsOn=[{"name": "infra"}, {"name": "elsewhere"}])
            ],
            "infra/ns.yaml": [_namespace("infra")],
            "apps/ns.yaml": [_namespace("web")],
        },
    )
    assert declared(out, "apps") == {
        "name": "apps",
        "description": "Objects of the Flux Kustomization flux-system/apps.",
        "namespaces": ["web"],
        "kustomization": {
            "path": "apps",
            "interval": "10m",
            "dependsOn": [{"name": "elsewhere"}],
        },
        "dependsOn": ["infra"],
        "releasesWaitForDependencies": False,
    }


def test_a_dependency_that_names_its_own_namespace_is_kept_as_written(tmp_path: Path) -> None:
    out, _ = _import(
        tmp_path,
        {
            "clusters/home/infra.yaml": [flux_kustomization("infra", "./infra")],
            "clusters/home/apps.yaml": [
                flux_kustomization(
                    "apps", "./apps", dependsOn=[{"name": "infra", "namespace": "flux-system"}]
                )
            ],
            "infra/ns.yaml": [_namespace("infra")],
            "apps/ns.yaml": [_namespace("web")],
        },
    )
    assert declared(out, "apps") == {
        "name": "apps",
        "description": "Objects of the Flux Kustomization flux-system/apps.",
        "namespaces": ["web"],
        "kustomization": {
            "path": "apps",
            "interval": "10m",
            "dependsOn": [{"name": "infra", "namespace": "flux-system"}],
        },
    }


# --- what the builders build differently


@pytest.mark.flux_manifests
def test_a_release_built_differently_is_kept_with_its_first_three_differences(tmp_path: Path) -> None:
    release = _release("site", metadata={"labels": {}}, values={})
    del release["spec"]["interval"]
    del release["spec"]["chart"]["spec"]["sourceRef"]["kind"]
    out, report = _import(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "apps/repo.yaml": [_repository()],
            "apps/site.yaml": [release],
        },
    )
    assert report == [
        NO_INSTALL,
        NO_IP,
        "apps/site.yaml:2: HelmRelease site: the block model cannot say it exactly ("
        "metadata.labels: only in original: {}; "
        "spec.chart.spec.sourceRef.kind: only in ours: 'HelmRepository'; "
        "spec.interval: only in ours: '5m0s'); kept as a plain manifest",
    ]
    assert (out / "clusters/flux/apps/helmrelease_web_site.yaml").is_file()


@pytest.mark.flux_manifests
def test_what_the_block_model_refuses_is_kept_as_written_not_a_traceback(tmp_path: Path) -> None:
    # Two releases of one name in two namespaces (EOEPCA's develop cluster: data-access in rm and in
    # rm-user1): the block names its releases uniquely (overrides name them), so the second Flux
    # applies (files in name order: site-user.yaml first) stays a plain manifest, said at its file.
    user = _release("site", metadata={"namespace": "user1"})
    out, report = _import(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "apps/repo.yaml": [_repository()],
            "apps/site.yaml": [_release("site")],
            "apps/site-user.yaml": [user],
        },
    )
    assert report[2:] == [
        "apps/site.yaml:2: HelmRelease site: block apps already declares a HelmRelease name "
        "'site'; kept as a plain manifest",
    ]
    assert [(r["name"], r["namespace"]) for r in declared(out, "apps")["helmReleases"]] == [("site", "user1")]
    assert (out / "clusters/flux/apps/helmrelease_web_site.yaml").is_file()


@pytest.mark.flux_manifests
def test_what_a_blocks_kustomization_says_beyond_the_trees_is_reported(tmp_path: Path) -> None:
    apps = flux_kustomization("apps", "./apps")
    del apps["spec"]["prune"]
    _, report = _import(tmp_path, {"clusters/home/apps.yaml": [apps], "apps/ns.yaml": [_namespace("web")]})
    assert report == [
        "./apps: Kustomization flux-system/apps: differs: spec.prune: only in ours: True",
        NO_INSTALL,
        NO_IP,
    ]


@pytest.mark.flux_manifests
def test_a_waiting_kustomization_says_its_releases_are_applied_by_pulumi_now(tmp_path: Path) -> None:
    _, report = _import(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps", wait=True)],
            "apps/ns.yaml": [_namespace("web")],
            "apps/repo.yaml": [_repository()],
            "apps/site.yaml": [_release("site"), _release("shop")],
        },
    )
    assert report == [
        "./apps: Kustomization flux-system/apps waits for what it applies; its HelmReleases shop, site "
        "are applied by Pulumi now, so what depends on it no longer waits for them through it",
        NO_INSTALL,
        NO_IP,
    ]


@pytest.mark.flux_manifests
def test_a_kustomization_with_health_checks_waits_too(tmp_path: Path) -> None:
    checks = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "site", "namespace": "web"}]
    _, report = _import(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps", healthChecks=checks)],
            "apps/repo.yaml": [_repository()],
            "apps/site.yaml": [_release("site")],
        },
    )
    assert report == [
        "./apps: Kustomization flux-system/apps waits for what it applies; its HelmReleases site "
        "are applied by Pulumi now, so what depends on it no longer waits for them through it",
        NO_INSTALL,
        NO_IP,
    ]


@pytest.mark.flux_manifests
def test_a_kustomization_that_does_not_wait_says_nothing_of_its_releases(tmp_path: Path) -> None:
    _, report = _import(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "apps/repo.yaml": [_repository()],
            "apps/site.yaml": [_release("site")],
        },
    )
    assert report == [NO_INSTALL, NO_IP]


def test_a_block_without_a_kustomization_does_not_end_the_notes_of_the_blocks_after_it() -> None:
    """assemble() as route() would never call it: a block of the root's sub-folder before one with
    a Kustomization, whose difference (no prune in the tree) is still said."""
    apps = flux_kustomization("apps", "./apps")
    del apps["spec"]["prune"]
    web = _namespace("web")
    routed = Routed(
        "flux-system",
        {
            "home-extra": BlockParts("home-extra", "Objects of clusters/home/extra."),
            "apps": BlockParts(
                "apps", "Objects of the Flux Kustomization flux-system/apps.", "flux-system/apps"
            ),
        },
        {"flux-system/apps": Origin(apps, "apps", None, (), False, None, ())},
        [
            Candidate("home-extra", "flux-system/apps", Forms(web, web, web), "extra/ns.yaml", 1),
        ],
    )
    config = stack_config(
        {"cluster": {"name": "home", "publicIp": "192.0.2.1"}, "git": {"url": "https://git.example.org/f"}},
        "Pulumi.home.yaml",
    )
    report = Report()
    blocks, _ = assemble("home", routed, Lifter(None, None), "flux-system", config, (), report)
    assert [b.block.name for b in blocks] == ["home-extra", "apps"]
    assert report.items == [
        ReportItem("./apps", 0, "Kustomization flux-system/apps: differs: spec.prune: only in ours: True")
    ]


# --- the block file


def test_a_values_key_written_as_a_number_is_declared_as_the_text_kubernetes_reads(tmp_path: Path) -> None:
    """kustomize refuses a number as a key (the files are then read one by one); the block file says
    the key as text, as Kubernetes' YAML-to-JSON reads it: '80', not 80."""
    out, _ = _import(
        tmp_path,
        {
            "clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")],
            "apps/site.yaml": [_repository(), _release("site", values={"ports": {80: "http"}})],
        },
    )
    assert declared(out, "apps")["helmReleases"][0]["values"] == {"ports": {"80": "http"}}
    assert "      '80': http\n" in (out / "clusters/blocks/apps.yaml").read_text()
