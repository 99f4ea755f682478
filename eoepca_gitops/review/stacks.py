"""One stack reviewed: its layers built at both revisions by the builders (build_stack,
build_flux_layer: the code `pulumi up` and `render` run), compared, and its Helm layer.

A Flux version change is named as an upgrade (the objects it moves to other API versions, in
place), with the Git half of the upgrade gate (eoepca_gitops.manifests.api_gate); the live half
needs the cluster: `pulumi preview` runs it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import ConfigError, GitopsError
from eoepca_gitops.flux_layer import build_flux_layer, layer_key
from eoepca_gitops.fluxtree import Key, key
from eoepca_gitops.manifests.api_gate import check_api_removal
from eoepca_gitops.manifests.prepared import prepare
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.project import load_stack_file, stack_file_name
from eoepca_gitops.review.changes import ObjectChange, Section, StackReview
from eoepca_gitops.review.compare import compare
from eoepca_gitops.review.helm_layer import HelmLayer, Renderer, Revision, helm_layer
from eoepca_gitops.review.validation import HeadSchemas, layer_source
from eoepca_gitops.schemas import Sourced

__all__ = ["Side", "build_side", "review_stack", "upgrade_lines"]

Layer = dict[Key, dict[str, Any]]
_GROUPS = {"flux-system": "Flux install", "source": "sources", "buckets": "sources"}


def _group(name: str) -> str:
    """The title of a group of StackManifests.groups() ("blocks/x" -> "block x")."""
    kind, _, rest = name.partition("/")
    return f"block {rest}" if kind == "blocks" else _GROUPS.get(kind, kind)


@dataclass(frozen=True)
class Side:
    """A stack at one revision: both layers, and which group each object is shown in."""

    stack: Stack
    install: tuple[dict[str, Any], ...]
    pulumi: Layer
    flux: Layer
    groups: dict[Key, str]  # the Pulumi layer's objects
    flux_groups: dict[Key, str]
    order: tuple[str, ...]  # the groups, in the order the stack applies them
    project: Path

    def revision(self) -> Revision:
        releases = {
            k: (o, groups[k])
            for layer, groups in ((self.flux, self.flux_groups), (self.pulumi, self.groups))
            for k, o in layer.items()
            if k[1] == "HelmRelease"
        }
        return Revision(releases, {**self.flux, **self.pulumi}, self.project)


def build_side(project: Path, stack_name: str, manifest_base: Path) -> Side:
    """Stack `stack_name` as the project folder `project` has it; a Flux manifest path that leads
    outside `project` is read as `manifest_base` (the working tree) has it."""
    stack = load_stack_file(project / stack_file_name(stack_name))
    try:
        prepared = prepare(stack, project)
    except ConfigError:  # a manifest path outside the repository: as the working tree has it
        prepared = prepare(stack, manifest_base)
    install, manifests = prepared.install, prepared.manifests
    groups = {key(o): _group(name) for name, objects in manifests.groups() for o in objects}
    ns = stack.config.flux.namespace
    of_kustomization = {
        layer_key(o, ns): f"block {block}"
        for block, objects in manifests.blocks.items()
        for o in objects
        if o["kind"] == "Kustomization"
    }
    flux: Layer = {}
    flux_groups: dict[Key, str] = {}
    for name, objects in build_flux_layer(manifests, project).items():
        for o in objects:
            flux[key(o)] = o
            flux_groups[key(o)] = of_kustomization.get(name, f"Kustomization {name}")
    order = tuple(dict.fromkeys([*groups.values(), *flux_groups.values()]))
    return Side(
        stack, tuple(install), {key(o): o for o in manifests.all()}, flux, groups, flux_groups, order, project
    )


def upgrade_lines(old_version: str, new_version: str, old: Layer, new: Layer) -> list[str]:
    """A Flux version change named as an upgrade: the objects it moves to other API versions, by kind."""

    def version(obj: Mapping[str, Any]) -> str:
        return str(obj.get("apiVersion", "")).rpartition("/")[2]

    moved = Counter(
        (k[1], f"{k[0]}/{version(old[k])}", version(new[k]))
        for k in set(old) & set(new)
        if version(old[k]) != version(new[k])
    )
    lines = [
        f"flux upgrade: {old_version} -> {new_version}: {sum(moved.values())} object(s) of this stack "
        "migrated to new API versions in place (updated, never deleted and recreated); `pulumi up` first "
        "rewrites what the cluster stores in versions the new release drops"
    ]
    lines += [f"  migrate {kind} {was} -> {now}: {n}" for (kind, was, now), n in sorted(moved.items())]
    return lines


def _sections(layer: str, changes: list[tuple[Key, ObjectChange]], group_of: dict[Key, str]) -> list[Section]:
    by_group: dict[str, list[ObjectChange]] = {}
    for k, change in changes:
        by_group.setdefault(group_of[k], []).append(change)
    return [Section(layer, group, tuple(objects)) for group, objects in by_group.items()]


def _gate(base: Side, head: Side, name: str) -> tuple[list[str], list[str], list[str]]:
    """(upgrade lines, notes, errors) of a Flux version change."""
    old, new = base.stack.config.flux.version, head.stack.config.flux.version
    if old == new:
        return [], [], []
    flux = head.stack.config.flux
    by_kustomization = {"git": list(head.flux.values())}
    found = check_api_removal(
        flux.model_copy(update={"allow_api_removal": True}), head.install, by_kustomization, ""
    )
    try:
        check_api_removal(flux, head.install, by_kustomization, stack_file_name(name))
        errors: list[str] = []
    except ConfigError as exc:
        errors = [str(exc)]
    return upgrade_lines(old, new, base.pulumi, head.pulumi), [f"removed API: {f}" for f in found], errors


def _side(project: Path, name: str, manifest_base: Path, where: str) -> Side | None:
    if not (project / stack_file_name(name)).is_file():
        return None
    try:
        return build_side(project, name, manifest_base)
    except GitopsError as exc:
        raise GitopsError(f"{where}: {exc}") from None


def _head_objects(head: Side, helm: HelmLayer | None) -> list[Sourced]:
    """What the head renders in each layer, each named by its layer and block (or release)."""
    return [
        *((layer_source("pulumi", head.groups[k]), o) for k, o in head.pulumi.items()),
        *((layer_source("flux", head.flux_groups[k]), o) for k, o in head.flux.items()),
        *(
            (layer_source("helm", release), o)
            for release, objects in (helm.rendered.items() if helm else ())
            for o in objects
        ),
    ]


def review_stack(
    name: str,
    base_project: Path,
    head_project: Path,
    renderer: Renderer | None,
    helm_note: str = "",
    schemas: HeadSchemas | None = None,
) -> StackReview:
    """Stack `name` from `base_project` (the base revision) to `head_project` (the working tree);
    without `renderer` the Helm layer is left out, `helm_note` saying why; with `schemas` what the
    head renders in each layer is checked against its schema. A stack that does not load or build
    at either revision raises GitopsError (bad input, as everywhere); what the review finds wrong
    (the upgrade gate, a chart version the repository does not have, an object that does not match
    its schema) is in its `errors`."""
    with ThreadPoolExecutor(max_workers=2) as pool:  # each side is mostly kustomize processes
        at_base = pool.submit(_side, base_project, name, head_project, "at the base revision")
        at_head = pool.submit(_side, head_project, name, head_project, "in the working tree")
        base, head = at_base.result(), at_head.result()
    if base is None and head is None:
        raise GitopsError(f"{stack_file_name(name)}: no such stack file at either revision")
    groups = {**(base.groups if base else {}), **(head.groups if head else {})}
    flux_groups = {**(base.flux_groups if base else {}), **(head.flux_groups if head else {})}
    order = list(dict.fromkeys([*(head.order if head else ()), *(base.order if base else ())]))
    sections = _sections("pulumi", compare(base.pulumi if base else {}, head.pulumi if head else {}), groups)
    sections += _sections("flux", compare(base.flux if base else {}, head.flux if head else {}), flux_groups)
    helm = None
    if renderer is not None:
        empty = Revision({}, {}, head_project)
        helm = helm_layer(base.revision() if base else empty, head.revision() if head else empty, renderer)
        sections += helm.sections
    sections.sort(key=lambda s: order.index(s.group) if s.group in order else len(order))
    upgrade, gate_notes, errors = _gate(base, head, name) if base and head else ([], [], [])
    errors += [f"{s.release}: {s.error}" for s in sections if s.error]
    if head is not None and schemas is not None:
        invalid, unchecked = schemas.check(
            head.stack.config.flux.version, head.install, _head_objects(head, helm)
        )
        errors += invalid
        gate_notes += unchecked
    return StackReview(
        name,
        tuple(sections),
        state="added" if base is None else "deleted" if head is None else "changed",
        upgrade=tuple(upgrade),
        notes=tuple(gate_notes),
        helm_note="" if renderer else helm_note or "not rendered",
        errors=tuple(errors),
    )
