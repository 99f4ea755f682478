"""Gathering a stack's status: the stack's objects from its model, their state from the cluster,
its last update from Pulumi, and the poller's state when one keeps it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.manifests.poller import state_configmap
from eoepca_gitops.manifests.stack import StackManifests
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.operations.pulumi_cli import PulumiCli
from eoepca_gitops.operations.status import ClusterStatus, StackLayer, block_statuses, object_status
from eoepca_gitops.poller.state import StackState, StateStore, decode

__all__ = ["FluxObject", "collect", "flux_objects", "poller_states", "stack_layer"]

FluxObject = tuple[str, str, str, str]  # apiVersion, kind, namespace, name
_OPERATED = ("Kustomization", "HelmRelease")


def _ref(obj: dict[str, Any]) -> FluxObject:
    meta = obj["metadata"]
    return (str(obj["apiVersion"]), str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"]))


def flux_objects(
    manifests: StackManifests,
) -> tuple[list[FluxObject], FluxObject | None, dict[str, list[FluxObject]]]:
    """(controller Deployments, the GitRepository, block -> its Kustomization and HelmReleases)."""
    controllers = [_ref(o) for o in manifests.flux if o["kind"] == "Deployment"]
    source = next((_ref(o) for o in manifests.source if o["kind"] == "GitRepository"), None)
    blocks = {
        name: [_ref(o) for o in objs if o["kind"] in _OPERATED] for name, objs in manifests.blocks.items()
    }
    return controllers, source, blocks


def stack_layer(stack: str, project: Path, preview: bool, env: dict[str, str] | None = None) -> StackLayer:
    """The stack's last update (pulumi stack history), and with `preview` what an update would change."""
    pulumi = PulumiCli(stack, project, env)
    if missing := pulumi.available():
        return StackLayer(stack, error=missing)
    try:
        entries = pulumi.json("stack", "history", "--page-size", "1") or []
        planned = pulumi.json("preview") if preview else None
    except GitopsError as exc:
        return StackLayer(stack, error=str(exc))
    if not entries:
        return StackLayer(stack, result="never updated")
    last = entries[0]
    pending = None
    if planned is not None:
        pending = dict(Counter(s["op"] for s in planned.get("steps", []) if s["op"] != "same"))
    return StackLayer(
        stack,
        last_update=str(last.get("endTime") or last.get("startTime") or ""),
        result=str(last.get("result") or ""),
        revision=str((last.get("environment") or {}).get("git.head", "")),
        pending=pending,
    )


def poller_states(
    stack: Stack, access: ClusterAccess, state_file: Path | None
) -> dict[str, StackState] | None:
    """The states a poller keeps: in `state_file` when given, else in the ConfigMap of the stack's
    in-cluster poller; None when neither keeps the stack."""
    if state_file is not None:
        return StateStore.read(state_file)
    if stack.config.poller is None:
        return None
    p = stack.config.poller
    raw = _configmap_state(access, p.namespace, state_configmap(p))
    try:
        return decode(raw) if raw is not None else {}
    except ValueError as exc:
        raise GitopsError(f"configmap {p.namespace}/{state_configmap(p)}: unreadable state: {exc}") from None


def _poller_state(stack: Stack, access: ClusterAccess, state_file: Path | None) -> dict[str, Any] | None:
    states = poller_states(stack, access, state_file)
    if states is None:
        return None
    state = states.get(stack.name)
    if state is None:
        return {"stack": stack.name, "phase": "unknown", "note": "no state recorded for this stack yet"}
    data = state.to_json()
    return {
        k: data[k]
        for k in (
            "phase",
            "git_revision",
            "applied_revision",
            "last_error",
            "failures",
            "drift",
            "drift_items",
            "last_good_revision",
            "held_revision",
            "held_reason",
            "held_until",
        )
    }


def _configmap_state(access: ClusterAccess, namespace: str, name: str) -> Any:
    from eoepca_gitops.kube.state_configmap import ConfigMapBackend
    from eoepca_gitops.poller.log import log_event

    return ConfigMapBackend(access.client, namespace, name, log=log_event).load()


def collect(
    stack: Stack,
    manifests: StackManifests,
    project: Path,
    *,
    preview: bool = False,
    state_file: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
    access: ClusterAccess | None = None,
) -> ClusterStatus:
    """The status of both layers; a cluster that cannot be read (no `access` given: the stack's,
    which may have no kubeconfig) is said in the status, not raised."""
    controllers, source, blocks = flux_objects(manifests)
    progress(f"stack {stack.name}: pulumi stack history" + (" and preview" if preview else ""))
    # The Pulumi CLI takes most of a status's time: it runs while the cluster is read.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(stack_layer, stack.name, project, preview)
        try:
            access = access or ClusterAccess.for_stack(stack)
            progress("the cluster: Flux install, source, blocks")
            found = {
                (k, ns, n): access.get(api, k, ns, n)
                for api, k, ns, n in [*controllers, *(r for refs in blocks.values() for r in refs)]
            }
            source_obj = access.get(*source) if source else None
            namespace = access.get("v1", "Namespace", "", stack.config.flux.namespace)
            poller = _poller_state(stack, access, state_file)
        except GitopsError as exc:
            return ClusterStatus(pending.result(), stack.config.flux.version, (), None, (), error=str(exc))
        layer = pending.result()
    installed = (
        ((namespace or {}).get("metadata") or {}).get("labels", {}).get("app.kubernetes.io/version", "")
    )
    notes: tuple[str, ...] = ()
    if installed and installed != stack.config.flux.version:
        notes = (f"the cluster runs Flux {installed}; the stack says {stack.config.flux.version}",)
    return ClusterStatus(
        stack=layer,
        flux_version=installed or stack.config.flux.version,
        controllers=tuple(object_status(k, ns, n, found[(k, ns, n)]) for _, k, ns, n in controllers),
        source=object_status(source[1], source[2], source[3], source_obj) if source else None,
        blocks=block_statuses(
            [(b, [(k, ns, n) for _, k, ns, n in refs]) for b, refs in blocks.items()],
            found,
            {b.name: b.depends_on for b in stack.catalog.blocks},
        ),
        poller=poller,
        notes=notes,
    )
