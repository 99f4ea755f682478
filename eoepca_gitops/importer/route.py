"""Routing: each object Flux applies from the tree goes to a block, as a candidate for the block's
declaration, a plain manifest Flux keeps applying from Git (every cluster's, or this cluster's own:
its secrets), or a notification.

- every Flux Kustomization followed from the root Git source becomes a block (named
  `<namespace>-<name>` outside Flux's namespace) and keeps its settings (an Origin);
- the root one's objects are split by their first sub-folder into blocks `<root folder>-<sub-folder>`,
  unless Flux substitutes variables into them (those blocks would have no Kustomization to say so);
- Namespaces, HelmRepositories and HelmReleases are candidates (declared and verified in assemble.py),
  unless their Kustomization applies them to another cluster (kubeConfig) or as a tenant
  (serviceAccountName): Pulumi would not apply them the same way;
- SealedSecrets and Secrets stay this cluster's own; Providers and Alerts become notifications;
- a folder Flux builds from remote resources (the stand-in of fluxtree.offline) is carried
  unchanged into the folder of the block whose Kustomization applies it (importer.files.Carried).

Each object comes in three forms (Forms): as Flux applies it, before postBuild substitution, and
before its Kustomization's own build fields (fluxtree.kustomize_split), which Git keeps.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import is_flux_group
from eoepca_gitops.fluxtree import AppliedObject, FluxTree, Key, is_flux_kustomization, key
from eoepca_gitops.fluxtree.kustomize import has_build_fields, kustomize_split
from eoepca_gitops.fluxtree.remote import is_standin
from eoepca_gitops.importer.files import Carried
from eoepca_gitops.importer.naming import block_name, unique
from eoepca_gitops.importer.read import SourceIndex, TreeRoot
from eoepca_gitops.importer.report import Report
from eoepca_gitops.importer.upgrade import upgrade

__all__ = ["BlockParts", "Candidate", "Forms", "Origin", "Routed", "route"]

# API groups whose kinds are plain Kubernetes: kept as manifests without a report line.
_CORE_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
}


# Flux's own controllers' accounts: a Kustomization that impersonates one has Flux's rights.
_FLUX_ACCOUNTS = ("kustomize-controller", "helm-controller")


@dataclass(frozen=True)
class Forms:
    """One object, in the stack's API versions, in the forms the import needs."""

    final: dict[str, Any]  # as Flux applies it: what the block must build again
    raw: dict[str, Any]  # before postBuild substitution: what a declaration says
    git: dict[str, Any] | None  # what Git keeps for Flux (None: a kustomize component adds it)


@dataclass(frozen=True)
class Origin:
    """A Flux Kustomization of the tree, kept by the block made of it."""

    obj: dict[str, Any]  # as the cluster has it, in the stack's API version
    block: str
    variables: dict[str, str] | None  # its postBuild variables found in the tree (None: no postBuild)
    unknown: tuple[str, ...]  # its substituteFrom references not in the tree
    baked: bool  # its build fields are applied at import: Git keeps its objects as built
    stays: str | None  # why Pulumi may not apply its objects in its place
    components: tuple[Path, ...]  # the folders of its spec.components

    @property
    def substitutes(self) -> bool:
        """Whether Flux substitutes variables into what it applies (it skips the step without any)."""
        return bool(self.variables) or bool(self.unknown)


@dataclass(frozen=True)
class Candidate:
    """An object of a block: a candidate for its declaration, or a plain manifest."""

    block: str
    origin: str
    forms: Forms
    file: str
    line: int


@dataclass
class BlockParts:
    name: str
    description: str
    origin: str | None = None  # the Kustomization (namespace/name) the block is made of
    shared: list[Candidate] = field(default_factory=list)  # plain manifests, every cluster
    own: list[Candidate] = field(default_factory=list)  # this cluster's (secrets)
    carried: Carried = field(default_factory=Carried)  # folders Flux builds from remote resources


@dataclass
class Routed:
    root_block: str
    blocks: dict[str, BlockParts]
    origins: dict[str, Origin]
    candidates: list[Candidate] = field(default_factory=list)
    providers: list[Candidate] = field(default_factory=list)
    alerts: list[Candidate] = field(default_factory=list)
    #: block -> the block whose Kustomization applies its plain manifests (root sub-folders)
    plain_home: dict[str, str] = field(default_factory=dict)

    def home(self, block: str) -> BlockParts:
        return self.blocks[self.plain_home.get(block, block)]


def _target(origin: Origin) -> str:
    """The cluster a Kustomization applies to: '' for this one, else its kubeConfig."""
    spec = origin.obj.get("spec") or {}
    if not spec.get("kubeConfig"):
        return ""
    return f"{origin.obj['metadata'].get('namespace')}:{json.dumps(spec['kubeConfig'], sort_keys=True)}"


def _stays(obj: Mapping[str, Any], flux_ns: str) -> str | None:
    spec = obj.get("spec") or {}
    if spec.get("kubeConfig"):
        return "to another cluster (kubeConfig)"
    account = spec.get("serviceAccountName")
    flux_own = (obj.get("metadata") or {}).get("namespace", flux_ns) == flux_ns and account in _FLUX_ACCOUNTS
    if account and not flux_own:
        return f"as the service account {account} (a tenant's rights)"
    return None


def _forms(
    tree: FluxTree, k_id: str, spec: Mapping[str, Any], repo_root: Path, report: Report
) -> tuple[list[dict[str, Any] | None], bool]:
    """What Git keeps of each object the Kustomization applies (in walk order), and whether its build
    fields had to be applied at import instead (baked)."""
    raws = [a.raw for a in tree.objects if a.kustomization == k_id]
    if not has_build_fields(spec):
        return list(raws), False
    folder = repo_root / os.path.normpath(str(spec.get("path") or ".").removeprefix("./"))
    try:
        pairs = kustomize_split(folder, spec)
    except GitopsError as exc:
        pairs = []
        report.note(str(spec.get("path")), 0, f"Kustomization {k_id}: {exc}")
    if [built for _, built in pairs] == raws:
        return [base for base, _ in pairs], False
    report.note(
        str(spec.get("path")),
        0,
        f"Kustomization {k_id}: its own build fields (targetNamespace, patches, ...) are applied at "
        "import: its manifests are written as built and the block's Kustomization leaves them out",
    )
    return list(raws), True


def _origins(
    tree: FluxTree,
    root_id: str,
    root_block: str,
    repo_root: Path,
    flux_ns: str,
    apis: Mapping[str, str],
    report: Report,
) -> tuple[dict[str, Origin], dict[str, list[dict[str, Any] | None]]]:
    """Each followed Kustomization as an Origin, and what Git keeps of each object it applies."""
    origins: dict[str, Origin] = {}
    git_forms: dict[str, list[dict[str, Any] | None]] = {}
    taken = {root_block}
    for k_id, k in tree.kustomizations.items():
        ns, _, name = k_id.partition("/")
        own = block_name(name if ns == flux_ns else f"{ns}-{name}")
        block = root_block if k_id == root_id else unique(own, taken)
        obj = upgrade(k, apis)[0]
        spec = obj.get("spec") or {}
        git_forms[k_id], baked = _forms(tree, k_id, k.get("spec") or {}, repo_root, report)
        variables, missing = tree.variables.get(k_id, (None, []))
        path = repo_root / os.path.normpath(str(spec.get("path") or ".").removeprefix("./"))
        components = () if baked else tuple((path / c).resolve() for c in spec.get("components") or [])
        stays = _stays(obj, flux_ns)
        if stays:
            report.note(
                str(spec.get("path")),
                0,
                f"Kustomization {k_id} applies its objects {stays}: they stay in Git, applied by Flux",
            )
        origins[k_id] = Origin(obj, block, variables, tuple(missing), baked, stays, components)
    return origins, git_forms


def _is_candidate(kind: str, group: str, obj: Mapping[str, Any]) -> bool:
    if kind == "Namespace":  # a block's namespaces are names only
        return (
            group == ""
            and set(obj) <= {"apiVersion", "kind", "metadata"}
            and set(obj["metadata"]) == {"name"}
        )
    return kind in ("HelmRepository", "HelmRelease") and is_flux_group(group)


def route(
    tree: FluxTree,
    root_id: str,
    stack_keys: set[Key],
    flux_ns: str,
    apis: Mapping[str, str],
    root: TreeRoot,
    sources: SourceIndex,
    stack: str,
    report: Report,
) -> Routed:
    """`stack_keys`: the objects the stack makes itself (Flux's install, the Git source it syncs)."""
    root_block = block_name(root_id.partition("/")[2])
    origins, git_forms = _origins(tree, root_id, root_block, root.repo_root, flux_ns, apis, report)
    # The root's sub-folders become blocks without a Kustomization of their own: only when Flux
    # substitutes nothing into them, so their releases need no variables of the root's.
    split_root = not origins[root_id].substitutes
    routed = Routed(root_block, {}, origins)
    blocks = routed.blocks
    for k_id, origin in origins.items():
        what = "the cluster's root Kustomization" if k_id == root_id else f"the Flux Kustomization {k_id}"
        blocks[origin.block] = BlockParts(origin.block, f"Objects of {what}.", k_id)
    seen_keys: dict[tuple[str, Key], str] = {}
    position: dict[str, int] = {}
    sub_blocks: dict[str, str] = {}  # sub-folder of the root -> its block
    for item in tree.objects:
        at = position[item.kustomization] = position.get(item.kustomization, -1) + 1
        git = git_forms[item.kustomization][at]
        obj = item.obj
        meta = obj.get("metadata") or {}
        kind = str(obj.get("kind"))
        file, line = (
            (f"{meta['name']}/kustomization.yaml", 0)
            if is_standin(obj)
            else sources.where(obj, item.path.removeprefix("./"))
        )
        k_id = f"{meta.get('namespace') or flux_ns}/{meta.get('name')}"
        shown = f"{meta['namespace']}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))
        if _made_by_stack(obj, stack_keys, flux_ns, report, (file, line, shown)):
            continue
        if is_flux_kustomization(obj) and k_id in origins:
            if k_id != root_id:
                report.count("Flux Kustomizations (blocks)")
            continue
        origin = origins[item.kustomization]
        # The same object applied to two clusters (kubeConfig) is two objects.
        k = (_target(origin), key(obj))
        if k in seen_keys:
            report.note(file, line, f"{kind} {shown} applied again (first by {seen_keys[k]}); left out")
            continue
        seen_keys[k] = item.kustomization
        block = origin.block
        sub = _sub_folder(item, root_id, file, root) if split_root else None
        if sub is not None:
            if sub not in sub_blocks:
                sub_blocks[sub] = unique(block_name(f"{root.path.name}-{sub}"), set(blocks))
                blocks[sub_blocks[sub]] = BlockParts(
                    sub_blocks[sub], f"Objects of {root.rel(root.path)}/{sub}."
                )
                routed.plain_home[sub_blocks[sub]] = root_block
            block = sub_blocks[sub]
        if is_standin(obj):
            home = routed.home(block)
            home.carried = home.carried.with_folder(root.repo_root, str(meta["name"]))
            report.count("folders built by Flux from remote resources (carried unchanged)")
            continue
        final, notes = upgrade(obj, apis)
        if notes:
            report.count("objects upgraded to newer API versions")
        forms = Forms(final, upgrade(item.raw, apis)[0], upgrade(git, apis)[0] if git is not None else None)
        found = Candidate(block, item.kustomization, forms, file, line)
        _place(routed, found, obj, origin, (report, shown, stack))
    return routed


def _made_by_stack(
    obj: Mapping[str, Any],
    stack_keys: set[Key],
    flux_ns: str,
    report: Report,
    where: tuple[str, int, str],
) -> bool:
    """Whether the stack makes `obj` itself (Flux's install, the Git source it syncs): then the
    tree's copy is left out, and said so."""
    file, line, shown = where
    meta = obj.get("metadata") or {}
    kind = str(obj.get("kind"))
    labels = meta.get("labels") or {}
    # Flux's install labels its objects so, whatever its version (a PodMonitor of the tree that
    # says part-of: flux is not one of them).
    installed = (labels.get("app.kubernetes.io/part-of"), labels.get("app.kubernetes.io/instance")) == (
        "flux",
        flux_ns,
    ) or (kind == "CustomResourceDefinition" and is_flux_group(str(meta.get("name", ""))))
    if installed:
        report.count("Flux install objects (installed by the stack)")
    elif key(obj) in stack_keys and kind != "GitRepository":  # the sync source, made from git.*
        report.note(file, line, f"{kind} {shown}: made by the stack (Flux's install); the tree's left out")
    return installed or key(obj) in stack_keys


def _place(
    routed: Routed,
    found: Candidate,
    obj: Mapping[str, Any],
    origin: Origin,
    said: tuple[Report, str, str],
) -> None:
    """Where an object of the tree (`obj`, as the tree has it) goes: lifted into the stack, a
    notification, a manifest of this cluster only, or a plain manifest every cluster shares.
    `said`: the report, the object as it is named there, the stack."""
    report, shown, stack = said
    final, file, line = found.forms.final, found.file, found.line
    kind, group = str(obj.get("kind")), str(obj.get("apiVersion", "")).rpartition("/")[0]
    liftable = origin.stays is None and found.forms.git is not None
    home = routed.home(found.block)
    if liftable and _is_candidate(kind, group, final):
        routed.candidates.append(found)
    elif liftable and kind in ("Provider", "Alert") and is_flux_group(group):
        (routed.providers if kind == "Provider" else routed.alerts).append(found)
    elif found.forms.git is None:
        return  # made by a kustomize component the block's Kustomization keeps
    elif kind in ("SealedSecret", "Secret") or "sops" in obj:
        what = "encrypted SealedSecret (sealed with this cluster's key)" if kind == "SealedSecret" else kind
        report.note(
            file, line, f"{what} {shown}: kept as a manifest of this cluster only (clusters/{stack}/)"
        )
        home.own.append(found)
    else:
        if origin.stays is None:  # else said once, of its Kustomization
            _note_plain(report, file, line, final, shown)
        home.shared.append(found)


def _note_plain(report: Report, file: str, line: int, obj: Mapping[str, Any], k_id: str) -> None:
    kind, group = str(obj.get("kind")), str(obj.get("apiVersion", "")).rpartition("/")[0]
    if is_flux_kustomization(obj):
        ref = (obj.get("spec") or {}).get("sourceRef") or {}
        report.note(
            file,
            line,
            f"Kustomization {k_id} applies {ref.get('kind')} {ref.get('name')}, not the cluster's Git "
            "source: not followed, kept as a plain manifest",
        )
    elif kind == "ImageUpdateAutomation":
        report.note(
            file,
            line,
            f'{kind} {k_id}: kept as a plain manifest; the image setters it updates (`# {{"$imagepolicy": '
            "...}` comments) are not carried into the imported files: mark them there again",
        )
    elif is_flux_group(group):
        report.note(file, line, f"{kind} {k_id}: Flux kind not modelled; kept as a plain manifest")
    elif group not in _CORE_GROUPS:
        report.note(file, line, f"{kind} ({group}) {k_id}: kind not modelled; kept as a plain manifest")


def _sub_folder(item: AppliedObject, root_id: str, file: str, root: TreeRoot) -> str | None:
    """The sub-folder of the root folder an object of the root Kustomization is written in."""
    if item.kustomization != root_id:
        return None
    parts = Path(os.path.relpath(root.repo_root / file, root.path)).parts
    return parts[0] if len(parts) > 1 and parts[0] != ".." else None
