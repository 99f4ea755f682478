"""Helpers of the import round-trip tests: import a tree into a project, render it, compare with Flux."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from eoepca_gitops.flux_apis import api_versions
from eoepca_gitops.flux_layer import build_flux_layer
from eoepca_gitops.fluxtree import Key, as_flux_sees_it, diff, flux_objects, key
from eoepca_gitops.importer import ImportOptions, ImportResult, import_tree
from eoepca_gitops.importer.upgrade import upgrade
from eoepca_gitops.manifests.prepared import prepare
from eoepca_gitops.manifests.render import dump, file_name, render_files
from eoepca_gitops.model import defaults
from eoepca_gitops.project import load_stack_file


def run_import(tree: Path, path: str, stack: str, out: Path, **extra: Any) -> ImportResult:
    result = import_tree(ImportOptions(path=tree / path, stack=stack, out=out, repo_root=tree, **extra))
    for rel, content in result.files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(content)
    return result


def render(project: Path, stack: str) -> tuple[dict[str, str], list[dict[str, Any]], dict[str, str]]:
    """(files as `render --flux-layer` writes them, every object of both layers, the target API versions)."""
    path = project / f"Pulumi.{stack}.yaml"
    model = load_stack_file(path, project / defaults.BLOCKS_DIR)
    prepared = prepare(model, project)
    install, manifests = prepared.install, prepared.manifests
    files = render_files(manifests)
    objects = manifests.all()
    for name, layer in build_flux_layer(manifests, project).items():
        files |= {f"flux-layer/{name}/{file_name(o)}": dump(o) for o in layer}
        objects += layer
    return files, objects, api_versions(install)


def original(tree: Path, path: str, apis: dict[str, str]) -> dict[Key, dict[str, Any]]:
    """What Flux applies from the tree, each Flux object upgraded to the stack's API versions."""
    out: dict[Key, dict[str, Any]] = {}
    for applied in flux_objects(tree, path):
        obj, _ = upgrade(applied.obj, apis)
        out[key(obj)] = obj
    return out


def index(objects: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    out: dict[Key, dict[str, Any]] = {}
    for obj in objects:
        assert key(obj) not in out, f"{key(obj)} produced twice"
        out[key(obj)] = obj
    return out


def install_view(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(as_flux_sees_it(obj))
    out.get("metadata", {}).pop("creationTimestamp", None)
    out.pop("status", None)
    return out


def compare(
    ours: dict[Key, dict[str, Any]],
    theirs: dict[Key, dict[str, Any]],
    allowed: dict[Key, set[str]],
    additions: set[Key],
    replaced: set[Key],
) -> list[str]:
    """Every difference not allowed: keys only on one side, and content per object."""
    problems: list[str] = []
    for k in sorted(set(theirs) - set(ours) - replaced):
        problems.append(f"{k}: in the tree, not rendered")
    for k in sorted(set(ours) - set(theirs) - additions):
        problems.append(f"{k}: rendered, not in the tree")
    for k in sorted(set(ours) & set(theirs)):
        mine, orig = as_flux_sees_it(ours[k]), theirs[k]  # as Kubernetes and Flux see it
        if (orig.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/part-of") == "flux":
            mine, orig = install_view(mine), install_view(orig)
        for line in diff(mine, orig):
            path = line.split(":", 1)[0]
            if not any(path == a or path.startswith((a + ".", a + "[")) for a in allowed.get(k, set())):
                problems.append(f"{k}: {line}")
    return problems
