"""Assembling: candidates lifted into block declarations, checked by building them again with the
project's own builders. A candidate the model refuses, or that builds differently from the original,
is demoted to a plain manifest; the loop runs until every lifted object builds exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import ConfigError
from eoepca_gitops.fluxtree import as_flux_sees_it, diff, key, substitution_disabled
from eoepca_gitops.importer.lift import Lifter, escape, map_strings
from eoepca_gitops.importer.report import Report
from eoepca_gitops.importer.route import Routed, block_name
from eoepca_gitops.manifests.render import file_name
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, BlockCatalog, HelmRelease, HelmRepository
from eoepca_gitops.model.stack import Stack, StackConfig

__all__ = ["HEADER", "AssembledBlock", "Target", "assemble", "folder_files", "git_path"]

HEADER = "# Imported by eoepca-gitops import.\n"
_KUSTOMIZATION_SPEC = {"interval", "retryInterval", "timeout", "prune", "wait", "healthChecks", "suspend"}


@dataclass(frozen=True)
class Target:
    """Where the import writes: the stack's name and the project folder."""

    stack: str
    out: Path


@dataclass(frozen=True)
class AssembledBlock:
    block: Block
    shared: list[dict[str, Any]]  # plain manifests of every cluster (clusters/flux/<block>)
    own: list[dict[str, Any]]  # this cluster's (clusters/<stack>/<block>)
    lifted: tuple[int, ...]  # indices of the candidates in the block's declaration


@dataclass(frozen=True)
class _Demotion:
    index: int
    reason: str


def git_path(target: Target, blocks: list[AssembledBlock]) -> str:
    """The stack's git.path: its own folder when it has manifests of its own, else the shared one."""
    return f"./clusters/{target.stack}" if any(b.own for b in blocks) else defaults.GIT_PATH


def folder_files(objects: list[dict[str, Any]], folder: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """One file per object and the kustomization.yaml listing them (after `extra` resources)."""
    files = {f"{folder}/{file_name(o).lower()}": HEADER + yaml_io.dump(o) for o in objects}
    resources = [*extra, *sorted(f.rsplit("/", 1)[1] for f in files)]
    files[f"{folder}/kustomization.yaml"] = HEADER + yaml_io.dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
    )
    return files


def _plain(obj: dict[str, Any], lifter: Lifter) -> dict[str, Any]:
    """A plain manifest as written to Git: `$` escaped (Flux substitutes it), then IP/domain lifted."""
    if substitution_disabled(obj):
        return obj
    out: dict[str, Any] = map_strings(obj, lambda s: lifter(escape(s)))
    return out


def _declare(
    routed: Routed, demoted: set[int], lifter: Lifter, root_path: str, report: Report
) -> list[AssembledBlock] | _Demotion:
    """Per block: the model, its shared and own plain manifests; or the first candidate to demote."""
    blocks = routed.blocks
    shared: dict[str, list[dict[str, Any]]] = {n: [] for n in blocks}
    own: dict[str, list[dict[str, Any]]] = {n: [] for n in blocks}
    for name, parts in blocks.items():
        home = routed.plain_home.get(name, name)
        shared[home] += parts.shared
        own[home] += parts.own
    content: dict[str, dict[str, Any]] = {
        n: {"namespaces": [], "helmRepositories": [], "helmReleases": []} for n in blocks
    }
    lifted: dict[str, list[int]] = {n: [] for n in blocks}
    for i, candidate in enumerate(routed.candidates):
        block, obj = candidate.block, candidate.obj
        if i in demoted:
            shared[routed.plain_home.get(block, block)].append(obj)
            continue
        meta, spec, kind = obj["metadata"], obj.get("spec") or {}, obj["kind"]
        model: type[HelmRepository | HelmRelease] | None = None
        if kind == "Namespace":
            section, item = "namespaces", meta["name"]
        elif kind == "HelmRepository":
            section, model = "helmRepositories", HelmRepository
            item = {"name": meta["name"], "namespace": meta.get("namespace"), **spec}
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
        if model is not None:
            try:
                model.model_validate(item)
            except ValidationError as exc:
                err = exc.errors()[0]
                return _Demotion(i, f"{'.'.join(map(str, err['loc']))}: {err['msg']}")
        content[block][section].append(item)
        lifted[block].append(i)
    out = []
    for name, parts in blocks.items():
        data: dict[str, Any] = {"name": name, "description": parts.description, **content[name]}
        k = parts.kustomization
        if k is not None:  # every Flux Kustomization of the tree stays one, even with nothing left to apply
            data["kustomization"] = {"path": name, **{f: k[f] for f in _KUSTOMIZATION_SPEC if f in k}}
            if "healthChecks" in data["kustomization"]:
                data["kustomization"]["healthChecks"] = [
                    {a: str(b) for a, b in c.items()} for c in data["kustomization"]["healthChecks"]
                ]
        elif shared[name] or own[name]:
            data["kustomization"] = {"path": name}
        deps = [block_name(str(d.get("name"))) for d in (k or {}).get("dependsOn") or []]
        data["dependsOn"] = [d for d in deps if d in blocks and d != name]
        if not any(data.get(f) for f in ("namespaces", "helmRepositories", "helmReleases", "kustomization")):
            continue
        try:
            model_block = Block.model_validate(data)
        except ValidationError as exc:
            report.note(
                root_path, 0, f"block {name}: {exc.errors()[0]['msg']}; its Kustomization gets defaults"
            )
            data["kustomization"] = {"path": name}
            model_block = Block.model_validate(data)
        out.append(
            AssembledBlock(
                model_block,
                [_plain(o, lifter) for o in shared[name]],
                [_plain(o, lifter) for o in own[name]],
                tuple(lifted[name]),
            )
        )
    return out


def _share(target: Target, blocks: list[AssembledBlock], report: Report) -> list[AssembledBlock]:
    """Plain manifests go to clusters/flux/<block>, unless another cluster's differ: then to its own."""
    out = []
    for b in blocks:
        existing = target.out / "clusters" / "flux" / b.block.name
        if b.shared and existing.is_dir():
            mine = folder_files(b.shared, f"clusters/flux/{b.block.name}")
            theirs = {
                f"clusters/flux/{b.block.name}/{p.relative_to(existing).as_posix()}": p.read_text()
                for p in existing.rglob("*")
                if p.is_file()
            }
            if mine != theirs:
                report.note(
                    f"clusters/flux/{b.block.name}",
                    0,
                    f"block {b.block.name}: this cluster's plain manifests "
                    f"differ from the shared ones; kept in clusters/{target.stack}/{b.block.name}",
                )
                b = AssembledBlock(b.block, [], b.own + b.shared, b.lifted)
        out.append(b)
    return out


def stack_model(target: Target, blocks: list[AssembledBlock], base_config: Mapping[str, Any]) -> Stack:
    """The stack as its file will say it, every secret it names standing in as `<secret KEY>`."""
    config = copy.deepcopy(dict(base_config))
    config["git"]["path"] = git_path(target, blocks)
    config["blocks"] = [b.block.name for b in blocks]
    try:
        model = StackConfig.model_validate(config)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"Pulumi.{target.stack}.yaml", ".".join(map(str, err["loc"])), err["msg"]) from None
    secrets = {k: SecretStr(f"<secret {k}>") for k, _ in model.secret_refs()}
    return Stack(
        name=target.stack,
        config=model.model_copy(update={"secrets": secrets}),
        catalog=BlockCatalog(blocks=[b.block for b in blocks]),
    )


def _verify(
    routed: Routed,
    blocks: list[AssembledBlock],
    stack: Stack,
    install: tuple[dict[str, Any], ...],
    report: Report,
) -> set[int]:
    """The lifted candidates that the project's builders do not build exactly as the original."""
    # As Kubernetes and Flux see them: pulumi.com/ annotations steer only Pulumi's provider.
    built = {key(o): as_flux_sees_it(o) for o in build_stack(stack, install).all()}
    mismatched: set[int] = set()
    for b in blocks:
        for i in b.lifted:
            candidate = routed.candidates[i]
            original = candidate.obj
            mine = built.get(key(original))
            problems = diff(mine, original) if mine is not None else ["not built"]
            if problems:
                mismatched.add(i)
                shown = "; ".join(problems[:3])
                report.note(
                    candidate.file,
                    candidate.line,
                    f"{original['kind']} {original['metadata']['name']}: the block model "
                    f"cannot say it exactly ({shown}); kept as a plain manifest",
                )
    return mismatched


def assemble(
    target: Target,
    root_path: str,
    routed: Routed,
    lifter: Lifter,
    base_config: Mapping[str, Any],
    install: tuple[dict[str, Any], ...],
    report: Report,
) -> tuple[list[AssembledBlock], Stack]:
    """Lift, build with the project's builders, compare, demote what differs; until stable."""
    demoted: set[int] = set()
    while True:
        declared = _declare(routed, demoted, lifter, root_path, report)
        if isinstance(declared, _Demotion):
            demoted.add(declared.index)
            candidate = routed.candidates[declared.index]
            report.note(
                candidate.file,
                candidate.line,
                f"{candidate.obj['kind']} {candidate.obj['metadata'].get('name')}: {declared.reason}; "
                "kept as a plain manifest",
            )
            continue
        blocks = _share(target, declared, report)
        stack = stack_model(target, blocks, base_config)
        mismatched = _verify(routed, blocks, stack, install, report)
        if not mismatched:
            report.counts["lifted into block declarations"] = len(routed.candidates) - len(demoted)
            return blocks, stack
        demoted |= mismatched
