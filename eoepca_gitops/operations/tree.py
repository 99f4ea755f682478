"""`tree`: what a block applied, as `flux tree kustomization` shows it: the objects the stack registers
for the block, a Kustomization down to what its inventory holds, a HelmRelease down to the objects of
the Helm release helm-controller made (the release Secret's manifest), each with its Ready state. A
HelmRelease that failed before any release shows where it stopped: its own reason, and no objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import PLURALS
from eoepca_gitops.manifests.stack import StackManifests
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.operations.inventory import (
    Ref,
    helm_release_ref,
    inventory_refs,
    manifest_refs,
    release_manifest,
)
from eoepca_gitops.operations.status import EXIT_ALL_READY, EXIT_NOT_READY, object_status

__all__ = ["Node", "Reader", "block_refs", "block_tree", "exit_code", "readiness", "stack_trees", "tree_text"]

#: Kinds whose Ready state object_status knows (the Flux kinds and a Deployment's Available).
_WITH_STATUS = (*PLURALS, "Deployment")


class Reader(Protocol):
    """What the tree reads of the cluster (eoepca_gitops.kube.cluster.ClusterAccess)."""

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Node:
    kind: str
    namespace: str
    name: str
    ready: str  # True | False | Unknown | Missing | Suspended
    reason: str = ""
    message: str = ""
    revision: str = ""
    note: str = ""  # why there is nothing below (no Helm release made, no inventory)
    children: tuple[Node, ...] = ()

    @property
    def ok(self) -> bool:
        return self.ready == "True"

    @property
    def label(self) -> str:
        return "/".join(p for p in (self.kind, self.namespace, self.name) if p)

    def descendants(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.descendants()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "ready": self.ready,
            "reason": self.reason,
            "message": self.message,
            "revision": self.revision,
            "note": self.note,
            "children": [c.to_json() for c in self.children],
        }


def readiness(kind: str, obj: Mapping[str, Any] | None) -> tuple[str, str, str, str]:
    """(ready, reason, message, revision): Flux's Ready, a Deployment's Available, a StatefulSet's or
    DaemonSet's ready replicas, another kind's Ready condition; an object without any is Ready once
    it exists (as kstatus counts it)."""
    if obj is None or kind in _WITH_STATUS:
        row = object_status(kind, "", "", obj)
        return row.ready, row.reason, row.message, row.revision
    status = obj.get("status") or {}
    if kind in ("StatefulSet", "DaemonSet"):
        want = status.get("replicas", status.get("desiredNumberScheduled", 0))
        have = status.get("readyReplicas", status.get("numberReady", 0))
        ready = "True" if (have or 0) >= (want or 0) else "False"
        return ready, "" if ready == "True" else "NotReady", f"{have or 0}/{want or 0} ready", ""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            return (
                str(cond.get("status", "Unknown")),
                str(cond.get("reason", "")),
                str(cond.get("message", "")),
                "",
            )
    return "True", "", "", ""


class _Tree:
    """Reads one node after another, each object once (a Kustomization may list what another applies)."""

    def __init__(self, reader: Reader, namespaced: Any) -> None:
        self.reader = reader
        self.namespaced = namespaced
        self.seen: set[tuple[str, str, str]] = set()

    def nodes(self, refs: Sequence[Ref]) -> tuple[Node, ...]:
        fresh = [r for r in refs if r.key not in self.seen]
        self.seen.update(r.key for r in fresh)
        # Reads of siblings overlap: a tree's time is its depth's, not its size's.
        with ThreadPoolExecutor(max_workers=8) as pool:
            return tuple(pool.map(self.node, fresh))

    def node(self, ref: Ref) -> Node:
        try:
            obj = self.reader.get(ref.api_version, ref.kind, ref.namespace, ref.name)
        except GitopsError as exc:
            return Node(ref.kind, ref.namespace, ref.name, "Unknown", "NotRead", str(exc))
        ready, reason, message, revision = readiness(ref.kind, obj)
        children: tuple[Node, ...] = ()
        note = ""
        if obj is not None and ref.kind == "Kustomization":
            children = self.nodes(inventory_refs(obj))
            note = "" if children else "nothing applied yet"
        elif obj is not None and ref.kind == "HelmRelease":
            children, note = self.helm_objects(obj)
        return Node(ref.kind, ref.namespace, ref.name, ready, reason, message, revision, note, children)

    def helm_objects(self, helm_release: Mapping[str, Any]) -> tuple[tuple[Node, ...], str]:
        release = helm_release_ref(helm_release)
        if release is None:
            return (), "no Helm release made: helm-controller stopped here"
        secret = self.reader.get("v1", "Secret", release.storage_namespace, release.secret)
        if secret is None:
            return (), f"Helm release {release.name} revision {release.revision}: its Secret is gone"
        refs = manifest_refs(release_manifest(secret), release.namespace, self.namespaced)
        return self.nodes(refs), ""


def block_refs(objects: Sequence[Mapping[str, Any]]) -> list[Ref]:
    """The objects the stack registers for a block, as references."""
    return [
        Ref(
            str(o["apiVersion"]),
            str(o["kind"]),
            str((o.get("metadata") or {}).get("namespace") or ""),
            str(o["metadata"]["name"]),
        )
        for o in objects
    ]


def block_tree(reader: Reader, block: str, objects: Sequence[Mapping[str, Any]], namespaced: Any) -> Node:
    """The block's tree; the block is Ready when everything below it is."""
    children = _Tree(reader, namespaced).nodes(block_refs(objects))
    bad = [n for c in children for n in c.descendants() if not n.ok]
    if not bad:
        return Node("Block", "", block, "True", children=children)
    return Node("Block", "", block, "False", "NotReady", f"{len(bad)} not Ready", children=children)


def exit_code(roots: Sequence[Node]) -> int:
    return EXIT_ALL_READY if all(n.ok for r in roots for n in r.descendants()) else EXIT_NOT_READY


def _line(node: Node) -> str:
    text = f"{node.label} [{node.ready}]"
    if node.revision:
        text += f" {node.revision}"
    if not node.ok and (node.reason or node.message):
        message = " ".join(node.message.split())
        text += f" {node.reason}: {message[:240]}" if node.reason else f" {message[:240]}"
    return text


def _lines(node: Node, prefix: str) -> Iterator[str]:
    below = [*node.children]
    for i, child in enumerate(below):
        last = i == len(below) - 1 and not node.note
        yield f"{prefix}{'└── ' if last else '├── '}{_line(child)}"
        yield from _lines(child, prefix + ("    " if last else "│   "))
    if node.note:
        yield f"{prefix}└── ({node.note})"


def tree_text(roots: Sequence[Node]) -> str:
    """The trees as `flux tree` draws them, each node with its Ready state (and, when not Ready, why)."""
    out: list[str] = []
    for root in roots:
        out.append(_line(root))
        out.extend(_lines(root, ""))
    return "\n".join(out)


def stack_trees(stack: Stack, manifests: StackManifests, block: str | None) -> list[Node]:
    """The tree of `block` (every block's when None) on the stack's cluster."""
    from eoepca_gitops.kube.cluster import ClusterAccess
    from eoepca_gitops.kube.resources import namespaced

    if block is not None and block not in manifests.blocks:
        known = ", ".join(manifests.blocks) or "none"
        raise GitopsError(f"stack {stack.name} has no block {block!r} (its blocks: {known})")
    access = ClusterAccess.for_stack(stack)
    names = [block] if block is not None else list(manifests.blocks)
    return [block_tree(access, name, manifests.blocks[name], namespaced) for name in names]
