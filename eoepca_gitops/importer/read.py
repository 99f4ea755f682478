"""Reading a Flux tree: its flux-system folder (install manifest, controller patches, sync objects),
where each object is written (file:line), and the Git source it follows. Every file is read
through the tree's confinement rule (eoepca_gitops.fluxtree.confine): nothing outside the
repository.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitFailed, GitopsError
from eoepca_gitops.files import files_under, read_text, resolved
from eoepca_gitops.fluxtree import is_flux_kustomization
from eoepca_gitops.git_runner import run_git
from eoepca_gitops.importer.report import Report
from eoepca_gitops.manifests.flux_release import release_version
from eoepca_gitops.model import defaults

__all__ = ["FluxSystem", "SourceIndex", "TreeRoot", "git_config", "read_flux_system", "tree_root"]

_COMPONENTS = re.compile(r"^# Components: (.+)$", re.MULTILINE)
_EXTRA = set(defaults.FLUX_EXTRA_COMPONENTS)
KNOWN_CONTROLLERS = set(defaults.FLUX_COMPONENTS) | _EXTRA


@dataclass(frozen=True)
class TreeRoot:
    """The folder imported and the repository it is in (Kustomization paths are relative to it)."""

    repo_root: Path
    path: Path
    root_path: str  # ./<path relative to repo_root>, as a Kustomization's spec.path says it

    def rel(self, path: Path) -> str:
        return os.path.relpath(path, self.repo_root)


def tree_root(path: Path, repo_root: Path | None) -> TreeRoot:
    root = resolved(repo_root or _git_toplevel(path))
    folder = resolved(path)
    if not folder.is_dir():
        raise GitopsError(f"{path}: not a folder")
    try:
        root_path = "./" + folder.relative_to(root).as_posix()
    except ValueError:
        raise GitopsError(f"{path} is not inside the repository root {root}") from None
    return TreeRoot(root, folder, root_path)


def _git_toplevel(path: Path) -> Path:
    try:
        return Path(run_git("rev-parse", "--show-toplevel", cwd=path).strip())
    except GitFailed:
        raise GitopsError(
            f"{path} is not inside a Git work tree: pass --repo-root DIR (the repository root)"
        ) from None


@dataclass(frozen=True)
class FluxSystem:
    """What flux-system/ says: the stack's `flux` config, the sync objects, the install manifest."""

    flux: dict[str, Any]
    git_repository: dict[str, Any] | None
    root_kustomization: dict[str, Any] | None
    install_text: str | None


def read_flux_system(tree: TreeRoot, report: Report) -> FluxSystem:
    flux: dict[str, Any] = {}
    components = [p for p in files_under(tree.repo_root, tree.path) if p.name == "gotk-components.yaml"]
    install_text = None
    if components:
        install = components[0]
        install_text = read_text(tree.repo_root, install)
        version = release_version(install_text)
        names = _COMPONENTS.search(install_text[:2048])
        if version:
            flux["version"] = version
        else:
            report.note(
                tree.rel(install), 1, "no '# Flux Version:' header; the stack uses the default version"
            )
        if names:
            listed = [c.strip() for c in names.group(1).split(",") if c.strip()]
            unknown = [c for c in listed if c not in KNOWN_CONTROLLERS]
            if unknown:
                report.note(tree.rel(install), 1, f"components not modelled, left out: {', '.join(unknown)}")
            main = [c for c in listed if c in KNOWN_CONTROLLERS and c not in _EXTRA]
            extra = [c for c in listed if c in _EXTRA]
            if main != list(defaults.FLUX_COMPONENTS):
                flux["components"] = main
            if extra:
                flux["componentsExtra"] = extra
        installed = {*flux.get("components", defaults.FLUX_COMPONENTS), *flux.get("componentsExtra", ())}
        # A patch whose target (a name pattern) also matches a controller not installed does nothing there.
        patches = {
            k: v for k, v in _ControllerPatches(tree, report).read(install.parent).items() if k in installed
        }
        if patches:
            flux["patches"] = patches
    else:
        report.note(tree.root_path, 0, "no flux-system/gotk-components.yaml: the stack uses the default Flux")
    root, git_repo = _sync_objects(tree)
    return FluxSystem(flux, git_repo, root, install_text)


def _sync_objects(tree: TreeRoot) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The Kustomization that applies the imported folder (flux bootstrap's gotk-sync.yaml has it,
    in whatever file it is written) and the GitRepository it applies from."""
    docs: list[dict[str, Any]] = []
    for path in files_under(tree.repo_root, tree.path):
        if path.suffix in (".yaml", ".yml"):
            try:
                docs += [d for d in yaml_io.load_all(read_text(tree.repo_root, path)) if isinstance(d, dict)]
            except yaml.YAMLError:
                continue  # reported where the tree is walked
    here = os.path.normpath(tree.root_path.removeprefix("./"))
    roots = [
        d
        for d in docs
        if is_flux_kustomization(d)
        and os.path.normpath(str((d.get("spec") or {}).get("path") or ".").removeprefix("./")) == here
    ]
    if not roots:
        return None, None
    root = roots[0]
    ref = (root.get("spec") or {}).get("sourceRef") or {}
    namespace = ref.get("namespace") or (root.get("metadata") or {}).get("namespace") or "flux-system"
    repo = next(
        (
            d
            for d in docs
            if d.get("kind") == ref.get("kind") == "GitRepository"
            and (d.get("metadata") or {}).get("name") == ref.get("name")
            and ((d.get("metadata") or {}).get("namespace") or "flux-system") == namespace
        ),
        None,
    )
    return root, repo


@dataclass
class _ControllerPatches:
    """flux-system/kustomization.yaml's patches of the controllers, as the stack's `flux.patches`."""

    tree: TreeRoot
    report: Report
    json_args: dict[str, list[str]] = field(default_factory=dict)

    def read(self, folder: Path) -> dict[str, Any]:
        kfile = folder / "kustomization.yaml"
        if not kfile.is_file():
            return {}
        kust = yaml_io.load(self._read(kfile)) or {}
        docs: list[tuple[dict[str, Any], str]] = []
        for name in kust.get("patchesStrategicMerge") or []:
            path = folder / str(name)
            if path.is_file():
                docs += [
                    (d, self.tree.rel(path))
                    for d in yaml_io.load_all(self._read(path))
                    if isinstance(d, dict)
                ]
        for entry in kust.get("patches") or []:
            where = self.tree.rel(kfile)
            text = entry.get("patch") if isinstance(entry, dict) else None
            if text is None and isinstance(entry, dict) and entry.get("path"):
                text = self._read(folder / entry["path"])
            parsed = yaml_io.load(text) if text else None
            target = (entry.get("target") or {}) if isinstance(entry, dict) else {}
            if isinstance(parsed, dict):
                docs.append((parsed, where))
            elif isinstance(parsed, list) and target.get("kind") == "Deployment":
                self._json_patch(parsed, target, where)
        patches: dict[str, Any] = {}
        for doc, where in docs:
            kind, name = doc.get("kind"), (doc.get("metadata") or {}).get("name")
            if kind != "Deployment" or name not in KNOWN_CONTROLLERS:
                if not (kind == "Kustomization" and name == "flux-system"):
                    self.report.note(where, 0, f"flux-system patch of {kind} {name} not modelled, left out")
                continue
            pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
            found: dict[str, Any] = {}
            for container in pod.get("containers") or []:
                if container.get("name") == "manager" and container.get("resources"):
                    found["resources"] = container["resources"]
                if container.get("name") == "manager" and container.get("args"):
                    found["args"] = container["args"]
            if pod.get("nodeSelector"):
                found["nodeSelector"] = pod["nodeSelector"]
            if pod.get("tolerations"):
                found["tolerations"] = pod["tolerations"]
            if found:
                patches.setdefault(name, {}).update(found)
        for name, args in self.json_args.items():
            patches.setdefault(name, {}).setdefault("args", []).extend(args)
        return patches

    def _read(self, path: Path) -> str:
        return read_text(self.tree.repo_root, path)

    def _json_patch(self, ops: list[Any], target: Mapping[str, Any], where: str) -> None:
        names = [c for c in KNOWN_CONTROLLERS if re.fullmatch(str(target.get("name") or ".*"), c)]
        for op in ops:
            if isinstance(op, dict) and op.get("op") == "add" and str(op.get("path", "")).endswith("/args/-"):
                for name in names:
                    self.json_args.setdefault(name, []).append(str(op.get("value")))
            else:
                self.report.note(where, 0, f"flux-system JSON patch {op!r:.80} not modelled, left out")


def git_config(repo: Mapping[str, Any] | None, where: str, report: Report) -> dict[str, Any]:
    """The stack's `git` config from the GitRepository the tree syncs from: its URL, ref, interval,
    timeout and ignore. Without one, nothing: the stack file is to say them (the loader refuses a
    stack without git.url)."""
    if repo is None:
        report.note(where, 0, "no GitRepository the tree syncs from: set eoepca-gitops:git.url and a ref")
        return {}
    spec = repo.get("spec") or {}
    git: dict[str, Any] = {"url": spec.get("url", "")}
    ref = {k: v for k, v in (spec.get("ref") or {}).items() if k in ("branch", "tag", "semver", "commit")}
    if "commit" in ref and len(ref) > 1:
        ref = {"commit": ref["commit"]}
    git.update(ref or {"branch": "master"})  # source-controller's default
    for k in ("interval", "timeout", "ignore"):
        if spec.get(k):
            git[k] = spec[k]
    if (spec.get("secretRef") or {}).get("name"):
        url = git["url"]
        git["auth"] = {"type": "https" if url.startswith("http") else "ssh"}
        report.note(
            where,
            0,
            f"Git credentials (Secret {spec['secretRef']['name']}, made by flux "
            "bootstrap) become a stack secret: set gitSshPrivateKey or gitPassword with --secret",
        )
    return git


class SourceIndex:
    """Where each object is written in the tree (file:line), found by a quick scan of its YAML files."""

    _DOC = re.compile(r"^---.*$", re.MULTILINE)
    # metadata's own fields: the indented lines right under `metadata:`, at its first field's indent
    _METADATA = re.compile(r"^metadata:[ \t]*\n((?:[ \t]+.*\n?|[ \t]*\n)*)", re.MULTILINE)

    def __init__(self, repo_root: Path, folders: Iterable[Path]) -> None:
        self.root = repo_root
        # (kind, name) -> (file, line, the namespace written there, if any)
        self.index: dict[tuple[str, str], list[tuple[str, int, str | None]]] = {}
        seen: set[Path] = set()
        for folder in folders:
            for path in files_under(repo_root, folder):
                if path.suffix in (".yaml", ".yml") and path not in seen:
                    seen.add(path)
                    self._scan(path)

    def _scan(self, path: Path) -> None:
        text = read_text(self.root, path)
        rel = os.path.relpath(path, self.root)
        starts = [0] + [m.end() + 1 for m in self._DOC.finditer(text)]
        for start in starts:
            chunk = text[start:]
            end = self._DOC.search(chunk)
            chunk = chunk[: end.start()] if end else chunk
            kind = re.search(r"^kind:\s*['\"]?([A-Za-z0-9]+)", chunk, re.MULTILINE)
            name = self._metadata_field(chunk, "name")
            if kind and name:
                line = text.count("\n", 0, start) + 1 + (kind.start() and chunk.count("\n", 0, kind.start()))
                entry = (rel, line, self._metadata_field(chunk, "namespace"))
                self.index.setdefault((kind.group(1), name), []).append(entry)

    @classmethod
    def _metadata_field(cls, chunk: str, field: str) -> str | None:
        """metadata.<field> as written, never a field of the same name nested deeper (in its labels)."""
        block = cls._METADATA.search(chunk)
        fields = block.group(1) if block else ""
        indent = re.match(r"[ \t]*", fields)
        at = re.escape(indent.group(0) if indent else "")
        found = re.search(rf"^{at}{field}:[ \t]*['\"]?([^'\"\s]+)", fields, re.MULTILINE)
        return found.group(1) if found else None

    def where(self, obj: Mapping[str, Any], folder: str) -> tuple[str, int]:
        """file:line of an object a Kustomization applies from `folder`: one written there first, of
        its namespace when two objects of one kind and name are (else one that names none)."""
        meta = obj.get("metadata") or {}
        found = self.index.get((str(obj.get("kind")), str(meta.get("name"))))
        if not found:
            return folder, 0
        pool = [f for f in found if f[0].startswith(os.path.normpath(folder) + os.sep)] or found
        namespace = meta.get("namespace")
        pool = [f for f in pool if f[2] == namespace] or [f for f in pool if f[2] is None] or pool
        return pool[0][0], pool[0][1]
