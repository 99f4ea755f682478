"""Writing: the placed blocks and the stack as files (relative path -> content); the command writes them
(through eoepca_gitops.files, the one writer). A kustomize component's files are read from the
tree through its confinement rule.

The stack applies its blocks' plain manifests from clusters/flux/<block> (git.path ./clusters/flux),
or, when it has manifests of its own (secrets, or shared ones another cluster has differently),
from clusters/<stack>/<block>, which lists ../../flux/<block> and its own files.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

from eoepca_gitops.files import files_under, read_text
from eoepca_gitops.importer.files import Carried, folder_files
from eoepca_gitops.importer.merge import Placed
from eoepca_gitops.importer.read import TreeRoot
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, BlockOverride
from eoepca_gitops.project import stack_file_name

__all__ = ["git_path", "write_files"]


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False, width=120)


def git_path(stack: str, placed: list[Placed]) -> str:
    """The stack's git.path: its own folder when it has manifests of its own, else the shared one."""
    return f"./clusters/{stack}" if any(p.own or p.separate for p in placed) else defaults.GIT_PATH


def _block_file(block: Block) -> str:
    data = block.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    return f"# Building block {block.name}, imported by eoepca-gitops import.\n" + _dump(data)


def write_files(
    stack: str,
    tree: TreeRoot,
    placed: list[Placed],
    base_config: Mapping[str, Any],
    secrets: list[str],
    unset: list[str],
) -> dict[str, str]:
    """`unset`: the stack keys the tree gives no value for (the stack file says to set them)."""
    files: dict[str, str] = {}
    per_cluster = git_path(stack, placed) != defaults.GIT_PATH
    overrides: dict[str, Any] = {}
    for p in placed:
        name = p.block.name
        if p.block.kustomization:
            # Carried folders go with the shared manifests, or with this cluster's own when they differ.
            carried, own_carried = (Carried(), p.carried) if p.separate else (p.carried, Carried())
            has_shared = bool(p.shared or carried.roots)
            if has_shared or not per_cluster:
                files |= folder_files(p.shared, f"clusters/flux/{name}", (), carried)
            if per_cluster:
                base = (f"../../flux/{name}",) if has_shared else ()
                files |= folder_files(p.own, f"clusters/{stack}/{name}", base, own_carried)
        for component, folder in p.components.items():
            for path in files_under(tree.repo_root, folder):
                rel = path.relative_to(folder).as_posix()
                files[f"clusters/components/{component}/{rel}"] = read_text(tree.repo_root, path)
        if p.declared:
            files[f"{defaults.BLOCKS_DIR}/{name}.yaml"] = _block_file(p.block)
        if p.override is not None and p.override != BlockOverride():
            overrides[name] = p.override.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    config: dict[str, Any] = copy.deepcopy(dict(base_config))
    config["git"]["path"] = git_path(stack, placed)
    config["blocks"] = [p.block.name for p in placed]
    if overrides:
        config["overrides"] = overrides
    config = {k: v for k, v in config.items() if v}
    ns = defaults.CONFIG_NAMESPACE
    body: dict[str, Any] = {f"{ns}:{k}": v for k, v in config.items()}
    for secret in secrets:
        body[f"{ns}:{secret}"] = {"secure": "REPLACE-ME"}
    header = (
        f"# Stack {stack}, imported by `eoepca-gitops import` from {tree.root_path}.\n"
        "# See import-report.md.\n"
        + "".join(f"# Before `pulumi up`: set {key} (the tree does not say it).\n" for key in unset)
        + "".join(
            f"# Before `pulumi up`: pulumi config set --stack {stack} --secret {s} ...\n" for s in secrets
        )
    )
    files[stack_file_name(stack)] = header + _dump({"config": body})
    return files
