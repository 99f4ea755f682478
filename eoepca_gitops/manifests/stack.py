"""Every object one stack applies, grouped as the components register them.

The components, `render`, `diff` and the tests all call build_stack and read its groups: there is
no second implementation, and no object one of them shows that another leaves out. Two objects
that are the same Kubernetes object (kind, namespace, name) are refused: one would silently
replace the other in the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.flux_apis import api_versions
from eoepca_gitops.manifests import notifications as notif
from eoepca_gitops.manifests.building_block import block_objects
from eoepca_gitops.manifests.drift import apply_drift_policy
from eoepca_gitops.manifests.flux_install import build_flux_install
from eoepca_gitops.manifests.poller import poller_objects
from eoepca_gitops.manifests.sources import (
    bucket,
    bucket_secret_data,
    bucket_secret_name,
    git_auth_secret_data,
    git_repository,
    meta,
)
from eoepca_gitops.model import defaults
from eoepca_gitops.model.stack import Stack

__all__ = ["POLLER_CLUSTER_RULES", "StackManifests", "build_stack", "cluster_vars", "secret"]

# The in-cluster poller runs `pulumi up` of Flux's install (CRDs, ClusterRoles): full rights cluster-wide.
POLLER_CLUSTER_RULES = ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},)


def secret(name: str, namespace: str, string_data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(name, namespace),
        "type": "Opaque",
        "stringData": string_data,
    }


def configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, namespace), "data": data}


def cluster_vars(stack: Stack) -> dict[str, Any]:
    """The ConfigMap Flux substitutes the cluster's ${var}s from (a block Kustomization's substituteFrom)."""
    data = dict(sorted(stack.config.cluster.variables().items()))
    return configmap(defaults.CLUSTER_VARS_CONFIGMAP, stack.config.flux.namespace, data)


def variables_configmaps(stack: Stack) -> list[dict[str, Any]]:
    """The ConfigMaps of the stack's `variables`, which Kustomizations substitute from."""
    ns = stack.config.flux.namespace
    return [configmap(c.name, c.namespace or ns, dict(c.data)) for c in stack.config.variables]


@dataclass(frozen=True)
class StackManifests:
    flux: list[dict[str, Any]]
    source: list[dict[str, Any]]
    buckets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    blocks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    poller: list[dict[str, Any]] = field(default_factory=list)

    def groups(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(group, its objects) in apply order; a group is what one component registers."""
        return [
            ("flux-system", self.flux),
            ("source", self.source),
            *((f"buckets/{name}", objects) for name, objects in self.buckets.items()),
            *((f"blocks/{name}", objects) for name, objects in self.blocks.items()),
            ("notifications", self.notifications),
            ("poller", self.poller),
        ]

    def all(self) -> list[dict[str, Any]]:
        return [o for _, objects in self.groups() for o in objects]


# The stack key behind each group, for an error naming what to change.
_GROUP_KEYS = {
    "flux-system": "flux",
    "source": "git",  # and clusterSecrets outside the blocks' namespaces
    "buckets": "buckets",
    "blocks": "blocks",
    "notifications": "notifications",
    "poller": "poller",
}


def _each_object_once(manifests: StackManifests, file: str) -> None:
    seen: dict[tuple[str, str, str, str], str] = {}
    for group, objects in manifests.groups():
        for o in objects:
            meta = o["metadata"]
            ns = meta.get("namespace", "")
            identity = (o["apiVersion"].rpartition("/")[0], o["kind"], ns, meta["name"])
            if identity in seen:
                raise ConfigError(
                    file,
                    f"{defaults.CONFIG_NAMESPACE}:{_GROUP_KEYS[group.split('/')[0]]}",
                    f"{o['kind']} {ns + '/' if ns else ''}{meta['name']} is declared twice ({seen[identity]} "
                    f"and {group}): one would replace the other in the cluster",
                )
            seen[identity] = group


def build_stack(stack: Stack, install: Iterable[dict[str, Any]]) -> StackManifests:
    install = list(install)
    apis = api_versions(install)
    config = stack.config
    ns = config.flux.namespace
    secrets = {k: v.get_secret_value() for k, v in config.secrets.items()}

    source: list[dict[str, Any]] = []
    auth = git_auth_secret_data(config.git, secrets)
    if auth:
        source.append(secret(defaults.GIT_SOURCE_NAME, ns, auth))
    source.append(git_repository(config.git, ns, apis=apis))
    source.append(cluster_vars(stack))
    source += variables_configmaps(stack)

    buckets: dict[str, list[dict[str, Any]]] = {}
    for source_bucket in config.buckets:
        credentials = bucket_secret_data(source_bucket, secrets)
        objects = [secret(bucket_secret_name(source_bucket), ns, credentials)] if credentials else []
        buckets[source_bucket.name] = [*objects, bucket(source_bucket, ns, apis)]

    blocks = {block.name: block_objects(block, stack, apis) for block in stack.catalog.blocks}
    for made in config.cluster_secrets:
        # With the block that makes its namespace (registered after it), else with the source.
        owner = next((b.name for b in stack.catalog.blocks if made.namespace in b.namespaces), None)
        obj = secret(made.name, made.namespace, {k: secrets[key] for k, key in made.data.items()})
        (blocks[owner] if owner else source).append(obj)

    n = config.notifications
    notes: list[dict[str, Any]] = []
    for p in n.providers:
        if p.address_secret:
            notes.append(secret(notif.provider_secret_name(p), ns, {"address": secrets[p.address_secret]}))
        notes.append(notif.provider(p, ns, apis))
    notes += [notif.alert(a, ns, apis) for a in n.alerts]
    if n.receiver:
        notes.append(
            secret(notif.receiver_secret_name(n.receiver), ns, {"token": secrets[n.receiver.token_secret]})
        )
        notes.append(notif.receiver(n.receiver, ns, defaults.GIT_SOURCE_NAME, apis))

    poller: list[dict[str, Any]] = []
    if config.poller is not None:
        env_secrets = {env: secrets[key] for env, key in config.poller.secret_env.items()}
        # The poller reads the repository Flux reads (gitUrl defaults to git.url) with its credentials.
        poller = poller_objects(
            config.poller,
            env_secrets,
            cluster_rules=POLLER_CLUSTER_RULES,
            git_secret=git_auth_secret_data(config.git, secrets),
        )

    if not config.flux.enabled:
        # Flux undeployed: only what Flux does not own stays, so the workloads keep their namespaces.
        kept = {name: [o for o in objs if o["kind"] == "Namespace"] for name, objs in blocks.items()}
        manifests = StackManifests(flux=[], source=[], blocks=kept, poller=poller)
    else:
        manifests = StackManifests(
            flux=build_flux_install(install, config.flux),
            source=source,
            buckets=buckets,
            blocks=blocks,
            notifications=notes,
            poller=poller,
        )
    exemptions = [*config.drift_exempt, *(e for b in stack.catalog.blocks for e in b.drift_exempt)]
    file = stack.file_name
    _each_object_once(manifests, file)
    apply_drift_policy(manifests.all(), exemptions, file)
    return manifests
