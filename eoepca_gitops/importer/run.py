"""`import_tree`: read the tree, route its objects, lift the cluster's values, assemble and verify the
blocks, write the files. Pure apart from reading the tree (and running kustomize through
eoepca_gitops.fluxtree): the result is a mapping of relative paths to file contents plus a report;
the command writes them.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import read_text
from eoepca_gitops.flux_apis import KUSTOMIZE_GROUP, SOURCE_GROUP, api_versions, is_flux_group
from eoepca_gitops.fluxtree import FluxTree, key, walk
from eoepca_gitops.fluxtree.fetch import Limits, fetching
from eoepca_gitops.fluxtree.remote import fetched_with
from eoepca_gitops.importer.assemble import assemble, stack_config
from eoepca_gitops.importer.lift import Lifter, detect_domain, detect_ip
from eoepca_gitops.importer.merge import place
from eoepca_gitops.importer.notifications import notifications_config
from eoepca_gitops.importer.read import (
    FluxSystem,
    SourceIndex,
    TreeRoot,
    git_config,
    read_flux_system,
    tree_root,
)
from eoepca_gitops.importer.report import Report, ReportItem
from eoepca_gitops.importer.route import Routed, route
from eoepca_gitops.importer.variables import stack_variables
from eoepca_gitops.importer.write import write_files
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import refuse_plain_credentials, without_chart_values
from eoepca_gitops.model.stack import FluxConfig, Stack
from eoepca_gitops.project import stack_file_name

__all__ = ["ImportOptions", "ImportResult", "import_tree"]

# Flux's sources: their URLs are where charts and manifests come from, not the cluster's hosts.
_SOURCES = ("GitRepository", "HelmRepository", "OCIRepository", "Bucket")


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
    fetch: Limits | None = None  # --fetch-remote: fetch remote resources within these caps


@dataclass
class ImportResult:
    files: dict[str, str]
    report: list[ReportItem]
    stack: Stack
    counts: dict[str, int] = field(default_factory=dict)


def _install(
    opts: ImportOptions, system: FluxSystem, version: str, files: dict[str, str], report: Report
) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    """The stack's `flux` config and the install manifest its objects are written for."""
    flux = {**system.flux, "version": version}
    tree_version = system.flux.get("version")
    install: tuple[dict[str, Any], ...] = ()
    if opts.flux_manifest:
        flux["manifest"] = opts.flux_manifest
    elif system.install_text and tree_version == version:
        manifest = f"clusters/{opts.stack}/gotk-components.yaml"
        files[manifest] = system.install_text
        flux["manifest"] = "./" + manifest
        install = tuple(d for d in yaml_io.load_all(system.install_text) if isinstance(d, dict))
    if not install:
        try:
            install = load_install_manifest(
                FluxConfig.model_validate({k: v for k, v in flux.items() if k in ("version", "manifest")}),
                file=stack_file_name(opts.stack),
                project=opts.out,
            )
        except (GitopsError, ValidationError) as exc:
            report.note(
                stack_file_name(opts.stack),
                0,
                f"install manifest of Flux {version} unavailable ({exc}); "
                "objects written in the current Flux API versions",
            )
    return flux, install


def _root_kustomization(tree: TreeRoot, system: FluxSystem, source_name: str, flux_ns: str) -> dict[str, Any]:
    """The sync Kustomization of the tree when it applies the imported folder, else one that does."""
    root = system.root_kustomization
    declared = str(((root or {}).get("spec") or {}).get("path", "")).removeprefix("./")
    if root is not None and os.path.normpath(declared) == os.path.normpath(tree.root_path.removeprefix("./")):
        return root
    return {
        "apiVersion": f"{KUSTOMIZE_GROUP}/v1",
        "kind": "Kustomization",
        "metadata": {"name": defaults.GIT_SOURCE_NAME, "namespace": flux_ns},
        "spec": {
            "path": tree.root_path,
            "prune": True,
            "interval": defaults.KUSTOMIZATION_INTERVAL,
            "sourceRef": {"kind": "GitRepository", "name": source_name},
        },
    }


def _cluster(opts: ImportOptions, routed: Routed, report: Report) -> tuple[dict[str, Any], Lifter]:
    """The stack's `cluster`: the IP and domain only where the tree proves them (they recur in what
    the blocks apply, Flux's sources aside), and what writes them as ${public_ip} / ${domain}."""
    objects = [c.forms.final for c in routed.candidates]
    objects += [c.forms.final for parts in routed.blocks.values() for c in parts.shared]
    values = [
        o
        for o in objects
        if not (o.get("kind") in _SOURCES and is_flux_group(str(o.get("apiVersion")).rpartition("/")[0]))
    ]
    ip = opts.public_ip or detect_ip(values)
    domain = opts.domain or detect_domain(values)
    if ip and domain == ip.replace(".", "-") + ".nip.io":
        domain = None
    cluster: dict[str, Any] = {"name": opts.stack}
    if ip:
        cluster["publicIp"] = ip
    else:
        report.note(
            stack_file_name(opts.stack),
            0,
            "no public IP recurs in the tree: set eoepca-gitops:cluster.publicIp "
            "(the stack is refused until then)",
        )
    if domain:
        cluster["domain"] = domain
    return cluster, Lifter(ip, domain)


def _walk(tree: TreeRoot, root_k: dict[str, Any], source_name: str, fetch: Limits | None) -> FluxTree:
    """The tree as Flux applies it (lenient); with `fetch`, remote resources fetched within its caps."""
    with fetching(fetch) as fetcher:
        return walk(
            tree.repo_root, tree.root_path, root_k, source_name=source_name, strict=False, fetcher=fetcher
        )


def _report_remote(walked: FluxTree, report: Report, fetched: bool) -> None:
    """Each remote entry (file:line), and with --fetch-remote how many objects its folder builds."""
    built: dict[str, int] = {}
    for applied in walked.objects:
        if (folder := fetched_with(applied.obj)) is not None:
            built[folder] = built.get(folder, 0) + 1
    if built:
        report.count(
            "objects fetched for remote folders (not converted: Flux builds them)", sum(built.values())
        )
    for use in walked.remote:
        what = "a Git repository" if use.remote.kind == "git" else "a URL"
        folder = next((f for f in built if Path(use.folder).is_relative_to(f)), use.folder)
        known = (
            f"fetched: {built.get(folder, 0)} object(s) built with {folder}"
            if fetched
            else "its objects are not known here"
        )
        report.note(
            use.file,
            use.line,
            # no `: ` after the URL: one ending in a secret's name (.../passwd) would read as `key: value`
            f"{use.key}: {use.remote.entry} ({what}), built by Flux at apply time; the folder "
            f"{use.folder} is carried unchanged; {known}",
        )


def import_tree(opts: ImportOptions) -> ImportResult:
    """Import the tree at opts.path. Raises GitopsError for unusable options and for a clash with
    the project that no new name resolves, before any file is written."""
    report = Report()
    files: dict[str, str] = {}
    stack_file = stack_file_name(opts.stack)
    tree = tree_root(opts.path, opts.repo_root)

    system = read_flux_system(tree, report)
    git_meta = (system.git_repository or {}).get("metadata") or {}
    source_name = git_meta.get("name") or defaults.GIT_SOURCE_NAME
    flux_ns = git_meta.get("namespace") or defaults.FLUX_NAMESPACE
    tree_version = system.flux.get("version")
    version = opts.flux_version or tree_version or defaults.FLUX_VERSION
    flux, install = _install(opts, system, version, files, report)
    if tree_version and tree_version != version:
        report.note(tree.root_path, 0, f"the tree runs Flux {tree_version}; the stack installs {version}")
    apis = api_versions(install)

    root_k = _root_kustomization(tree, system, source_name, flux_ns)
    root_meta = root_k["metadata"]
    root_id = f"{root_meta.get('namespace') or flux_ns}/{root_meta['name']}"
    walked = _walk(tree, root_k, source_name, opts.fetch)
    _report_remote(walked, report, fetched=opts.fetch is not None)
    for problem in walked.problems:
        report.note(problem.file, problem.line, problem.reason)
        if problem.reason.startswith("not valid YAML"):
            files[f"clusters/{opts.stack}/unconverted/{problem.file}._yaml"] = read_text(
                tree.repo_root, problem.file
            )
    sources = SourceIndex(tree.repo_root, [tree.repo_root])
    stack_keys = {key(o) for o in install} | {(SOURCE_GROUP, "GitRepository", flux_ns, source_name)}
    # what was fetched for a remote folder is counted, not converted: the folder is carried
    known = dataclasses.replace(walked, objects=[a for a in walked.objects if fetched_with(a.obj) is None])
    routed = route(known, root_id, stack_keys, flux_ns, apis, tree, sources, opts.stack, report)

    variables = stack_variables(routed, flux_ns, report)
    notifications = notifications_config(routed, flux_ns, report)
    cluster, lifter = _cluster(opts, routed, report)
    git = git_config(system.git_repository, tree.root_path, report)
    base_config = {
        "cluster": cluster,
        "flux": flux,
        "git": git,
        "notifications": notifications,
        "variables": variables,
    }
    config = stack_config(base_config, stack_file)
    blocks, stack = assemble(opts.stack, routed, lifter, flux_ns, config, install, report)
    placed = place(opts.out, opts.stack, blocks, report)
    unset = [
        f"eoepca-gitops:{key}"
        for key, have in (("cluster.publicIp", "publicIp" in cluster), ("git.url", "url" in git))
        if not have
    ]
    secrets = sorted(k for k, _ in config.secret_refs())
    files |= write_files(opts.stack, tree, placed, base_config, secrets, unset)
    files["import-report.md"] = report.markdown(opts.stack)
    for rel, text in sorted(files.items()):
        _refuse_plain_credentials(rel, text)
    return ImportResult(files, report.sorted_items(), stack, report.counts)


def _refuse_plain_credentials(rel: str, text: str) -> None:
    """What the import makes holds no credential in plain text, by the loader's rule: the stack file,
    the blocks (their chart values aside) and the Flux objects kept as manifests (a HelmRepository's
    `https://user:password@host`; Flux reads credentials from a secretRef). Other manifests are the
    tree's, copied as Git has them. Refused before anything is written."""
    if not rel.endswith(".yaml"):
        return
    where = f"{rel} (imported from the tree)"
    for doc in yaml_io.load_all(text):
        if rel.startswith(f"{defaults.BLOCKS_DIR}/"):
            refuse_plain_credentials(without_chart_values(doc), where)
        elif rel.startswith("Pulumi."):
            refuse_plain_credentials(doc, where)
        elif isinstance(doc, dict) and is_flux_group(str(doc.get("apiVersion")).rpartition("/")[0]):
            spec = {k: v for k, v in (doc.get("spec") or {}).items() if k != "values"}
            refuse_plain_credentials({**doc, "spec": spec}, where)
