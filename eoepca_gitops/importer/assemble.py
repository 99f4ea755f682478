"""Assembling: candidates lifted into block declarations, checked by building them again with the
project's own builders. A candidate the model refuses, that uses variables only the cluster knows,
or that builds differently from the original is demoted to a plain manifest; the loop runs until
every lifted object builds exactly.

Variables keep their meaning:
- what a Kustomization applied with postBuild variables is declared as written (`${VAR}` kept):
  the builders substitute the block's variables (its Kustomization's postBuild, model/variables.py)
  into what Pulumi applies, and what stays in Git keeps them for Flux;
- what one applied without is declared escaped where Flux's rules would read a `$` (the builders
  substitute into every block's objects), and stays in Git as written, unless the recurring IP or
  domain is lifted into it: then the block's Kustomization substitutes from cluster-vars, and its
  manifests are escaped too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.fluxtree import as_flux_sees_it, diff, key, substitution_disabled
from eoepca_gitops.importer.declare import Unmodelled, kustomization_item, release_item, repository_item
from eoepca_gitops.importer.files import Carried
from eoepca_gitops.importer.lift import Lifter, escape, map_strings
from eoepca_gitops.importer.naming import block_name, unique
from eoepca_gitops.importer.report import Report
from eoepca_gitops.importer.route import Candidate, Origin, Routed
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model import defaults
from eoepca_gitops.model.base import DUPLICATE
from eoepca_gitops.model.blocks import Block, BlockCatalog
from eoepca_gitops.model.cluster import CLUSTER_VARIABLES
from eoepca_gitops.model.references import unresolved
from eoepca_gitops.model.stack import Stack, StackConfig
from eoepca_gitops.project import stack_file_name

__all__ = ["AssembledBlock", "assemble", "stack_config", "stack_model"]

_CLUSTER_VARS = {"kind": "ConfigMap", "name": defaults.CLUSTER_VARS_CONFIGMAP}
# What the builders need where the tree proves nothing: used to check the blocks, never written.
_STAND_INS = {"cluster": {"publicIp": "192.0.2.1"}, "git": {"url": "https://example.invalid/unset"}}


@dataclass(frozen=True)
class AssembledBlock:
    block: Block
    shared: list[dict[str, Any]]  # plain manifests of every cluster (clusters/flux/<block>)
    own: list[dict[str, Any]]  # this cluster's (clusters/<stack>/<block>)
    components: dict[str, Path] = field(default_factory=dict)  # name -> the tree's folder
    lifted: tuple[int, ...] = ()  # indices of the candidates in the block's declaration
    carried: Carried = field(default_factory=Carried)  # folders Flux builds from remote resources


@dataclass(frozen=True)
class _Demotion:
    index: int
    reason: str


def stack_config(base_config: Mapping[str, Any], file: str) -> StackConfig:
    """The stack's config as the import writes it, stand-ins where the tree proves no value."""
    config = copy.deepcopy(dict(base_config))
    for section, stand_in in _STAND_INS.items():
        config[section] = {**stand_in, **config.get(section, {})}
    if not any(k in config["git"] for k in ("branch", "tag", "semver", "commit")):
        config["git"]["branch"] = "main"
    try:
        return StackConfig.model_validate(config)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(file, ".".join(map(str, err["loc"])), err["msg"]) from None


def stack_model(name: str, blocks: list[Block], config: StackConfig) -> Stack:
    """The stack with these blocks, every secret it names standing in as `<secret KEY>`."""
    secrets = {k: SecretStr(f"<secret {k}>") for k, _ in config.secret_refs()}
    config = config.model_copy(update={"secrets": secrets, "blocks": [b.name for b in blocks]})
    return Stack(name=name, file=stack_file_name(name), config=config, catalog=BlockCatalog(blocks=blocks))


def _lifts(origin: Origin) -> bool:
    """Whether the IP and domain may be written as ${public_ip} / ${domain} into its objects: not
    where the tree's own variables could give the same names another value."""
    return not origin.unknown and not set(origin.variables or {}) & set(CLUSTER_VARIABLES)


def _written(obj: dict[str, Any], escaped: bool, lifter: Lifter | None) -> dict[str, Any]:
    """An object as a declaration or Git says it, so that substitution gives it back."""
    if substitution_disabled(obj):
        return obj
    out: dict[str, Any] = map_strings(obj, lambda s: (lifter or str)(escape(s) if escaped else s))
    return out


@dataclass
class _Declared:
    blocks: list[AssembledBlock]
    left_out: dict[str, list[str]]  # block -> what its Kustomization leaves out of the original


class _Assembler:
    def __init__(self, routed: Routed, lifter: Lifter, flux_ns: str, config: StackConfig) -> None:
        self.routed, self.lifter, self.flux_ns, self.config = routed, lifter, flux_ns, config
        self.components: dict[Path, str] = {}
        taken: set[str] = set()
        for origin in routed.origins.values():
            for folder in origin.components:
                if folder not in self.components:
                    self.components[folder] = unique(block_name(folder.name), taken)

    def git_side(
        self, demoted: set[int]
    ) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], bool]]:
        """Block -> (shared, own, whether its Kustomization now substitutes cluster-vars)."""
        routed = self.routed
        found: dict[str, tuple[list[Candidate], list[Candidate]]] = {
            n: (list(p.shared), list(p.own)) for n, p in routed.blocks.items()
        }
        for i in sorted(demoted):
            c = routed.candidates[i]
            found[routed.plain_home.get(c.block, c.block)][0].append(c)
        out = {}
        for name, (shared, own) in found.items():
            k_id = routed.blocks[name].origin
            origin = routed.origins[k_id] if k_id else None
            # Flux reads substituteFrom in the Kustomization's own namespace: cluster-vars is in Flux's.
            here = k_id is not None and k_id.partition("/")[0] == self.flux_ns
            lifter = self.lifter if origin and here and _lifts(origin) else None
            plain = [[c.forms.git for c in objects if c.forms.git is not None] for objects in (shared, own)]
            lifted = [[_written(o, False, lifter) for o in objects] for objects in plain]
            adds = lifted != plain
            if adds and origin and not origin.substitutes:
                lifted = [[_written(o, True, lifter) for o in objects] for objects in plain]
            out[name] = (lifted[0], lifted[1], adds)
        return out

    def declaration(self, c: Candidate) -> tuple[str, Any]:
        origin = self.routed.origins[c.origin]
        obj = _written(c.forms.raw, not origin.substitutes, self.lifter if _lifts(origin) else None)
        kind = obj["kind"]
        if kind == "Namespace":
            return "namespaces", obj["metadata"]["name"]
        if kind == "HelmRepository":
            return "helmRepositories", repository_item(obj)
        return "helmReleases", release_item(obj)

    def kustomization(
        self, name: str, origin: Origin, cluster_vars: bool
    ) -> tuple[dict[str, Any], list[str], list[str]]:
        """(the block's kustomization, the blocks it depends on, what it leaves out)."""
        components = [self.components[f] for f in origin.components]
        item, left_out = kustomization_item(origin.obj, name, self.flux_ns, origin.baked, components)
        spec = origin.obj.get("spec") or {}
        post = spec.get("postBuild") or {}
        if post.get("substitute"):
            item["substitute"] = {str(k): str(v) for k, v in post["substitute"].items()}
        refs = [*([_CLUSTER_VARS] if cluster_vars else []), *(post.get("substituteFrom") or [])]
        if refs:
            item["substituteFrom"] = refs
        namespace = (origin.obj.get("metadata") or {}).get("namespace") or self.flux_ns
        blocks, extra = [], []
        for ref in spec.get("dependsOn") or []:
            dep = self.routed.origins.get(f"{ref.get('namespace') or namespace}/{ref.get('name')}")
            # a block's dependency names its namespace only when it is another: else said as written
            if dep is not None and dep.block != name and ref.get("namespace") != namespace:
                blocks.append(dep.block)
            else:
                extra.append(ref)
        if extra:
            item["dependsOn"] = extra
        return item, blocks, left_out

    def declare(self, demoted: set[int]) -> _Declared | list[_Demotion]:
        """The blocks, or the candidates the model cannot say (each independent of the others)."""
        routed = self.routed
        content: dict[str, dict[str, list[Any]]] = {n: {} for n in routed.blocks}
        lifted: dict[str, list[int]] = {n: [] for n in routed.blocks}
        placed: dict[str, dict[str, list[int]]] = {n: {} for n in routed.blocks}  # in content's order
        refused: list[_Demotion] = []
        for i, c in enumerate(routed.candidates):
            if i in demoted:
                continue
            try:
                section, item = self.declaration(c)
            except Unmodelled as exc:
                refused.append(_Demotion(i, str(exc)))
                continue
            content[c.block].setdefault(section, []).append(item)
            placed[c.block].setdefault(section, []).append(i)
            lifted[c.block].append(i)
        if refused:
            return refused
        git = self.git_side(demoted)
        out, left_outs = [], {}
        for name, parts in routed.blocks.items():
            data: dict[str, Any] = {"name": name, "description": parts.description, **content[name]}
            components: dict[str, Path] = {}
            if parts.origin:
                origin = routed.origins[parts.origin]
                data["kustomization"], deps, left_outs[name] = self.kustomization(name, origin, git[name][2])
                if deps:
                    data |= {"dependsOn": deps, "releasesWaitForDependencies": False}
                components = {self.components[f]: f for f in origin.components}
            elif not content[name]:
                continue
            try:
                block = self._validated(data, left_outs.setdefault(name, []))
            except ValidationError as exc:
                refused.extend(_refused_by_model(exc, name, placed[name]))
                continue
            for problem in unresolved(self.config, block):
                index = next((i for i in lifted[name] if problem.where == _where(routed.candidates[i])), None)
                if index is not None and index not in {r.index for r in refused}:
                    refused.append(_Demotion(index, problem.message))
            out.append(
                AssembledBlock(
                    block, git[name][0], git[name][1], components, tuple(lifted[name]), parts.carried
                )
            )
        return refused or _Declared(out, left_outs)

    @staticmethod
    def _validated(data: dict[str, Any], left_out: list[str]) -> Block:
        """The block; a Kustomization field the model refuses is left out, and said."""
        while True:
            try:
                return Block.model_validate(data)
            except ValidationError as exc:
                loc = exc.errors()[0]["loc"]
                if loc[0] != "kustomization" or len(loc) < 2:
                    raise
                data["kustomization"].pop(str(loc[1]), None)
                left_out.append(f"spec.{loc[1]}: {exc.errors()[0]['msg']}, left out")


def _refused_by_model(exc: ValidationError, block: str, placed: Mapping[str, list[int]]) -> list[_Demotion]:
    """The lifted candidates a block's refusal is about: the item it names (of two duplicates, the
    second), else every item of the section it names, else every item of the block; whatever the
    model refuses is kept as written, never a traceback."""
    err = exc.errors()[0]
    loc, ctx = err["loc"], err.get("ctx") or {}
    why = (
        f"block {block} already declares a {ctx['what']} {ctx['key']}"
        if err["type"] == DUPLICATE
        else f"block {block}: {err['msg']}"
    )
    in_section = placed.get(str(loc[0])) if loc else None
    if in_section is None:
        named = [i for indices in placed.values() for i in indices]
    else:
        at = ctx.get("index") if err["type"] == DUPLICATE else (loc[1:2] or [None])[0]
        named = [in_section[at]] if isinstance(at, int) and 0 <= at < len(in_section) else in_section
    if not named:  # nothing lifted to keep as written instead: the block itself is refused
        raise ConfigError(f"block {block}", ".".join(map(str, loc)), err["msg"])
    return [_Demotion(i, why) for i in named]


def _where(c: Candidate) -> str:
    return f"{c.forms.final['kind']} {c.forms.final['metadata']['name']}"


def _verify(
    routed: Routed, declared: _Declared, stack: Stack, install: tuple[dict[str, Any], ...], report: Report
) -> set[int]:
    """The lifted candidates that the project's builders do not build exactly as the original."""
    # As Kubernetes and Flux see them: pulumi.com/ annotations steer only Pulumi's provider.
    built = {key(o): as_flux_sees_it(o) for o in build_stack(stack, install).all()}
    mismatched: set[int] = set()
    for b in declared.blocks:
        for i in b.lifted:
            c = routed.candidates[i]
            mine = built.get(key(c.forms.final))
            problems = diff(mine, c.forms.final) if mine is not None else ["not built"]
            if problems:
                mismatched.add(i)
                report.note(
                    c.file,
                    c.line,
                    f"{_where(c)}: the block model cannot say it exactly ({'; '.join(problems[:3])}); "
                    "kept as a plain manifest",
                )
    return mismatched


def _kustomization_notes(
    routed: Routed, declared: _Declared, stack: Stack, install: tuple[dict[str, Any], ...], report: Report
) -> None:
    """What each block's Kustomization says differently from the tree's: the report's to say."""
    built = {
        key(o): as_flux_sees_it(o) for o in build_stack(stack, install).all() if o["kind"] == "Kustomization"
    }
    for b in declared.blocks:
        k_id = routed.blocks[b.block.name].origin
        if k_id is None:
            continue
        origin = routed.origins[k_id]
        where = str((origin.obj.get("spec") or {}).get("path"))
        left_out = declared.left_out.get(b.block.name, [])
        for line in left_out:
            report.note(where, 0, f"Kustomization {k_id}: {line}")
        # The path and components are the project's layout, the postBuild what the stack adds; said
        # above: what is left out.
        expected = ("spec.path:", "spec.components", "spec.postBuild", "metadata.annotations")
        said = tuple(line.split(" ", 1)[0].rstrip(":") for line in left_out)
        mine = built.get(key(origin.obj))
        for line in diff(mine, origin.obj) if mine is not None else []:
            if not line.startswith((*expected, *said)):
                report.note(where, 0, f"Kustomization {k_id}: differs: {line}")
        lifted = [
            routed.candidates[i]
            for i in b.lifted
            if routed.candidates[i].forms.final["kind"] == "HelmRelease"
        ]
        spec = origin.obj.get("spec") or {}
        if lifted and (spec.get("wait") or spec.get("healthChecks")):
            names = ", ".join(c.forms.final["metadata"]["name"] for c in lifted)
            report.note(
                where,
                0,
                f"Kustomization {k_id} waits for what it applies; its HelmReleases {names} are applied by "
                "Pulumi now, so what depends on it no longer waits for them through it",
            )


def assemble(
    stack_name: str,
    routed: Routed,
    lifter: Lifter,
    flux_ns: str,
    config: StackConfig,
    install: tuple[dict[str, Any], ...],
    report: Report,
) -> tuple[list[AssembledBlock], Stack]:
    """Lift, build with the project's builders, compare, demote what differs; until stable."""
    assembler = _Assembler(routed, lifter, flux_ns, config)
    demoted: set[int] = set()
    while True:
        declared = assembler.declare(demoted)
        if isinstance(declared, list):
            for demotion in declared:
                demoted.add(demotion.index)
                c = routed.candidates[demotion.index]
                report.note(c.file, c.line, f"{_where(c)}: {demotion.reason}; kept as a plain manifest")
            continue
        stack = stack_model(stack_name, [b.block for b in declared.blocks], config)
        mismatched = _verify(routed, declared, stack, install, report)
        if not mismatched:
            _kustomization_notes(routed, declared, stack, install, report)
            report.counts["lifted into block declarations"] = len(routed.candidates) - len(demoted)
            return declared.blocks, stack
        demoted |= mismatched
