"""Import a Flux tree: follow it as Flux does, and write the stack file and clusters/ declarations.

Pure apart from reading the tree (and running kustomize through eoepca_gitops.fluxtree): the result
is a mapping of relative paths to file contents plus a report; the command writes them.

What goes where:
- flux-system/: the install manifest's header gives the Flux version and components, its
  kustomization's patches the controller patches, gotk-sync the Git source;
- every Flux Kustomization applied from the root GitRepository becomes a block of its name; the
  root one's objects are split by their first sub-folder into blocks `<root folder>-<sub-folder>`;
- Namespaces, HelmRepositories and HelmReleases the block model can say exactly go into the
  block declaration (clusters/blocks/<block>.yaml); every lifted object is rebuilt with the
  project's builders and compared with the original, and kept as a plain manifest when it differs;
- other objects are plain manifests under clusters/flux/<block>/ (shared by clusters), SealedSecrets
  and Secrets under clusters/<stack>/<block>/ (this cluster's own);
- Providers and Alerts become the stack's notifications.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import ConfigError, GitopsError
from eoepca_gitops.fluxtree import AppliedObject, diff, is_flux_kustomization, key, walk
from eoepca_gitops.importer.lift import Lifter, detect_domain, detect_ip, escape
from eoepca_gitops.importer.upgrade import TOOLKIT, target_api_versions, upgrade
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.render import file_name
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import (
    Block,
    BlockCatalog,
    BlockOverride,
    HelmRelease,
    HelmRepository,
    ReleaseOverride,
)
from eoepca_gitops.model.loader import read_yaml
from eoepca_gitops.model.stack import Stack, StackConfig

__all__ = ["ImportOptions", "ImportResult", "ReportItem", "import_tree"]

_VERSION = re.compile(r"^# Flux Version: (v[0-9][0-9.]*)\s*$", re.MULTILINE)
_COMPONENTS = re.compile(r"^# Components: (.+)$", re.MULTILINE)
_EXTRA = set(defaults.FLUX_EXTRA_COMPONENTS)
_KNOWN_CONTROLLERS = set(defaults.FLUX_COMPONENTS) | _EXTRA
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
_RELEASE_SPEC = {
    "chart",
    "interval",
    "timeout",
    "releaseName",
    "targetNamespace",
    "values",
    "valuesFrom",
    "install",
    "upgrade",
    "dependsOn",
    "suspend",
}
_KUSTOMIZATION_SPEC = {"interval", "retryInterval", "timeout", "prune", "wait", "healthChecks", "suspend"}
_PROVIDER_TYPES = {"slack", "msteams", "generic", "generic-hmac"}


@dataclass(frozen=True)
class ImportOptions:
    path: Path
    stack: str
    out: Path
    repo_root: Path | None = None
    flux_version: str | None = None
    flux_manifest: str | None = None  # as written into the stack file (relative to out)
    public_ip: str | None = None
    domain: str | None = None


@dataclass(frozen=True, order=True)
class ReportItem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


@dataclass
class ImportResult:
    files: dict[str, str]
    report: list[ReportItem]
    stack: Stack
    counts: dict[str, int] = field(default_factory=dict)

    def report_markdown(self) -> str:
        lines = [
            f"# Import report: stack {self.stack.name}",
            "",
            ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items())),
            "",
            f"{len(self.report)} item(s) not converted as such (kept as plain manifests where possible):",
            "",
        ]
        lines += [f"- `{item.file}:{item.line}` {item.reason}" for item in self.report]
        return "\n".join(lines) + "\n"


def _camel(name: str) -> str:
    head, *rest = re.split(r"[-_.]", name)
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "root"


def _repo_root(path: Path) -> Path:
    result = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise GitopsError(f"{path} is not inside a Git work tree: pass --repo-root DIR (the repository root)")
    return Path(result.stdout.strip())


class _Sources:
    """Where each object is written in the tree (file:line), found by a quick scan of its YAML files."""

    _DOC = re.compile(r"^---.*$", re.MULTILINE)

    def __init__(self, repo_root: Path, folders: Iterable[Path]) -> None:
        self.root = repo_root
        self.index: dict[tuple[str, str], list[tuple[str, int]]] = {}
        seen: set[Path] = set()
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.suffix in (".yaml", ".yml") and path.is_file() and path not in seen:
                    seen.add(path)
                    self._scan(path)

    def _scan(self, path: Path) -> None:
        text = path.read_text(errors="replace")
        rel = os.path.relpath(path, self.root)
        starts = [0] + [m.end() + 1 for m in self._DOC.finditer(text)]
        for start in starts:
            chunk = text[start:]
            end = self._DOC.search(chunk)
            chunk = chunk[: end.start()] if end else chunk
            kind = re.search(r"^kind:\s*['\"]?([A-Za-z0-9]+)", chunk, re.MULTILINE)
            name = re.search(r"^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*['\"]?([^'\"\s]+)", chunk, re.MULTILINE)
            if kind and name:
                line = text.count("\n", 0, start) + 1 + (kind.start() and chunk.count("\n", 0, kind.start()))
                self.index.setdefault((kind.group(1), name.group(1)), []).append((rel, line))

    def where(self, obj: Mapping[str, Any], fallback: str) -> tuple[str, int]:
        found = self.index.get((str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))))
        return found[0] if found else (fallback, 0)


class _Demote(Exception):
    def __init__(self, index: int, reason: str) -> None:
        self.index, self.reason = index, reason


@dataclass
class _BlockParts:
    name: str
    description: str
    namespaces: list[str] = field(default_factory=list)
    repositories: list[tuple[HelmRepository, dict[str, Any]]] = field(default_factory=list)
    releases: list[tuple[HelmRelease, dict[str, Any]]] = field(default_factory=list)
    shared: list[dict[str, Any]] = field(default_factory=list)  # plain manifests, every cluster
    own: list[dict[str, Any]] = field(default_factory=list)  # this cluster's (secrets)
    kustomization: dict[str, Any] | None = None  # the original Flux Kustomization's spec
    depends_on: list[str] = field(default_factory=list)


class _Importer:
    def __init__(self, opts: ImportOptions) -> None:
        self.opts = opts
        self.report: list[ReportItem] = []
        self.counts: dict[str, int] = {}
        self.files: dict[str, str] = {}
        self.repo_root = (opts.repo_root or _repo_root(opts.path)).resolve()
        self.path = opts.path.resolve()
        if not self.path.is_dir():
            raise GitopsError(f"{opts.path}: not a folder")
        try:
            self.root_path = "./" + self.path.relative_to(self.repo_root).as_posix()
        except ValueError:
            raise GitopsError(f"{opts.path} is not inside the repository root {self.repo_root}") from None
        self._json_args: dict[str, list[str]] = {}

    def rel(self, path: Path) -> str:
        return os.path.relpath(path, self.repo_root)

    def note(self, file: str, line: int, reason: str) -> None:
        self.report.append(ReportItem(file, line, reason))

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # --- flux-system --------------------------------------------------------------------------
    def flux_system(self) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None, str | None]:
        """(flux config, the GitRepository, the root Kustomization, install manifest text)."""
        flux: dict[str, Any] = {}
        components = sorted(self.path.rglob("gotk-components.yaml"))
        install_text = None
        if components:
            install = components[0]
            install_text = install.read_text(errors="replace")
            head = install_text[:2048]
            version, names = _VERSION.search(head), _COMPONENTS.search(head)
            if version:
                flux["version"] = version.group(1)
            else:
                self.note(
                    self.rel(install), 1, "no '# Flux Version:' header; the stack uses the default version"
                )
            if names:
                listed = [c.strip() for c in names.group(1).split(",") if c.strip()]
                unknown = [c for c in listed if c not in _KNOWN_CONTROLLERS]
                if unknown:
                    self.note(
                        self.rel(install), 1, f"components not modelled, left out: {', '.join(unknown)}"
                    )
                main = [c for c in listed if c in _KNOWN_CONTROLLERS and c not in _EXTRA]
                extra = [c for c in listed if c in _EXTRA]
                if main != list(defaults.FLUX_COMPONENTS):
                    flux["components"] = main
                if extra:
                    flux["componentsExtra"] = extra
            patches = self._controller_patches(install.parent)
            if patches:
                flux["patches"] = patches
        else:
            self.note(
                self.root_path, 0, "no flux-system/gotk-components.yaml: the stack uses the default Flux"
            )
        sync = sorted(self.path.rglob("gotk-sync.yaml"))
        git_repo = root = None
        if sync:
            for doc in yaml_io.load_all(sync[0].read_text()):
                if isinstance(doc, dict) and doc.get("kind") == "GitRepository" and git_repo is None:
                    git_repo = doc
                elif isinstance(doc, dict) and is_flux_kustomization(doc) and root is None:
                    root = doc
        else:
            self.note(
                self.root_path, 0, "no flux-system/gotk-sync.yaml: Git source unknown, placeholder written"
            )
        return flux, git_repo, root, install_text

    def _controller_patches(self, folder: Path) -> dict[str, Any]:
        kfile = folder / "kustomization.yaml"
        if not kfile.is_file():
            return {}
        kust = yaml_io.load(kfile.read_text()) or {}
        docs: list[tuple[dict[str, Any], str]] = []
        for name in kust.get("patchesStrategicMerge") or []:
            path = folder / str(name)
            if path.is_file():
                docs += [
                    (d, self.rel(path)) for d in yaml_io.load_all(path.read_text()) if isinstance(d, dict)
                ]
        for entry in kust.get("patches") or []:
            where = self.rel(kfile)
            text = entry.get("patch") if isinstance(entry, dict) else None
            if text is None and isinstance(entry, dict) and entry.get("path"):
                text = (folder / entry["path"]).read_text()
            parsed = yaml_io.load(text) if text else None
            target = (entry.get("target") or {}) if isinstance(entry, dict) else {}
            if isinstance(parsed, dict):
                docs.append((parsed, where))
            elif isinstance(parsed, list) and target.get("kind") == "Deployment":
                self._json_patch(parsed, target, where)
        patches: dict[str, Any] = {}
        for doc, where in docs:
            kind, name = doc.get("kind"), (doc.get("metadata") or {}).get("name")
            if kind != "Deployment" or name not in _KNOWN_CONTROLLERS:
                if not (kind == "Kustomization" and name == "flux-system"):
                    self.note(where, 0, f"flux-system patch of {kind} {name} not modelled, left out")
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
        for name, args in self._json_args.items():
            patches.setdefault(name, {}).setdefault("args", []).extend(args)
        return patches

    def _json_patch(self, ops: list[Any], target: Mapping[str, Any], where: str) -> None:
        names = [c for c in _KNOWN_CONTROLLERS if re.fullmatch(str(target.get("name") or ".*"), c)]
        for op in ops:
            if isinstance(op, dict) and op.get("op") == "add" and str(op.get("path", "")).endswith("/args/-"):
                for name in names:
                    self._json_args.setdefault(name, []).append(str(op.get("value")))
            else:
                self.note(where, 0, f"flux-system JSON patch {op!r:.80} not modelled, left out")

    # --- the tree -----------------------------------------------------------------------------
    def run(self) -> ImportResult:
        opts = self.opts
        stack = opts.stack
        flux_cfg, git_repo, root_k, install_text = self.flux_system()
        git_meta = (git_repo or {}).get("metadata") or {}
        source_name = git_meta.get("name") or defaults.GIT_SOURCE_NAME
        flux_ns = git_meta.get("namespace") or defaults.FLUX_NAMESPACE
        tree_version = flux_cfg.get("version")
        version = opts.flux_version or tree_version or defaults.FLUX_VERSION
        flux_cfg["version"] = version
        install: tuple[dict[str, Any], ...] = ()
        if opts.flux_manifest:
            flux_cfg["manifest"] = opts.flux_manifest
        elif install_text and tree_version == version:
            manifest = f"clusters/{stack}/gotk-components.yaml"
            self.files[manifest] = install_text
            flux_cfg["manifest"] = "./" + manifest
            install = tuple(d for d in yaml_io.load_all(install_text) if isinstance(d, dict))
        if not install:
            try:
                from eoepca_gitops.model.stack import FluxConfig

                install = load_install_manifest(
                    FluxConfig.model_validate(
                        {k: v for k, v in flux_cfg.items() if k in ("version", "manifest")}
                    ),
                    file=f"Pulumi.{stack}.yaml",
                    base_dir=opts.out,
                )
            except (GitopsError, ValidationError) as exc:
                self.note(
                    f"Pulumi.{stack}.yaml",
                    0,
                    f"install manifest of Flux {version} unavailable ({exc}); "
                    "objects written in the current Flux API versions",
                )
        if tree_version and tree_version != version:
            self.note(self.root_path, 0, f"the tree runs Flux {tree_version}; the stack installs {version}")
        self.apis = target_api_versions(install)

        if root_k is None or os.path.normpath(
            str((root_k.get("spec") or {}).get("path", "")).removeprefix("./")
        ) != (os.path.normpath(self.root_path.removeprefix("./"))):
            root_k = {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": defaults.GIT_SOURCE_NAME, "namespace": flux_ns},
                "spec": {
                    "path": self.root_path,
                    "prune": True,
                    "interval": defaults.KUSTOMIZATION_INTERVAL,
                    "sourceRef": {"kind": "GitRepository", "name": source_name},
                },
            }
        root_meta = root_k["metadata"]
        root_id = f"{root_meta.get('namespace') or flux_ns}/{root_meta['name']}"
        tree = walk(self.repo_root, self.root_path, root_k, source_name=source_name, strict=False)
        for problem in tree.problems:
            self.note(problem.file, problem.line, problem.reason)
            if problem.reason.startswith("not valid YAML"):
                self.files[f"clusters/{stack}/unconverted/{problem.file}._yaml"] = (
                    self.repo_root / problem.file
                ).read_text(errors="replace")
        self.sources = _Sources(self.repo_root, [self.repo_root])
        return self._convert(
            tree.objects, tree.kustomizations, root_k, root_id, git_repo, flux_cfg, flux_ns, install
        )

    def _block_for(self, applied: AppliedObject, root_id: str, root_block: str, file: str) -> str:
        if applied.kustomization != root_id:
            return _name(applied.kustomization.partition("/")[2])
        parts = Path(os.path.relpath(self.repo_root / file, self.path)).parts
        if len(parts) > 1 and parts[0] != "..":
            return _name(f"{self.path.name}-{parts[0]}")
        return root_block

    def _convert(
        self,
        objects: list[AppliedObject],
        kustomizations: Mapping[str, dict[str, Any]],
        root_k: dict[str, Any],
        root_id: str,
        git_repo: dict[str, Any] | None,
        flux_cfg: dict[str, Any],
        flux_ns: str,
        install: tuple[dict[str, Any], ...],
    ) -> ImportResult:
        stack = self.opts.stack
        root_block = _name(root_k["metadata"]["name"])
        blocks: dict[str, _BlockParts] = {
            root_block: _BlockParts(root_block, "Objects of the cluster's root Kustomization.")
        }
        blocks[root_block].kustomization = root_k.get("spec") or {}
        plain_home: dict[str, str] = {}
        lifted: list[tuple[str, dict[str, Any], str, int]] = []  # (block, upgraded original, file, line)
        providers: list[tuple[dict[str, Any], str, int]] = []
        alerts: list[tuple[dict[str, Any], str, int]] = []
        seen_keys: dict[tuple[str, str, str, str], str] = {}
        for applied in objects:
            obj = applied.obj
            meta = obj.get("metadata") or {}
            labels = meta.get("labels") or {}
            kind, api = str(obj.get("kind")), str(obj.get("apiVersion"))
            group = api.rpartition("/")[0]
            file, line = self.sources.where(obj, applied.path.removeprefix("./"))
            if labels.get("app.kubernetes.io/part-of") == "flux" or (
                kind == "CustomResourceDefinition" and str(meta.get("name", "")).endswith(TOOLKIT)
            ):
                self.count("Flux install objects (installed by the stack)")
                continue
            if kind == "GitRepository" and meta.get("name") == (git_repo or {}).get("metadata", {}).get(
                "name"
            ):
                continue
            k_id = f"{meta.get('namespace') or flux_ns}/{meta.get('name')}"
            if is_flux_kustomization(obj) and k_id == root_id:
                # the root Kustomization as the cluster has it: flux-system's patches applied
                blocks[root_block].kustomization = upgrade(obj, self.apis)[0].get("spec") or {}
                continue
            if is_flux_kustomization(obj) and k_id in kustomizations:
                name = _name(str(meta["name"]))
                parts = blocks.setdefault(
                    name, _BlockParts(name, f"Objects of the Flux Kustomization {k_id}.")
                )
                upgraded, _ = upgrade(obj, self.apis)
                parts.kustomization = upgraded.get("spec") or {}
                self.count("Flux Kustomizations (blocks)")
                continue
            k = key(obj)
            if k in seen_keys:
                self.note(file, line, f"{kind} {k_id} applied again (first by {seen_keys[k]}); left out")
                continue
            seen_keys[k] = applied.kustomization
            block = self._block_for(applied, root_id, root_block, file)
            sub = (
                Path(file).relative_to(self.rel(self.path)).parts[0]
                if file.startswith(self.rel(self.path))
                else ""
            )
            blocks.setdefault(block, _BlockParts(block, f"Objects of {self.rel(self.path)}/{sub}."))
            if applied.kustomization == root_id and block != root_block:
                plain_home[block] = root_block
            obj, notes = upgrade(obj, self.apis)
            if notes:
                self.count("objects upgraded to newer API versions")
            extra_meta = set(meta) - {"name", "namespace"}
            spec = obj.get("spec") or {}
            if (
                kind == "Namespace"
                and group == ""
                and not extra_meta
                and set(obj) <= {"apiVersion", "kind", "metadata"}
            ) or (
                kind == "HelmRepository"
                and group.endswith(TOOLKIT)
                and not extra_meta
                and (set(spec) <= {"url", "interval", "type", "timeout"} and "interval" in spec)
            ):
                lifted.append((block, obj, file, line))
            elif kind == "HelmRelease" and group.endswith(TOOLKIT):
                why = self._release_unmodelled(obj, extra_meta)
                if why:
                    self.note(file, line, f"HelmRelease {k_id}: {why}; kept as a plain manifest")
                    blocks[block].shared.append(obj)
                else:
                    lifted.append((block, obj, file, line))
            elif kind == "Provider" and group.endswith(TOOLKIT):
                providers.append((obj, file, line))
            elif kind == "Alert" and group.endswith(TOOLKIT):
                alerts.append((obj, file, line))
            elif kind in ("SealedSecret", "Secret") or "sops" in obj:
                what = (
                    "encrypted SealedSecret (sealed with this cluster's key)"
                    if kind == "SealedSecret"
                    else (f"{kind} with secret data")
                )
                self.note(
                    file, line, f"{what} {k_id}: kept as a manifest of this cluster only (clusters/{stack}/)"
                )
                blocks[block].own.append(obj)
            else:
                if group.endswith(TOOLKIT):
                    self.note(file, line, f"{kind} {k_id}: Flux kind not modelled; kept as a plain manifest")
                elif group not in _CORE_GROUPS:
                    self.note(
                        file, line, f"{kind} ({group}) {k_id}: kind not modelled; kept as a plain manifest"
                    )
                blocks[block].shared.append(obj)

        notifications = self._notifications(providers, alerts, blocks, root_block, flux_ns)
        values = [o for _, o, _, _ in lifted] + [o for b in blocks.values() for o in b.shared]
        ip = self.opts.public_ip or detect_ip(values)
        domain = self.opts.domain or detect_domain(values)
        if ip and domain == ip.replace(".", "-") + ".nip.io":
            domain = None
        lifter = Lifter(ip, domain)
        cluster: dict[str, Any] = {"name": stack, "publicIp": ip or "127.0.0.1"}
        if domain:
            cluster["domain"] = domain
        if not ip:
            self.note(
                f"Pulumi.{stack}.yaml",
                0,
                "no public IP recurs in the tree: set eoepca-gitops:cluster.publicIp",
            )
        git = self._git(git_repo)
        base_config = {"cluster": cluster, "flux": flux_cfg, "git": git, "notifications": notifications}

        # Lift, build with the project's builders, compare, demote what differs; until stable.
        demoted: set[int] = set()
        while True:
            try:
                assembled = self._assemble(blocks, lifted, demoted, lifter, plain_home)
            except _Demote as exc:
                demoted.add(exc.index)
                _, obj, file, line = lifted[exc.index]
                self.note(
                    file,
                    line,
                    f"{obj['kind']} {obj['metadata'].get('name')}: {exc.reason}; kept as a plain manifest",
                )
                continue
            assembled = self._share(assembled)
            stack_model, mismatched = self._verify(assembled, lifted, base_config, install)
            if not mismatched:
                break
            demoted |= mismatched
        self.counts["lifted into block declarations"] = len(lifted) - len(demoted)
        self._write(assembled, stack_model, base_config)
        return ImportResult(self.files, sorted(set(self.report)), stack_model, self.counts)

    @staticmethod
    def _release_unmodelled(obj: Mapping[str, Any], extra_meta: set[str]) -> str | None:
        spec = obj.get("spec") or {}
        chart = (spec.get("chart") or {}).get("spec")
        if extra_meta:
            return f"metadata.{', metadata.'.join(sorted(extra_meta))} not modelled"
        if extra := set(spec) - _RELEASE_SPEC:
            return f"spec.{', spec.'.join(sorted(extra))} not modelled"
        if not isinstance(chart, dict) or set(spec.get("chart", {})) != {"spec"}:
            return "no spec.chart.spec (chartRef) not modelled"
        if extra := set(chart) - {"chart", "version", "sourceRef"}:
            return f"spec.chart.spec.{', '.join(sorted(extra))} not modelled"
        if not chart.get("version"):
            return "no chart version (latest) not modelled"
        if "interval" not in spec:
            return "no spec.interval"
        return None

    def _notifications(
        self,
        providers: list[tuple[dict[str, Any], str, int]],
        alerts: list[tuple[dict[str, Any], str, int]],
        blocks: dict[str, _BlockParts],
        root_block: str,
        flux_ns: str,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"providers": [], "alerts": []}
        names: set[str] = set()
        for obj, file, line in providers:
            meta, spec = obj["metadata"], obj.get("spec") or {}
            ok = (
                set(meta) <= {"name", "namespace"}
                and meta.get("namespace", flux_ns) == flux_ns
                and set(spec) <= {"type", "channel", "secretRef"}
                and spec.get("type") in _PROVIDER_TYPES
                and (spec.get("secretRef") or {}).get("name")
            )
            if not ok:
                self.note(
                    file, line, f"Provider {meta.get('name')}: fields not modelled; kept as a plain manifest"
                )
                blocks[root_block].shared.append(obj)
                continue
            secret = spec["secretRef"]["name"]
            entry = {"name": meta["name"], "type": spec["type"], "addressSecret": _camel(secret)}
            if spec.get("channel"):
                entry["channel"] = spec["channel"]
            out["providers"].append(entry)
            names.add(meta["name"])
            mine = f"{meta['name']}-url"
            self.note(
                file,
                line,
                f"Provider {meta['name']}: its address is the stack secret {_camel(secret)} "
                f"(Secret {mine}); set it with `pulumi config set --secret {_camel(secret)} URL`",
            )
            for parts in blocks.values():
                for holder in [o for o in parts.own if o["metadata"].get("name") == mine]:
                    if holder["metadata"].get("namespace", flux_ns) == flux_ns:
                        parts.own.remove(holder)
                        self.note(
                            file,
                            line,
                            f"{holder['kind']} {flux_ns}/{mine} replaced by the stack's Secret {mine}",
                        )
        for obj, file, line in alerts:
            meta, spec = obj["metadata"], obj.get("spec") or {}
            sources = spec.get("eventSources") or []
            ok = (
                set(meta) <= {"name", "namespace"}
                and meta.get("namespace", flux_ns) == flux_ns
                and set(spec) <= {"providerRef", "eventSeverity", "eventSources"}
                and (spec.get("providerRef") or {}).get("name") in names
                and spec.get("eventSeverity", "info") in ("info", "error")
                and all(set(s) <= {"kind", "name", "namespace"} for s in sources)
            )
            if not ok:
                self.note(
                    file, line, f"Alert {meta.get('name')}: fields not modelled; kept as a plain manifest"
                )
                blocks[root_block].shared.append(obj)
                continue
            out["alerts"].append(
                {
                    "name": meta["name"],
                    "provider": spec["providerRef"]["name"],
                    "severity": spec.get("eventSeverity", "info"),
                    "eventSources": sources,
                }
            )
        return {k: v for k, v in out.items() if v}

    def _git(self, repo: dict[str, Any] | None) -> dict[str, Any]:
        if repo is None:
            return {"url": "ssh://git@example.invalid/REPLACE-ME", "branch": "main"}
        spec = repo.get("spec") or {}
        git: dict[str, Any] = {"url": spec.get("url", "")}
        ref = {k: v for k, v in (spec.get("ref") or {}).items() if k in ("branch", "tag", "semver", "commit")}
        if "commit" in ref and len(ref) > 1:
            ref = {"commit": ref["commit"]}
        git.update(ref or {"branch": "master"})
        for k in ("interval", "timeout", "ignore"):
            if spec.get(k):
                git[k] = spec[k]
        if (spec.get("secretRef") or {}).get("name"):
            url = git["url"]
            git["auth"] = {"type": "https" if url.startswith("http") else "ssh"}
            self.note(
                "gotk-sync.yaml",
                0,
                f"Git credentials (Secret {spec['secretRef']['name']}, made by flux "
                "bootstrap) become a stack secret: set gitSshPrivateKey or gitPassword with --secret",
            )
        return git

    # --- assembling, verifying, writing ----------------------------------------------------------
    def _plain(self, obj: dict[str, Any], lifter: Lifter) -> dict[str, Any]:
        """A plain manifest as written to Git: `$` escaped (Flux substitutes it), then IP/domain lifted."""
        from eoepca_gitops.fluxtree import substitution_disabled
        from eoepca_gitops.importer.lift import map_strings

        if substitution_disabled(obj):
            return obj
        out: dict[str, Any] = map_strings(obj, lambda s: lifter(escape(s)))
        return out

    def _assemble(
        self,
        blocks: dict[str, _BlockParts],
        lifted: list[tuple[str, dict[str, Any], str, int]],
        demoted: set[int],
        lifter: Lifter,
        plain_home: Mapping[str, str],
    ) -> list[tuple[Block, list[dict[str, Any]], list[dict[str, Any]], dict[int, int]]]:
        """Per block: the model, its shared and own plain manifests, and lifted index -> position."""
        shared: dict[str, list[dict[str, Any]]] = {n: [] for n in blocks}
        own: dict[str, list[dict[str, Any]]] = {n: [] for n in blocks}
        for name, parts in blocks.items():
            home = plain_home.get(name, name)
            shared[home] += parts.shared
            own[home] += parts.own
        content: dict[str, dict[str, Any]] = {
            n: {"namespaces": [], "helmRepositories": [], "helmReleases": []} for n in blocks
        }
        where: dict[str, dict[int, int]] = {n: {} for n in blocks}
        for i, (block, obj, _, _) in enumerate(lifted):
            if i in demoted:
                shared[plain_home.get(block, block)].append(obj)
                continue
            meta, spec, kind = obj["metadata"], obj.get("spec") or {}, obj["kind"]
            if kind == "Namespace":
                section, item = "namespaces", meta["name"]
            elif kind == "HelmRepository":
                section, item = (
                    "helmRepositories",
                    {"name": meta["name"], "namespace": meta.get("namespace"), **spec},
                )
                model: type[HelmRepository | HelmRelease] = HelmRepository
            else:
                chart = spec["chart"]["spec"]
                item = {
                    "name": meta["name"],
                    "namespace": meta.get("namespace"),
                    "chart": chart["chart"],
                    "version": str(chart["version"]),
                    "sourceRef": chart["sourceRef"],
                    **{k: v for k, v in spec.items() if k != "chart"},
                }
                if "values" in item:
                    item["values"] = lifter.lift(item["values"])
                section, model = "helmReleases", HelmRelease
            if section != "namespaces":
                try:
                    model.model_validate(item)
                except ValidationError as exc:
                    err = exc.errors()[0]
                    raise _Demote(i, f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
            content[block][section].append(item)
            where[block][i] = len(content[block][section]) - 1
        out = []
        for name, parts in blocks.items():
            data: dict[str, Any] = {"name": name, "description": parts.description, **content[name]}
            k = parts.kustomization
            if (
                k is not None
            ):  # every Flux Kustomization of the tree stays one, even with nothing left to apply
                data["kustomization"] = {"path": name, **{f: k[f] for f in _KUSTOMIZATION_SPEC if f in k}}
                if "healthChecks" in data["kustomization"]:
                    data["kustomization"]["healthChecks"] = [
                        {a: str(b) for a, b in c.items()} for c in data["kustomization"]["healthChecks"]
                    ]
            elif shared[name] or own[name]:
                data["kustomization"] = {"path": name}
            deps = [_name(str(d.get("name"))) for d in (k or {}).get("dependsOn") or []]
            data["dependsOn"] = [d for d in deps if d in blocks and d != name]
            if not any(
                data.get(f) for f in ("namespaces", "helmRepositories", "helmReleases", "kustomization")
            ):
                continue
            try:
                model_block = Block.model_validate(data)
            except ValidationError as exc:
                self.note(
                    self.root_path,
                    0,
                    f"block {name}: {exc.errors()[0]['msg']}; its Kustomization gets defaults",
                )
                data["kustomization"] = {"path": name}
                model_block = Block.model_validate(data)
            out.append(
                (
                    model_block,
                    [self._plain(o, lifter) for o in shared[name]],
                    [self._plain(o, lifter) for o in own[name]],
                    where[name],
                )
            )
        return out

    def _share(self, parts: list[_Assembled]) -> list[_Assembled]:
        """Plain manifests go to clusters/flux/<block>, unless another cluster's differ: then to its own."""
        out = []
        for block, shared, own, where in parts:
            existing = self.opts.out / "clusters" / "flux" / block.name
            if shared and existing.is_dir():
                mine = self._folder_files(shared, f"clusters/flux/{block.name}")
                theirs = {
                    f"clusters/flux/{block.name}/{p.relative_to(existing).as_posix()}": p.read_text()
                    for p in existing.rglob("*")
                    if p.is_file()
                }
                if mine != theirs:
                    self.note(
                        f"clusters/flux/{block.name}",
                        0,
                        f"block {block.name}: this cluster's plain manifests "
                        f"differ from the shared ones; kept in clusters/{self.opts.stack}/{block.name}",
                    )
                    own, shared = own + shared, []
            out.append((block, shared, own, where))
        return out

    def _git_path(self, parts: list[_Assembled]) -> str:
        return f"./clusters/{self.opts.stack}" if any(own for _, _, own, _ in parts) else defaults.GIT_PATH

    def _stack(self, parts: list[_Assembled], base_config: Mapping[str, Any]) -> Stack:
        config = copy.deepcopy(dict(base_config))
        config["git"]["path"] = self._git_path(parts)
        config["blocks"] = [b.name for b, _, _, _ in parts]
        model = StackConfig.model_validate(config)
        keys = [p.address_secret for p in model.notifications.providers]
        if model.git.auth.type == "ssh":
            keys.append(model.git.auth.ssh_private_key_secret)
        if model.git.auth.type == "https":
            keys.append(model.git.auth.password_secret)
        from pydantic import SecretStr

        model = model.model_copy(update={"secrets": {k: SecretStr(f"<secret {k}>") for k in keys}})
        return Stack(
            name=self.opts.stack, config=model, catalog=BlockCatalog(blocks=[b for b, _, _, _ in parts])
        )

    def _verify(
        self,
        parts: list[_Assembled],
        lifted: list[tuple[str, dict[str, Any], str, int]],
        base_config: Mapping[str, Any],
        install: tuple[dict[str, Any], ...],
    ) -> tuple[Stack, set[int]]:
        """Build the stack with the project's builders; lifted objects that come out different are demoted."""
        try:
            stack = self._stack(parts, base_config)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(
                f"Pulumi.{self.opts.stack}.yaml", ".".join(map(str, err["loc"])), err["msg"]
            ) from None
        built = {key(o): o for o in build_stack(stack, install).all()}
        mismatched: set[int] = set()
        for _, _, _, where in parts:
            for i in where:
                _, original, file, line = lifted[i]
                mine = built.get(key(original))
                problems = diff(mine, original) if mine is not None else ["not built"]
                if problems:
                    mismatched.add(i)
                    shown = "; ".join(problems[:3])
                    self.note(
                        file,
                        line,
                        f"{original['kind']} {original['metadata']['name']}: the block model "
                        f"cannot say it exactly ({shown}); kept as a plain manifest",
                    )
        return stack, mismatched

    @staticmethod
    def _folder_files(
        objects: list[dict[str, Any]], folder: str, extra: Iterable[str] = ()
    ) -> dict[str, str]:
        files = {f"{folder}/{_file(o)}": _HEADER + yaml_io.dump(o) for o in objects}
        resources = [*extra, *sorted(f.rsplit("/", 1)[1] for f in files)]
        files[f"{folder}/kustomization.yaml"] = _HEADER + yaml_io.dump(
            {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
        )
        return files

    def _write(self, parts: list[_Assembled], stack: Stack, base_config: Mapping[str, Any]) -> None:
        name = self.opts.stack
        per_cluster = self._git_path(parts) != defaults.GIT_PATH
        overrides: dict[str, Any] = {}
        renames: dict[str, str] = {}
        for block, shared, own, _ in parts:
            if block.kustomization:
                if shared or not per_cluster:
                    self.files |= self._folder_files(shared, f"clusters/flux/{block.name}")
                if per_cluster:
                    base = [f"../../flux/{block.name}"] if shared else []
                    self.files |= self._folder_files(own, f"clusters/{name}/{block.name}", base)
            target = self.opts.out / defaults.BLOCKS_DIR / f"{block.name}.yaml"
            if target.is_file():
                override = _override(target, block)
                if override == "same":
                    continue
                if isinstance(override, BlockOverride):
                    overrides[block.name] = override.model_dump(
                        by_alias=True, exclude_defaults=True, mode="json"
                    )
                    continue
                renames[block.name] = f"{block.name}-{name}"
                self.note(
                    str(target.relative_to(self.opts.out)),
                    0,
                    f"block {block.name} differs from the declared "
                    f"one beyond chart versions and values; declared as {renames[block.name]}",
                )
            self.files[f"{defaults.BLOCKS_DIR}/{renames.get(block.name, block.name)}.yaml"] = _block_file(
                block, renames
            )
        config: dict[str, Any] = copy.deepcopy(dict(base_config))
        config["git"]["path"] = self._git_path(parts)
        config["blocks"] = [renames.get(b.name, b.name) for b, _, _, _ in parts]
        if overrides:
            config["overrides"] = overrides
        if not config["notifications"]:
            del config["notifications"]
        ns = defaults.CONFIG_NAMESPACE
        body: dict[str, Any] = {f"{ns}:{k}": v for k, v in config.items()}
        for secret in sorted(stack.config.secrets):
            body[f"{ns}:{secret}"] = {"secure": "REPLACE-ME"}
        header = (
            f"# Stack {name}, imported by `eoepca-gitops import` from {self.root_path}.\n"
            "# See import-report.md.\n"
            + "".join(
                f"# Before `pulumi up`: pulumi config set --stack {name} --secret {s} ...\n"
                for s in sorted(stack.config.secrets)
            )
        )
        self.files[f"Pulumi.{name}.yaml"] = header + _dump({"config": body})


_Assembled = tuple[Block, list[dict[str, Any]], list[dict[str, Any]], dict[int, int]]
_HEADER = "# Imported by eoepca-gitops import.\n"


def _file(obj: Mapping[str, Any]) -> str:
    return file_name(dict(obj)).lower()


def _dump(value: Any) -> str:
    import yaml

    return yaml.dump(value, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False, width=120)


def _block_file(block: Block, renames: Mapping[str, str]) -> str:
    data = block.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    data["name"] = renames.get(block.name, block.name)
    if "dependsOn" in data:
        data["dependsOn"] = [renames.get(d, d) for d in data["dependsOn"]]
    return f"# Building block {data['name']}, imported by eoepca-gitops import.\n" + _dump(data)


def _values_delta(old: Any, new: Any) -> tuple[bool, Any]:
    """(possible, delta) such that deep-merging delta into old gives new."""
    if isinstance(old, dict) and isinstance(new, dict):
        if set(old) - set(new):
            return False, None
        delta = {}
        for k, v in new.items():
            if k not in old:
                delta[k] = v
            elif old[k] != v:
                ok, d = _values_delta(old[k], v)
                if not ok:
                    return False, None
                delta[k] = d
        return True, delta
    return True, new


def _override(path: Path, block: Block) -> BlockOverride | str | None:
    """'same', the override that turns the declared block into `block`, or None when there is none."""
    try:
        declared = Block.model_validate(read_yaml(path))
    except (ValidationError, GitopsError):
        return None
    if declared == block:
        return "same"
    plain = {"helm_releases": [], "description": ""}
    if declared.model_copy(update=plain) != block.model_copy(update=plain):
        return None
    if [r.name for r in declared.helm_releases] != [r.name for r in block.helm_releases]:
        return None
    releases: dict[str, ReleaseOverride] = {}
    for old, new in zip(declared.helm_releases, block.helm_releases, strict=True):
        fixed = {"version": "", "values": {}, "suspend": False}
        if old.model_copy(update=fixed) != new.model_copy(update=fixed):
            return None
        ok, delta = _values_delta(old.values, new.values)
        if not ok:
            return None
        if old.version != new.version or delta or old.suspend != new.suspend:
            releases[new.name] = ReleaseOverride(
                version=new.version if new.version != old.version else None,
                values=delta or {},
                suspend=new.suspend if new.suspend != old.suspend else None,
            )
    return BlockOverride(releases=releases) if releases else "same"


def import_tree(opts: ImportOptions) -> ImportResult:
    """Import the tree at opts.path (see the module doc). Raises GitopsError only for unusable options."""
    importer = _Importer(opts)
    result = importer.run()
    result.files["import-report.md"] = result.report_markdown()
    return result
