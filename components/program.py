"""The Pulumi program: stack config -> validated model -> manifests -> components -> outputs.

`__main__.py` hands run() to `pulumi.run`. The Kubernetes provider is registered as soon as the stack's
config has validated, so the engine starts it while the rest is built in a thread; nothing else is
registered until the whole stack has validated.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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
from eoepca_gitops.manifests.prepared import Prepared, prepare
from eoepca_gitops.manifests.stack import StackManifests
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import load_stack
from eoepca_gitops.model.stack import Stack, StackConfig
from eoepca_gitops.model.types import duration_seconds
from eoepca_gitops.project import stack_file_name
from eoepca_gitops.upgrade.live import read_stack_cluster
from eoepca_gitops.upgrade.plan import UpgradePlan, plan_upgrade

__all__ = ["load_from_pulumi", "run"]

T = TypeVar("T")


def _decode(value: Any) -> Any:
    # Pulumi hands structured config to programs as JSON text.
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def load_from_pulumi(project: Path) -> Stack:
    prefix = f"{defaults.CONFIG_NAMESPACE}:"
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values = {k[len(prefix) :]: _decode(v) for k, v in raw.items() if k.startswith(prefix)}
    secret_keys = {
        k[len(prefix) :] for k in raw if k.startswith(prefix) and runtime_config.is_config_secret(k)
    }
    name = pulumi.get_stack()
    return load_stack(
        name, values, secret_keys, stack_file_name(name), project / defaults.BLOCKS_DIR, project
    )


async def run(project: Path) -> None:
    loaded = _validated(lambda: load_from_pulumi(project))
    provider_opts = _provider_opts(loaded.config)
    # The engine starts a provider only when its first resource arrives, and nothing is sent while
    # the program computes on the event loop's thread: the provider starts during this await.
    prepared, plan = await asyncio.to_thread(_validated, lambda: _prepare(project, loaded))
    stack, manifests = prepared.stack, prepared.manifests
    after_flux = provider_opts
    sources: list[pulumi.Resource] = []
    if stack.config.flux.enabled:
        flux = _flux(prepared, plan, provider_opts)
        after_flux = pulumi.ResourceOptions.merge(provider_opts, pulumi.ResourceOptions(depends_on=[flux]))
        sources.append(_sources(stack.config, manifests, after_flux))
    _blocks(stack, manifests, api_versions(prepared.install), sources, after_flux)
    if manifests.notifications:
        Notifications("notifications", NotificationsArgs(objects=manifests.notifications), after_flux)
    if stack.config.poller is not None:
        # The in-cluster poller (`eoepca-gitops:poller`) keeps this stack at its branch's head.
        Poller("poller", PollerArgs(stack.config.poller, manifests.poller), provider_opts)

    domain = stack.config.cluster.host_domain or ""  # the loader refused a stack without a public IP
    pulumi.export("kustomizations", [b.name for b in stack.catalog.blocks if b.kustomization])
    pulumi.export("helmReleases", sorted(r.name for b in stack.catalog.blocks for r in b.helm_releases))
    pulumi.export("ingressHosts", sorted(_ingress_hosts(manifests.all(), domain)))


def _validated(step: Callable[[], T]) -> T:
    try:
        return step()
    except GitopsError as exc:
        # One clear line, before anything that acts on the cluster is registered.
        # RunError is the SDK's way to fail a program with a message and no traceback.
        raise pulumi.RunError(str(exc)) from None


def _prepare(project: Path, stack: Stack) -> tuple[Prepared, UpgradePlan | None]:
    """The stack built, and the upgrade of the live cluster's Flux (None when it was not read)."""
    if pin := os.environ.get(defaults.PIN_COMMIT):  # a roll-back holds Flux's source at a commit
        stack = stack.pinned(pin)
    prepared = prepare(stack, project)
    stack, install = prepared.stack, prepared.install
    plan = _plan_upgrade(stack, install)
    # What Flux will apply from Git: API versions this Flux serves, references that resolve.
    check_git_layer(stack, install, prepared.manifests, project, stack.file, pulumi.log.warn, plan)
    return prepared, plan


def _plan_upgrade(stack: Stack, install: tuple[dict[str, Any], ...]) -> UpgradePlan | None:
    """What the cluster holds now: the upgrade's plan (checked with the Git layer for what it cannot
    migrate); None when the stack leaves Flux alone or the cluster could not be read."""
    live = read_stack_cluster(stack, install, pulumi.log.warn) if stack.config.flux.enabled else None
    return plan_upgrade(live, install, stack.config.flux.version) if live is not None else None


def _provider_opts(config: StackConfig) -> pulumi.ResourceOptions:
    if not (config.kubeconfig or config.kube_context):
        return pulumi.ResourceOptions()
    # The loader resolved the path (relative to the project) and checked that it exists.
    provider = k8s.Provider(
        "cluster",
        kubeconfig=read_file(config.kubeconfig) if config.kubeconfig else None,
        context=config.kube_context,
    )
    return pulumi.ResourceOptions(providers={"kubernetes": provider})


def _flux(prepared: Prepared, plan: UpgradePlan | None, opts: pulumi.ResourceOptions) -> FluxSystem:
    """Flux itself, upgraded from what the cluster runs as the plan says."""
    config = prepared.stack.config
    if plan is not None and plan.steps:
        for line in plan.lines():  # preview names the upgrade, not only its changes
            pulumi.log.info(line)
    migration = FluxMigrationArgs(
        from_version=plan.from_release if plan else None,
        to_version=config.flux.version,
        storage={
            name: str(storage_version(spec)["name"]) for name, spec in crd_specs(prepared.install).items()
        },
        manifest=prepared.manifest,
        plan=plan.lines() if plan else ["the cluster was not read"],
        kubeconfig=config.kubeconfig,
        context=config.kube_context,
    )
    flux = FluxSystem(
        "flux",
        FluxSystemArgs(
            version=config.flux.version,
            namespace=config.flux.namespace,
            objects=prepared.manifests.flux,
            migration=migration,
        ),
        opts,
    )
    pulumi.export("fluxVersion", flux.version)
    return flux


def _sources(config: StackConfig, manifests: StackManifests, after_flux: pulumi.ResourceOptions) -> GitSource:
    """The stack's GitRepository (what the blocks wait for) and its Buckets."""
    source = GitSource(
        "source",
        GitSourceArgs(url=config.git.url or "", ref=config.git.ref(), objects=manifests.source),
        after_flux,
    )
    for bucket in config.buckets:
        BucketSource(
            bucket.name,
            BucketSourceArgs(bucket.bucket_name, bucket.endpoint, manifests.buckets[bucket.name]),
            after_flux,
        )
    pulumi.export("sourceUrl", source.url)
    pulumi.export("sourceRef", source.ref)
    return source


def _blocks(
    stack: Stack,
    manifests: StackManifests,
    apis: dict[str, str],
    sources: list[pulumi.Resource],
    after_flux: pulumi.ResourceOptions,
) -> None:
    blocks: dict[str, BuildingBlock] = {}
    for block in stack.catalog.blocks:
        # The same dependencies Flux gets as dependsOn order Pulumi's updates, across kinds.
        needs: list[pulumi.Resource] = [*sources, *(blocks[d] for d in block.depends_on)]
        blocks[block.name] = BuildingBlock(
            block.name,
            BuildingBlockArgs(
                objects=manifests.blocks[block.name],
                wait=_wait(block.name, manifests.blocks[block.name], stack.config, apis),
            ),
            pulumi.ResourceOptions.merge(after_flux, pulumi.ResourceOptions(depends_on=needs)),
        )


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
