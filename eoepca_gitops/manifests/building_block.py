"""One building block's objects: namespaces, Flux Kustomization, Helm sources and releases.

What Flux would have substituted into these objects (had they stayed in Git under the block's
Kustomization) the builder substitutes, with Flux's rules (fluxtree.envsubst) and the block's
variables (model/variables.py); the Kustomization itself carries its postBuild for Flux.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoepca_gitops.flux_apis import CURRENT
from eoepca_gitops.fluxtree.envsubst import substitute_object
from eoepca_gitops.manifests.sources import given, helm_repository, meta
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, HelmRelease, Kustomization
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.model.variables import block_variables, kustomization_substitute

__all__ = [
    "CHART_FIELDS",
    "COMPONENTS_DIR",
    "block_objects",
    "helm_release",
    "kustomization",
    "kustomization_id",
    "namespace",
]

#: Where the kustomize components of the blocks' Kustomizations live (clusters/components/<name>);
#: a Kustomization's path is always two levels below clusters/.
COMPONENTS_DIR = "../../components"

# Kustomization fields copied as the block says them (camelCase in the object), when given.
_KUSTOMIZATION_FIELDS = (
    "retry_interval",
    "timeout",
    "wait",
    "force",
    "target_namespace",
    "service_account_name",
    "kube_config",
    "decryption",
    "deletion_policy",
    "health_checks",
    "health_check_exprs",
    "name_prefix",
    "name_suffix",
    "common_metadata",
    "patches",
    "images",
)
_RELEASE_FIELDS = (
    "timeout",
    "release_name",
    "target_namespace",
    "storage_namespace",
    "service_account_name",
    "max_history",
    "persistent_client",
    "drift_detection",
    "install",
    "upgrade",
    "test",
    "rollback",
    "uninstall",
    "post_renderers",
    "common_metadata",
)
#: A release's settings of the HelmChart Flux makes for it: (model field, key in spec.chart.spec).
CHART_FIELDS = (
    ("chart_interval", "interval"),
    ("reconcile_strategy", "reconcileStrategy"),
    ("values_files", "valuesFiles"),
    ("ignore_missing_values_files", "ignoreMissingValuesFiles"),
    ("verify", "verify"),
)


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name)}


def kustomization_id(block: Block, flux_namespace: str) -> tuple[str, str]:
    """(namespace, name) of the block's Flux Kustomization."""
    k = block.kustomization
    return ((k and k.namespace) or flux_namespace, (k and k.name) or block.name)


def kustomization(
    block: Block, k: Kustomization, stack: Stack, apis: Mapping[str, str] = CURRENT
) -> dict[str, Any]:
    config = stack.config
    git_path = config.git.path.rstrip("/")
    path = k.path if k.path.startswith("./") else f"{git_path}/{k.path}"
    ns, name = kustomization_id(block, config.flux.namespace)
    source = (
        k.source_ref.model_dump(by_alias=True, exclude_none=True)
        if k.source_ref
        else {"kind": "GitRepository", "name": defaults.GIT_SOURCE_NAME}
    )
    if ns != config.flux.namespace and "namespace" not in source:
        source["namespace"] = config.flux.namespace
    spec: dict[str, Any] = {
        "interval": k.interval or defaults.KUSTOMIZATION_INTERVAL,
        "path": path,
        "prune": k.prune,
        "sourceRef": source,
        **given(k, _KUSTOMIZATION_FIELDS),
    }
    if k.components:
        spec["components"] = [f"{COMPONENTS_DIR}/{c}" for c in k.components]
    post: dict[str, Any] = {}
    if k.substitute:
        post["substitute"] = kustomization_substitute(k, config)
    if k.substitute_from:
        post["substituteFrom"] = [r.model_dump(by_alias=True, exclude_none=True) for r in k.substitute_from]
    if post:
        spec["postBuild"] = post
    # Declared either way: a `flux suspend` by hand is then drift the stack takes back.
    spec["suspend"] = k.suspend
    deps: list[dict[str, str]] = []
    for dep in (stack.catalog.get(d) for d in block.depends_on):
        if dep.kustomization:
            dep_ns, dep_name = kustomization_id(dep, config.flux.namespace)
            deps.append({"name": dep_name, **({"namespace": dep_ns} if dep_ns != ns else {})})
    deps += [r.model_dump(exclude_none=True) for r in k.depends_on]  # name and namespace: no alias
    if deps:
        spec["dependsOn"] = deps
    return {
        "apiVersion": apis["Kustomization"],
        "kind": "Kustomization",
        "metadata": meta(name, ns),
        "spec": spec,
    }


def _chart(release: HelmRelease) -> dict[str, Any]:
    """spec.chart (a chart in a source, the HelmChart's settings), or spec.chartRef (a source's whole)."""
    source = release.source_ref.model_dump(by_alias=True, exclude_none=True)
    if release.whole_chart:
        return {"chartRef": source}
    chart: dict[str, Any] = {
        "chart": release.chart,
        "version": release.version,
        "sourceRef": source,
    }
    for field, key in CHART_FIELDS:
        value = getattr(release, field)
        if value is not None and value != []:
            chart[key] = value
    return {"chart": {"spec": chart}}


def helm_release(
    block: Block, release: HelmRelease, stack: Stack, apis: Mapping[str, str] = CURRENT
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": release.interval or defaults.HELM_RELEASE_INTERVAL,
        **_chart(release),
        **given(release, _RELEASE_FIELDS),
    }
    depends = [r.model_dump(exclude_none=True) for r in release.depends_on]  # as deps above
    if block.releases_wait_for_dependencies:
        # A release waits for the releases of the blocks its block depends on.
        for dep in block.depends_on:
            for other in stack.catalog.get(dep).helm_releases:
                ref = {"name": other.name, "namespace": other.namespace}
                if ref not in depends:
                    depends.append(ref)
    if depends:
        spec["dependsOn"] = depends
    spec["suspend"] = release.suspend  # declared either way (see kustomization())
    if release.values:
        spec["values"] = release.values
    if release.values_from:
        spec["valuesFrom"] = release.values_from
    return {
        "apiVersion": apis["HelmRelease"],
        "kind": "HelmRelease",
        "metadata": meta(
            release.name, release.namespace, labels=release.labels, annotations=dict(release.annotations)
        ),
        "spec": spec,
    }


def block_objects(block: Block, stack: Stack, apis: Mapping[str, str] = CURRENT) -> list[dict[str, Any]]:
    """Namespaces first, then sources, the Kustomization and the releases: the order they can apply in."""
    variables = block_variables(block, stack.config).values
    objects = [namespace(ns) for ns in block.namespaces]
    objects += [helm_repository(repo, apis, stack.config.charts) for repo in block.helm_repositories]
    objects += [helm_release(block, release, stack, apis) for release in block.helm_releases]
    objects = [substitute_object(o, variables) for o in objects]
    if block.kustomization:
        # Flux's object: substituted by nothing, it carries the postBuild for what Flux applies.
        at = len(block.namespaces) + len(block.helm_repositories)
        objects.insert(at, kustomization(block, block.kustomization, stack, apis))
    return objects
