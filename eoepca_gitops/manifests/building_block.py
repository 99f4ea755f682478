"""One building block's objects: namespaces, Flux Kustomization, Helm sources and releases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoepca_gitops.flux_apis import CURRENT
from eoepca_gitops.manifests.sources import helm_repository, meta
from eoepca_gitops.manifests.substitution import substitute
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, HelmRelease, Kustomization
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.model.types import duration_seconds

__all__ = ["block_objects", "helm_release", "kustomization", "namespace"]


def _wait_for(enabled: bool, timeout: str) -> dict[str, str]:
    """Pulumi's await of Flux's Ready; never on a suspended object, which no controller reports on."""
    if not enabled:
        return {}
    return {"pulumi.com/waitFor": defaults.WAIT_FOR_READY, "pulumi.com/timeoutSeconds": timeout}


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name)}


def kustomization(
    block: Block, k: Kustomization, stack: Stack, apis: Mapping[str, str] = CURRENT
) -> dict[str, Any]:
    config = stack.config
    git_path = config.git.path.rstrip("/")
    path = k.path if k.path.startswith("./") else f"{git_path}/{k.path}"
    spec: dict[str, Any] = {
        "interval": k.interval or defaults.KUSTOMIZATION_INTERVAL,
        "retryInterval": k.retry_interval or defaults.KUSTOMIZATION_RETRY_INTERVAL,
        "timeout": k.timeout or defaults.KUSTOMIZATION_TIMEOUT,
        "path": path,
        "prune": k.prune,
        "wait": k.wait,
        "sourceRef": {"kind": "GitRepository", "name": defaults.GIT_SOURCE_NAME},
        "postBuild": {
            "substituteFrom": [{"kind": "ConfigMap", "name": defaults.CLUSTER_VARS_CONFIGMAP}],
        },
    }
    if k.substitute:
        spec["postBuild"]["substitute"] = substitute(dict(k.substitute), config.cluster.variables())
    if k.target_namespace:
        spec["targetNamespace"] = k.target_namespace
    if k.health_checks:
        spec["healthChecks"] = k.health_checks
    # Declared either way: a `flux suspend` by hand is then drift the stack takes back.
    spec["suspend"] = k.suspend
    deps = [d for d in block.depends_on if stack.catalog.get(d).kustomization]
    if deps:
        spec["dependsOn"] = [{"name": d} for d in deps]
    annotations = _wait_for(
        config.await_.kustomizations and not k.suspend, str(duration_seconds(config.await_.timeout))
    )
    return {
        "apiVersion": apis["Kustomization"],
        "kind": "Kustomization",
        "metadata": meta(block.name, config.flux.namespace, annotations=annotations),
        "spec": spec,
    }


def helm_release(
    block: Block, release: HelmRelease, stack: Stack, apis: Mapping[str, str] = CURRENT
) -> dict[str, Any]:
    config = stack.config
    variables = config.cluster.variables()
    source: dict[str, Any] = {"kind": release.source_ref.kind, "name": release.source_ref.name}
    if release.source_ref.namespace:
        source["namespace"] = release.source_ref.namespace
    spec: dict[str, Any] = {
        "interval": release.interval or defaults.HELM_RELEASE_INTERVAL,
        "chart": {"spec": {"chart": release.chart, "version": release.version, "sourceRef": source}},
    }
    for key, value in (
        ("timeout", release.timeout),
        ("releaseName", release.release_name),
        ("targetNamespace", release.target_namespace),
        ("install", release.install),
        ("upgrade", release.upgrade),
    ):
        if value:
            spec[key] = value
    # Blocks depend on blocks: a release waits for the releases of the blocks its block depends on.
    depends = [
        {"name": d.name, **({"namespace": d.namespace} if d.namespace else {})} for d in release.depends_on
    ]
    for dep in block.depends_on:
        for other in stack.catalog.get(dep).helm_releases:
            ref = {"name": other.name, "namespace": other.namespace}
            if ref not in depends:
                depends.append(ref)
    if depends:
        spec["dependsOn"] = depends
    spec["suspend"] = release.suspend  # declared either way (see kustomization())
    if release.values:
        spec["values"] = substitute(release.values, variables)
    if release.values_from:
        spec["valuesFrom"] = release.values_from
    annotations = _wait_for(
        config.await_.helm_releases and not release.suspend, str(duration_seconds(config.await_.timeout))
    )
    return {
        "apiVersion": apis["HelmRelease"],
        "kind": "HelmRelease",
        "metadata": meta(release.name, release.namespace, annotations=annotations),
        "spec": spec,
    }


def block_objects(block: Block, stack: Stack, apis: Mapping[str, str] = CURRENT) -> list[dict[str, Any]]:
    """Namespaces first, then sources, the Kustomization and the releases: the order they can apply in."""
    objects = [namespace(ns) for ns in block.namespaces]
    objects += [helm_repository(repo, apis, stack.config.charts) for repo in block.helm_repositories]
    if block.kustomization:
        objects.append(kustomization(block, block.kustomization, stack, apis))
    objects += [helm_release(block, release, stack, apis) for release in block.helm_releases]
    return objects
