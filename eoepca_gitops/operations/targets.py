"""Which Flux objects a command about a stack, a block or one object concerns (`logs`, `events`).

A stack's Flux objects are its sources, each block's Kustomization and HelmReleases, and the
HelmChart source-controller makes for each HelmRelease (`<namespace>-<name>` in its source's
namespace): what a `flux` user would look at when a release fails, its chart included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import PLURALS
from eoepca_gitops.manifests.stack import StackManifests

__all__ = ["Target", "select"]

Target = tuple[str, str, str]  # kind, namespace, name


def _ref(obj: Mapping[str, Any]) -> Target:
    meta = obj["metadata"]
    return str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"])


def _with_charts(objects: Iterable[Mapping[str, Any]]) -> list[Target]:
    out: list[Target] = []
    for obj in objects:
        if obj.get("kind") not in PLURALS:
            continue
        kind, namespace, name = _ref(obj)
        out.append((kind, namespace, name))
        if kind == "HelmRelease":
            source = (((obj.get("spec") or {}).get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
            out.append(("HelmChart", str(source.get("namespace") or namespace), f"{namespace}-{name}"))
    return out


def select(
    manifests: StackManifests,
    stack: str,
    block: str | None = None,
    kind: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
) -> list[Target]:
    """Every Flux object of the stack; a block's; or the object of that kind and name (in `namespace`,
    else the stack's one of that kind and name)."""
    if block is not None and (kind or name):
        raise GitopsError("give --block, or --kind and --name, not both")
    if namespace and not (kind and name):
        raise GitopsError("--namespace names the namespace of --kind and --name")
    if block is not None:
        if block not in manifests.blocks:
            enabled = ", ".join(manifests.blocks) or "none"
            raise GitopsError(f"stack {stack} has no block {block!r} enabled (enabled: {enabled})")
        return _with_charts(manifests.blocks[block])
    objects = [*manifests.source, *(o for objs in manifests.blocks.values() for o in objs)]
    if kind is None and name is None:
        return _with_charts(objects)
    if not (kind and name):
        raise GitopsError("--kind and --name go together")
    kinds = {k.lower(): k for k in PLURALS}
    if kind.lower() not in kinds:
        raise GitopsError(f"--kind {kind}: not a Flux kind (one of {', '.join(PLURALS)})")
    kind = kinds[kind.lower()]
    found = [o for o in objects if _ref(o)[0] == kind and _ref(o)[2] == name]
    found = [o for o in found if not namespace or _ref(o)[1] == namespace]
    if namespace and not found:  # not the stack's: Flux applied it from Git, say
        return [(kind, namespace, name)]
    if len(found) != 1:
        where = "in several namespaces" if found else "not in the stack"
        raise GitopsError(f"{kind} {name} is {where}: name its --namespace")
    return _with_charts(found)
