"""Follow a cluster's tree as Flux does: a root Kustomization path and every Kustomization it applies.

Each Flux Kustomization (sourceRef: the root GitRepository) found among the objects applied is
followed in turn: its folder built by kustomize.py, its postBuild variables taken from
`substitute` and from the ConfigMaps/Secrets of `substituteFrom` found in the tree.

`walk(strict=False)` never raises on bad input: a file that is not valid YAML is left out of a
generated kustomization (Flux would fail the whole Kustomization), a folder kustomize cannot build
is read file by file, an unset variable leaves the object unsubstituted; each becomes a Problem.
What would read outside the repository is refused in both modes (confine.py), before kustomize
runs on the folder; a folder that names a remote resource is built by Flux at apply time: it is
a stand-in object among the Kustomization's (offline.py), and its remote entries are listed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import files_under, read_text
from eoepca_gitops.flux_apis import KUSTOMIZE_GROUP
from eoepca_gitops.fluxtree.confine import Reads, check_build, kustomization_folder
from eoepca_gitops.fluxtree.envsubst import SubstitutionError, substitute_object
from eoepca_gitops.fluxtree.fetch import Fetcher
from eoepca_gitops.fluxtree.kustomize import BUILD_FIELDS, BuildError, generated_resources, has_kustomization
from eoepca_gitops.fluxtree.objects import documents
from eoepca_gitops.fluxtree.offline import build_offline
from eoepca_gitops.fluxtree.remote import RemoteUse, is_standin

__all__ = [
    "AppliedObject",
    "FluxTree",
    "Problem",
    "flux_objects",
    "is_flux_kustomization",
    "postbuild_variables",
    "walk",
    "yaml_error",
]


@dataclass(frozen=True)
class AppliedObject:
    obj: dict[str, Any]  # as Flux applies it
    kustomization: str  # the Flux Kustomization (namespace/name) that applies it
    path: str  # its spec.path
    raw: dict[str, Any]  # as kustomize built it, before postBuild substitution


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the repository root
    line: int
    reason: str


@dataclass
class FluxTree:
    objects: list[AppliedObject] = field(default_factory=list)
    # namespace/name -> the Flux Kustomization object (the root one included, as given)
    kustomizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # namespace/name -> (its postBuild variables as found in the tree (None: no postBuild), the
    # substituteFrom references not found in it)
    variables: dict[str, tuple[dict[str, str] | None, list[str]]] = field(default_factory=dict)
    # What strict mode refuses once Flux has reconciled (a pass may miss what a later one has).
    unresolved: list[str] = field(default_factory=list)
    # The remote entries of the folders Flux builds at apply time, once each.
    remote: list[RemoteUse] = field(default_factory=list)


def is_flux_kustomization(obj: Mapping[str, Any]) -> bool:
    return (
        str(obj.get("apiVersion", "")).startswith(KUSTOMIZE_GROUP + "/")
        and obj.get("kind") == "Kustomization"
    )


def yaml_error(repo_root: Path, path: Path) -> tuple[int, str] | None:
    """(line, message) when a file of the repository is not valid YAML, else None."""
    text = read_text(repo_root, path)
    try:
        for _ in yaml_io.load_all(text):
            pass
    except yaml.YAMLError as exc:
        mark = yaml_io.error_mark(text, exc)
        return (mark.line + 1 if mark else 1), f"not valid YAML: {str(exc).splitlines()[0]}"
    return None


def _decoded(value: str) -> str:
    """A Secret's data value as Kubernetes decodes it (Go's base64: line breaks ignored), else as written."""
    try:
        return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value


def postbuild_variables(
    spec: Mapping[str, Any], namespace: str, objects: Iterable[Mapping[str, Any]]
) -> tuple[dict[str, str] | None, list[str]]:
    """A Kustomization's postBuild variables (None: no postBuild), taken from `objects` as Flux
    takes them from the cluster, and the substituteFrom refs that are not among them."""
    post = spec.get("postBuild")
    if post is None:
        return None, []
    objects = list(objects)
    variables: dict[str, str] = {}
    missing: list[str] = []
    for ref in post.get("substituteFrom") or []:
        kind, name = ref.get("kind"), ref.get("name")
        source = next(
            (
                o
                for o in objects
                if o.get("kind") == kind
                and (o.get("metadata") or {}).get("name") == name
                and ((o.get("metadata") or {}).get("namespace") or namespace) == namespace
            ),
            None,
        )
        if source is None:
            if not ref.get("optional"):
                missing.append(f"{kind}/{name}")
            continue
        data = {str(k): str(v) for k, v in (source.get("data") or {}).items()}
        if kind == "Secret":
            data = {k: _decoded(v) for k, v in data.items()}
            data.update({str(k): str(v) for k, v in (source.get("stringData") or {}).items()})
        variables.update(data)
    variables.update({str(k): str(v) for k, v in (post.get("substitute") or {}).items()})
    return variables, missing


def _source(kustomization: Mapping[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name) of the source a Kustomization applies from."""
    ref = (kustomization.get("spec") or {}).get("sourceRef") or {}
    namespace = (
        ref.get("namespace") or (kustomization.get("metadata") or {}).get("namespace") or "flux-system"
    )
    return str(ref.get("kind")), str(namespace), str(ref.get("name"))


def _lenient_build(
    folder: Path,
    spec: Mapping[str, Any],
    repo_root: Path,
    tree: FluxTree,
    reads: Reads,
    fetcher: Fetcher | None,
) -> list[dict[str, Any]]:
    """kustomize build that reports instead of failing (see the module doc)."""
    exclude: set[Path] = set()
    if not has_kustomization(folder):
        for path in generated_resources(folder):
            if path.is_file() and (error := yaml_error(repo_root, path)):
                exclude.add(path)
                tree.problems.append(Problem(os.path.relpath(path, repo_root), error[0], error[1]))
    try:
        return list(documents(build_offline(repo_root, folder, spec, reads, frozenset(exclude), fetcher)))
    except BuildError as exc:
        tree.problems.append(
            Problem(os.path.relpath(folder, repo_root), 0, f"{exc}; its files are read one by one instead")
        )
    out: list[dict[str, Any]] = []
    opaque = reads.opaque(repo_root)
    for path in (p for p in files_under(repo_root, folder) if p.suffix in (".yaml", ".yml")):
        if path.name in ("kustomization.yaml", "kustomization.yml") or path in exclude:
            continue
        if any(o in path.parents for o in opaque):
            continue  # Flux builds it with what it fetches
        if error := yaml_error(repo_root, path):
            tree.problems.append(Problem(os.path.relpath(path, repo_root), error[0], error[1]))
            continue
        out += [d for d in documents(read_text(repo_root, path)) if "kind" in d and "apiVersion" in d]
    return out


def walk(
    repo_root: Path,
    root_path: str,
    root: Mapping[str, Any] | None = None,
    *,
    source_name: str = "flux-system",
    strict: bool = True,
    fetcher: Fetcher | None = None,
) -> FluxTree:
    """Every object Flux applies from `root_path` (relative to repo_root), nested Kustomizations followed.

    `root` is the root Flux Kustomization object when known (its postBuild and build fields count).
    A root that applies itself (flux-system) counts as it applies itself, flux-system's patches
    applied, as the cluster has it from its first reconciliation on. With `fetcher`, the folders
    naming remote resources are built with what it fetches (offline.py).
    """
    root_obj: dict[str, Any] = dict(
        root
        or {
            "apiVersion": f"{KUSTOMIZE_GROUP}/v1",
            "kind": "Kustomization",
            "metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {"path": root_path, "sourceRef": {"kind": "GitRepository", "name": source_name}},
        }
    )
    builds: dict[str, tuple[list[dict[str, Any]], list[Problem], list[RemoteUse]]] = {}
    tree = _walk(repo_root, root_obj, strict, builds, fetcher)
    # Flux's steady state: each reconciliation finds on the cluster what the one before applied (the
    # ConfigMap of an optional substituteFrom, the root's own patches).
    for _ in range(3):
        applied = _applied_root(tree)
        objects = [a.obj for a in tree.objects]
        stale = any(
            postbuild_variables(k.get("spec") or {}, _id(k).partition("/")[0], objects) != tree.variables[i]
            for i, k in tree.kustomizations.items()
        )
        if not stale and (applied is None or _effect(applied) == _effect(root_obj)):
            break
        root_obj = applied or root_obj
        tree = _walk(repo_root, root_obj, strict, builds, fetcher, objects)
    if (applied := _applied_root(tree)) is not None:
        tree.kustomizations[_id(applied)] = applied
    if strict and tree.unresolved:
        raise GitopsError(tree.unresolved[0])
    return tree


def _applied_root(tree: FluxTree) -> dict[str, Any] | None:
    """The root Kustomization as it applies itself, if it does."""
    root_id = next(iter(tree.kustomizations), None)
    return next((a.obj for a in tree.objects if is_flux_kustomization(a.obj) and _id(a.obj) == root_id), None)


def _id(kustomization: Mapping[str, Any]) -> str:
    meta = kustomization.get("metadata") or {}
    return f"{meta.get('namespace') or 'flux-system'}/{meta.get('name')}"


def _effect(kustomization: Mapping[str, Any]) -> list[Any]:
    """What of a Kustomization decides what it applies."""
    spec = kustomization.get("spec") or {}
    return [spec.get(f) for f in ("path", "sourceRef", "postBuild", *BUILD_FIELDS)]


def _walk(
    repo_root: Path,
    root_obj: dict[str, Any],
    strict: bool,
    builds: dict[str, tuple[list[dict[str, Any]], list[Problem], list[RemoteUse]]],
    fetcher: Fetcher | None,
    before: list[dict[str, Any]] | None = None,
) -> FluxTree:
    """One pass; `before`: what a previous reconciliation applied, where variables are read too;
    `builds`: kustomize's output by folder and build fields, the same in every pass."""
    root_source = _source(root_obj)
    tree = FluxTree()
    # (Kustomization, times deferred, the folder whose build applies it)
    todo: list[tuple[dict[str, Any], int, str]] = [(root_obj, 0, "the root")]
    while todo:
        k, deferrals, applied_from = todo.pop(0)
        meta, spec = k.get("metadata", {}), k.get("spec", {})
        namespace = meta.get("namespace") or "flux-system"
        name = _id(k)
        path = str(spec.get("path") or "./")
        variables, missing = postbuild_variables(
            spec, namespace, [*(a.obj for a in tree.objects), *(before or [])]
        )
        if missing and deferrals < 3:
            todo.append(
                (k, deferrals + 1, applied_from)
            )  # the ConfigMap may come from a Kustomization not built yet
            continue
        if name in tree.kustomizations:
            continue  # the root Kustomization, found again among the objects it applies
        tree.kustomizations[name] = k
        tree.variables[name] = (variables, missing)
        folder = kustomization_folder(repo_root, path, name, applied_from)
        norm = os.path.relpath(folder, repo_root.resolve())
        if not folder.is_dir():
            if strict:
                raise GitopsError(f"Kustomization {name}: path {path} is not a folder in {repo_root}")
            tree.problems.append(Problem(norm, 0, f"Kustomization {name}: path {path} is not a folder"))
            continue
        if missing:
            message = f"Kustomization {name}: substituteFrom {', '.join(missing)} not found in the tree"
            tree.problems.append(Problem(norm, 0, message))
            tree.unresolved.append(message)
        build = json.dumps([str(folder), [spec.get(f) for f in BUILD_FIELDS]], default=str)
        if build not in builds:
            reads = check_build(repo_root, folder, spec, name)
            known = len(tree.problems)
            objects = (
                list(documents(build_offline(repo_root, folder, spec, reads, fetcher=fetcher)))
                if strict
                else _lenient_build(folder, spec, repo_root, tree, reads, fetcher)
            )
            builds[build] = (objects, tree.problems[known:], reads.remote)
        else:
            tree.problems += builds[build][1]
        tree.remote += [u for u in builds[build][2] if u not in tree.remote]
        for raw in builds[build][0]:
            obj = raw
            if variables is not None and not is_standin(raw):
                try:
                    obj = substitute_object(raw, variables)
                except SubstitutionError as exc:
                    tree.problems.append(Problem(norm, 0, f"Kustomization {name}: {exc}; left unsubstituted"))
                    tree.unresolved.append(f"Kustomization {name}: {exc}")
            tree.objects.append(AppliedObject(obj, name, path, raw))
            if is_flux_kustomization(obj) and _source(obj) == root_source:
                todo.append((obj, 0, norm))
    return tree


def flux_objects(
    repo_root: Path, root_path: str, root_name: str = "flux-system/flux-system"
) -> list[AppliedObject]:
    """Every object Flux applies starting from one Kustomization path (strict: raises on bad input)."""
    namespace, _, name = root_name.partition("/")
    root = {
        "apiVersion": f"{KUSTOMIZE_GROUP}/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"path": root_path, "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
    }
    return walk(repo_root, root_path, root).objects
