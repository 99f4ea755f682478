"""`trace`: where an object came from, as `flux trace` answers it and one step further: the object,
the Helm release and HelmRelease that made it (helm-controller's labels, Helm's annotations), the
Kustomization that applied that (kustomize-controller's labels), its source and the revision it
applied; then the stack: the block and the Pulumi resource (its URN) that registered the first Flux
object of the chain, and the commit of the stack's last update. An object Pulumi registers itself
(the Flux install, the source, a block's Kustomization) traces to its Pulumi resource directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.manifests.identity import COMPONENT_TYPES, object_key, urn
from eoepca_gitops.manifests.stack import StackManifests
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.operations.changes import PROJECT
from eoepca_gitops.operations.inventory import helm_release_ref
from eoepca_gitops.operations.status import StackLayer
from eoepca_gitops.operations.tree import Reader, readiness

__all__ = ["KINDS", "Link", "Trace", "resolve_kind", "trace", "trace_stack", "trace_text"]

HELM_NAME, HELM_NAMESPACE = "helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace"
KS_NAME, KS_NAMESPACE = "kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace"
RELEASE_NAME, RELEASE_NAMESPACE = "meta.helm.sh/release-name", "meta.helm.sh/release-namespace"

# (apiVersion, Kind, plural, short names): what `trace KIND` accepts, as kubectl and flux spell it.
_SPELLINGS = (
    ("apps/v1", "Deployment", "deployments", "deploy"),
    ("apps/v1", "StatefulSet", "statefulsets", "sts"),
    ("apps/v1", "DaemonSet", "daemonsets", "ds"),
    ("v1", "Service", "services", "svc"),
    ("v1", "ConfigMap", "configmaps", "cm"),
    ("v1", "Secret", "secrets", ""),
    ("v1", "ServiceAccount", "serviceaccounts", "sa"),
    ("v1", "PersistentVolumeClaim", "persistentvolumeclaims", "pvc"),
    ("v1", "Namespace", "namespaces", "ns"),
    ("networking.k8s.io/v1", "Ingress", "ingresses", "ing"),
    ("batch/v1", "Job", "jobs", ""),
    ("batch/v1", "CronJob", "cronjobs", "cj"),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "helmreleases", "hr"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "kustomizations", "ks"),
    ("source.toolkit.fluxcd.io/v1", "GitRepository", "gitrepositories", ""),
    ("source.toolkit.fluxcd.io/v1", "HelmRepository", "helmrepositories", ""),
)
KINDS: Mapping[str, tuple[str, str]] = {
    spelling: (api_version, kind)
    for api_version, kind, *others in _SPELLINGS
    for spelling in (kind.lower(), *others)
    if spelling
}


def resolve_kind(kind: str, manifests: StackManifests) -> tuple[str, str]:
    """(apiVersion, Kind) of what the user typed; a Flux kind in the version the stack installs."""
    found = KINDS.get(kind.lower())
    if found is None:
        known = sorted({k for _, k in KINDS.values()})
        raise GitopsError(f"trace: unknown kind {kind!r} (one of: {', '.join(known)})")
    api_version, name = found
    for obj in manifests.all():  # the stack's own objects say which version of a Flux kind it serves
        if obj["kind"] == name:
            return str(obj["apiVersion"]), name
    return api_version, name


@dataclass(frozen=True)
class Link:
    """One object of the chain and why it is there."""

    role: str  # object | helm release | HelmRelease | Kustomization | source
    kind: str
    namespace: str
    name: str
    ready: str = ""
    reason: str = ""
    message: str = ""
    revision: str = ""  # the Git revision applied, the chart version installed, the artifact fetched


@dataclass(frozen=True)
class Trace:
    links: tuple[Link, ...]
    block: str = ""  # the block of the stack that registered the first object Pulumi manages
    group: str = ""  # flux-system | source | blocks/<name> | ...: the component that registered it
    urn: str = ""
    commit: str = ""  # the Git commit the chain applied (the Kustomization's, else the stack's update's)
    stack: StackLayer | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        return 0 if all(link.ready in ("True", "") for link in self.links) else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "object": asdict(self.links[0]),
            "chain": [asdict(link) for link in self.links],
            "block": self.block or None,
            "pulumi": {"urn": self.urn or None, "component": self.group or None},
            "commit": self.commit or None,
            "stack": asdict(self.stack) if self.stack else None,
            "notes": list(self.notes),
        }


def _link(role: str, api_kind: str, namespace: str, name: str, obj: Mapping[str, Any] | None) -> Link:
    ready, reason, message, revision = readiness(api_kind, obj)
    return Link(role, api_kind, namespace, name, ready, reason, message, revision)


def _registered(
    manifests: StackManifests, kind: str, namespace: str, name: str
) -> tuple[str, Mapping[str, Any]] | None:
    """(group, object) when the stack registers the object itself."""
    key = f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
    for group, objects in manifests.groups():
        for obj in objects:
            if object_key(obj) == key:
                return group, obj
    return None


def _owner(labels: Mapping[str, str], annotations: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(kind, namespace, name) of the Flux object that applied an object, from its labels."""
    if labels.get(HELM_NAME):
        return "HelmRelease", labels.get(HELM_NAMESPACE, ""), labels[HELM_NAME]
    if annotations.get(RELEASE_NAME):  # Helm's own mark: by convention the HelmRelease's name
        return "HelmRelease", annotations.get(RELEASE_NAMESPACE, ""), annotations[RELEASE_NAME]
    if labels.get(KS_NAME):
        return "Kustomization", labels.get(KS_NAMESPACE, ""), labels[KS_NAME]
    return None


def _api_version(manifests: StackManifests, kind: str) -> str:
    return resolve_kind(kind, manifests)[0]


def trace_stack(
    stack: Stack, manifests: StackManifests, project: Path, target: tuple[str, str, str, str]
) -> Trace:
    """`trace` on the stack's cluster; the stack's last update is read (Pulumi CLI) meanwhile."""
    from eoepca_gitops.kube.cluster import ClusterAccess
    from eoepca_gitops.operations.collect import stack_layer

    with ThreadPoolExecutor(max_workers=1) as pool:
        layer = pool.submit(stack_layer, stack.name, project, False)
        access = ClusterAccess.for_stack(stack)
        found = trace(access, manifests, stack.name, PROJECT, target)
        last = layer.result()
    # Pulumi applied what the stack registers: at the commit of its last update, unless Flux applied
    # the chain from Git (the Kustomization's revision).
    return replace(found, stack=last, commit=found.commit or (last.revision if found.urn else ""))


def trace(
    reader: Reader,
    manifests: StackManifests,
    stack: str,
    project: str,
    target: tuple[str, str, str, str],
) -> Trace:
    """The chain of `target` (apiVersion, kind, namespace, name) up to the stack."""
    api_version, kind, namespace, name = target
    obj = reader.get(api_version, kind, namespace, name)
    if obj is None:
        raise GitopsError(f"{kind} {namespace}/{name}: not in the cluster")
    links = [_link("object", kind, namespace, name, obj)]
    applied = ""
    for _ in range(8):  # a chain is short; a loop in the labels must not hang
        if (found := _registered(manifests, kind, namespace, name)) is not None:
            group, registered = found
            return Trace(
                tuple(links),
                block=group.removeprefix("blocks/") if group.startswith("blocks/") else "",
                group=group,
                urn=urn(stack, project, _component(group), registered),
                commit=applied,
            )
        meta = obj.get("metadata") or {}
        owner = _owner(meta.get("labels") or {}, meta.get("annotations") or {})
        if owner is None:
            break
        kind, namespace, name = owner
        obj = reader.get(_api_version(manifests, kind), kind, namespace, name)
        if kind == "HelmRelease" and obj is not None and (release := helm_release_ref(obj)):
            links.append(_helm_link(release))
        links.append(_link(kind, kind, namespace, name, obj))
        if obj is None:
            break
        if kind == "Kustomization":
            applied = applied or str((obj.get("status") or {}).get("lastAppliedRevision") or "")
            links.append(_source(reader, manifests, obj))
    notes = ("neither Flux nor this stack applied it as far as its labels tell",)
    return Trace(tuple(links), commit=applied, notes=notes)


def _helm_link(release: Any) -> Link:
    return Link(
        "helm release",
        "Release",
        release.namespace,
        release.name,
        revision=f"{release.revision}, chart {release.chart_version}",
    )


def _source(reader: Reader, manifests: StackManifests, kustomization: Mapping[str, Any]) -> Link:
    ref = (kustomization.get("spec") or {}).get("sourceRef") or {}
    kind = str(ref.get("kind") or "GitRepository")
    namespace = str(ref.get("namespace") or (kustomization.get("metadata") or {}).get("namespace") or "")
    name = str(ref.get("name") or "")
    try:
        api_version = _api_version(manifests, kind)
    except GitopsError:
        return Link("source", kind, namespace, name, "Unknown", "NotRead", f"no API known for {kind}")
    return _link("source", kind, namespace, name, reader.get(api_version, kind, namespace, name))


def _component(group: str) -> str:
    prefix = group.split("/", 1)[0]
    return COMPONENT_TYPES[
        {"flux-system": "flux", "blocks": "block", "buckets": "bucket"}.get(prefix, prefix)
    ]


def trace_text(t: Trace) -> str:
    """The chain as `flux trace` prints it: one object a paragraph, then the stack's part."""
    lines = []
    for link in t.links:
        where = "/".join(p for p in (link.namespace, link.name) if p)
        lines.append(f"{link.role:<14}{link.kind} {where}")
        if link.ready:
            state = link.ready
            if link.ready != "True" and (link.reason or link.message):
                state += f" {link.reason}: {' '.join(link.message.split())[:240]}"
            lines.append(f"{'  ready':<14}{state}")
        if link.revision:
            lines.append(f"{'  revision':<14}{link.revision}")
    lines.append(f"{'block':<14}{t.block or '-'}")
    lines.append(f"{'pulumi':<14}{t.urn or '- (not registered by the stack)'}")
    if t.stack is not None and not t.stack.error:
        lines.append(f"{'stack update':<14}{t.stack.result or '-'} {t.stack.last_update or ''}".rstrip())
    lines.append(f"{'commit':<14}{t.commit or '-'}")
    lines.extend(f"note: {n}" for n in t.notes)
    return "\n".join(lines)
