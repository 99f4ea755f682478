"""Writing: the assembled blocks and stack as files (relative path -> content), the command writes them.

A block already declared in the project (another cluster imported before) is shared when it is the
same, expressed as a stack override when only chart versions and values differ, and declared under a
new name otherwise.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.importer.assemble import AssembledBlock, Target, folder_files, git_path
from eoepca_gitops.importer.report import Report
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, BlockOverride, ReleaseOverride
from eoepca_gitops.model.stack import Stack

__all__ = ["write_files"]


def _dump(value: Any) -> str:
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


def _override(path: Path, block: Block) -> BlockOverride | None:
    """The override that turns the declared block into `block` (empty when they are the same), or
    None when no override can (the block differs beyond chart versions, values and suspension)."""
    try:
        declared = Block.model_validate(yaml_io.load_file(path))
    except (ValidationError, GitopsError):
        return None
    if declared == block:
        return BlockOverride()
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
    return BlockOverride(releases=releases)


def write_files(
    target: Target,
    root_path: str,
    blocks: list[AssembledBlock],
    stack: Stack,
    base_config: Mapping[str, Any],
    report: Report,
) -> dict[str, str]:
    name = target.stack
    files: dict[str, str] = {}
    per_cluster = git_path(target, blocks) != defaults.GIT_PATH
    overrides: dict[str, Any] = {}
    renames: dict[str, str] = {}
    for b in blocks:
        block = b.block
        if block.kustomization:
            if b.shared or not per_cluster:
                files |= folder_files(b.shared, f"clusters/flux/{block.name}")
            if per_cluster:
                base = (f"../../flux/{block.name}",) if b.shared else ()
                files |= folder_files(b.own, f"clusters/{name}/{block.name}", base)
        existing = target.out / defaults.BLOCKS_DIR / f"{block.name}.yaml"
        if existing.is_file():
            override = _override(existing, block)
            if override is not None:
                if override.releases:
                    overrides[block.name] = override.model_dump(
                        by_alias=True, exclude_defaults=True, mode="json"
                    )
                continue
            renames[block.name] = f"{block.name}-{name}"
            report.note(
                str(existing.relative_to(target.out)),
                0,
                f"block {block.name} differs from the declared "
                f"one beyond chart versions and values; declared as {renames[block.name]}",
            )
        files[f"{defaults.BLOCKS_DIR}/{renames.get(block.name, block.name)}.yaml"] = _block_file(
            block, renames
        )
    config: dict[str, Any] = copy.deepcopy(dict(base_config))
    config["git"]["path"] = git_path(target, blocks)
    config["blocks"] = [renames.get(b.block.name, b.block.name) for b in blocks]
    if overrides:
        config["overrides"] = overrides
    if not config["notifications"]:
        del config["notifications"]
    ns = defaults.CONFIG_NAMESPACE
    body: dict[str, Any] = {f"{ns}:{k}": v for k, v in config.items()}
    for secret in sorted(stack.config.secrets):
        body[f"{ns}:{secret}"] = {"secure": "REPLACE-ME"}
    header = (
        f"# Stack {name}, imported by `eoepca-gitops import` from {root_path}.\n"
        "# See import-report.md.\n"
        + "".join(
            f"# Before `pulumi up`: pulumi config set --stack {name} --secret {s} ...\n"
            for s in sorted(stack.config.secrets)
        )
    )
    files[f"Pulumi.{name}.yaml"] = header + _dump({"config": body})
    return files
