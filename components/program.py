"""The Pulumi program: stack config -> validated model -> manifests -> components -> outputs.

`__main__.py` calls run(); nothing is registered until the whole stack has validated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import config as runtime_config

from components.bucket_source import BucketSource, BucketSourceArgs
from components.building_block import BuildingBlock, BuildingBlockArgs
from components.flux_await import FluxAwaitArgs
from components.flux_migration import FluxMigrationArgs
from components.flux_system import FluxSystem, FluxSystemArgs
from components.git_source import GitSource, GitSourceArgs
from components.notifications import Notifications, NotificationsArgs
from components.poller import Poller, PollerArgs
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import read_file
from eoepca_gitops.flux_apis import api_versions, crd_specs, storage_version
from eoepca_gitops.flux_layer import check_git_layer
from eoepca_gitops.manifests.awaited import awaited
from eoepca_gitops.manifests.flux_release import manifest_path, read_install_manifest
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import load_stack
from eoepca_gitops.model.stack import Stack, StackConfig
from eoepca_gitops.model.types import duration_seconds
from eoepca_gitops.upgrade.live import read_stack_cluster

__all__ = ["load_from_pulumi", "run"]


def _decode(value: Any) -> Any:
    # Pulumi hands structured config to programs as JSON text.
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_from_pulumi(project_dir: Path) -> Stack:
    prefix = f"{defaults.CONFIG_NAMESPACE}:"
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values = {k[len(prefix) :]: _decode(v) for k, v in raw.items() if k.startswith(prefix)}
    secret_keys = {
        k[len(prefix) :] for k in raw if k.startswith(prefix) and runtime_config.is_config_secret(k)
    }
    stack = pulumi.get_stack()
    return load_stack(
        stack, values, secret_keys, f"Pulumi.{stack}.yaml", project_dir / defaults.BLOCKS_DIR, project_dir
    )


def run(project_dir: Path) -> None:
    try:
        stack = load_from_pulumi(project_dir)
        file = f"Pulumi.{stack.name}.yaml"
        manifest = manifest_path(stack.config.flux, file=file, base_dir=project_dir)
        install = read_install_manifest(manifest)
        manifests = build_stack(stack, install)
        # What the cluster holds now: the upgrade's plan, and what it cannot migrate.
        live = read_stack_cluster(stack, install, pulumi.log.warn) if stack.config.flux.enabled else None
        # What Flux will apply from Git: API versions this Flux serves, references that resolve.
        plan = check_git_layer(stack, install, manifests, project_dir, file, pulumi.log.warn, live)
    except GitopsError as exc:
        # One clear line, before anything is registered: nothing changes on the cluster.
        # RunError is the SDK's way to fail a program with a message and no traceback.
        raise pulumi.RunError(str(exc)) from None
    config = stack.config

    provider_opts = pulumi.ResourceOptions()
    if config.kubeconfig or config.kube_context:
        # The loader resolved the path (relative to the project) and checked that it exists.
        provider = k8s.Provider(
            "cluster",
            kubeconfig=read_file(config.kubeconfig) if config.kubeconfig else None,
            context=config.kube_context,
        )
        provider_opts = pulumi.ResourceOptions(providers={"kubernetes": provider})

    after_flux = provider_opts
    sources: list[pulumi.Resource] = []
    if config.flux.enabled:
        if plan is not None and plan.steps:
            for line in plan.lines():  # preview names the upgrade, not only its changes
                pulumi.log.info(line)
        migration = FluxMigrationArgs(
            from_version=plan.from_release if plan else None,
            to_version=config.flux.version,
            storage={name: str(storage_version(spec)["name"]) for name, spec in crd_specs(install).items()},
            manifest=manifest,
            plan=plan.lines() if plan else ["the cluster was not read"],
            kubeconfig=config.kubeconfig,
            context=config.kube_context,
        )
        flux = FluxSystem(
            "flux",
            FluxSystemArgs(
                version=config.flux.version,
                namespace=config.flux.namespace,
                objects=manifests.flux,
                migration=migration,
            ),
            provider_opts,
        )
        after_flux = pulumi.ResourceOptions.merge(provider_opts, pulumi.ResourceOptions(depends_on=[flux]))
        source = GitSource(
            "source",
            GitSourceArgs(url=config.git.url or "", ref=config.git.ref(), objects=manifests.source),
            after_flux,
        )
        sources.append(source)
        for bucket in config.buckets:
            BucketSource(
                bucket.name,
                BucketSourceArgs(bucket.bucket_name, bucket.endpoint, manifests.buckets[bucket.name]),
                after_flux,
            )
        pulumi.export("fluxVersion", flux.version)
        pulumi.export("sourceUrl", source.url)
        pulumi.export("sourceRef", source.ref)
    apis = api_versions(install)
    blocks: dict[str, BuildingBlock] = {}
    for block in stack.catalog.blocks:
        # The same dependencies Flux gets as dependsOn order Pulumi's updates, across kinds.
        needs: list[pulumi.Resource] = [*sources, *(blocks[d] for d in block.depends_on)]
        blocks[block.name] = BuildingBlock(
            block.name,
            BuildingBlockArgs(
                objects=manifests.blocks[block.name],
                wait=_wait(block.name, manifests.blocks[block.name], config, apis),
            ),
            pulumi.ResourceOptions.merge(after_flux, pulumi.ResourceOptions(depends_on=needs)),
        )
    if manifests.notifications:
        Notifications("notifications", NotificationsArgs(objects=manifests.notifications), after_flux)
    if config.poller is not None:
        # The in-cluster poller (`eoepca-gitops:poller`) keeps this stack at its branch's head.
        Poller("poller", PollerArgs(config.poller, manifests.poller), provider_opts)

    domain = config.cluster.host_domain or ""  # the loader refused a stack without a public IP
    pulumi.export("kustomizations", [b.name for b in stack.catalog.blocks if b.kustomization])
    pulumi.export("helmReleases", sorted(r.name for b in stack.catalog.blocks for r in b.helm_releases))
    pulumi.export("ingressHosts", sorted(_ingress_hosts(manifests.all(), domain)))


def _wait(
    block: str, objects: list[dict[str, Any]], config: StackConfig, apis: dict[str, str]
) -> FluxAwaitArgs | None:
    """The block's wait for Flux when the stack awaits a kind it has (`await`), else None."""
    entries = awaited(objects, config.await_)
    if entries is None:
        return None
    return FluxAwaitArgs(
        block=block,
        objects=entries,
        apis=apis,
        timeout=float(duration_seconds(config.await_.timeout)),
        timeout_text=config.await_.timeout,
        kubeconfig=config.kubeconfig,
        context=config.kube_context,
    )


def _ingress_hosts(objects: list[dict[str, Any]], domain: str) -> set[str]:
    """Every host name under the cluster's domain that the HelmRelease values mention."""
    hosts: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for word in value.replace(",", " ").split():
                host = word.split("://")[-1].split("/")[0].split(":")[0]
                if host.endswith("." + domain):
                    hosts.add(host)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for obj in objects:
        if obj["kind"] == "HelmRelease":
            walk(obj["spec"].get("values", {}))
    return hosts
