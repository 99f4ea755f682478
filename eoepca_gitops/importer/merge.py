"""Merging an import into the project, where other clusters' imports may already be.

A block already declared in clusters/blocks/ is shared when it is the same, expressed as a stack
override when only chart versions, values, postBuild substitute values, suspension or the
Kustomization's interval differ, and
declared again as `<block>-<stack>` otherwise. Every reference follows a rename: the blocks that
depend on a renamed one (which then differ too), the stack's block list and overrides; the
renamed block's Kustomization keeps the tree's name. Plain manifests go to clusters/flux/<block>
unless another cluster's differ there, kustomize components to clusters/components/<name> likewise.
A clash no new name resolves is an error, raised before anything is written. The project is read
through the one confinement rule (eoepca_gitops.files): a folder of it that is a symlink leading
out (clusters/, clusters/flux, ...) is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import files_under, inside, read_text
from eoepca_gitops.importer.assemble import AssembledBlock
from eoepca_gitops.importer.files import Carried, folder_files, same_folder
from eoepca_gitops.importer.report import Report
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, BlockOverride, ReleaseOverride
from eoepca_gitops.model.loader import apply_override
from eoepca_gitops.project import stack_file_name

__all__ = ["Placed", "place"]


@dataclass(frozen=True)
class Placed:
    block: Block  # as the stack uses it, under its name in the project
    declared: bool  # its clusters/blocks/ file is written by this import
    override: BlockOverride | None  # what the stack changes in the block already declared
    shared: list[dict[str, Any]]  # clusters/flux/<block>
    own: list[dict[str, Any]]  # clusters/<stack>/<block>
    components: dict[str, Path]  # clusters/components/<name> -> the tree's folder
    # Another cluster's plain manifests of the block differ: this cluster has its own folder only.
    separate: bool = False
    # folders Flux builds from remote resources, with the shared manifests
    carried: Carried = field(default_factory=Carried)


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


def _override(declared: Block, block: Block) -> BlockOverride | None:
    """The override that turns the declared block into `block` (empty when they are the same), or
    None when none can (apply_override checks)."""
    if [r.name for r in declared.helm_releases] != [r.name for r in block.helm_releases]:
        return None
    releases: dict[str, ReleaseOverride] = {}
    for old, new in zip(declared.helm_releases, block.helm_releases, strict=True):
        ok, delta = _values_delta(old.values, new.values)
        if not ok:
            return None
        if old.version != new.version or delta or old.suspend != new.suspend:
            releases[new.name] = ReleaseOverride(
                version=new.version if new.version != old.version else None,
                values=delta or {},
                suspend=new.suspend if new.suspend != old.suspend else None,
            )
    old_k, new_k = declared.kustomization, block.kustomization
    substitute = {}
    if old_k and new_k and old_k.substitute != new_k.substitute:
        if set(old_k.substitute) - set(new_k.substitute):
            return None
        substitute = {k: v for k, v in new_k.substitute.items() if old_k.substitute.get(k) != v}
    interval = new_k.interval if old_k and new_k and new_k.interval != old_k.interval else None
    override = BlockOverride(releases=releases, substitute=substitute, interval=interval)
    try:
        same = apply_override(declared, override, "", "") == block.model_copy(
            update={"description": declared.description}
        )
    except GitopsError:
        return None
    return override if same else None


def _topological(blocks: list[AssembledBlock]) -> list[AssembledBlock]:
    by_name = {b.block.name: b for b in blocks}
    out: list[AssembledBlock] = []
    done: set[str] = set()

    def visit(b: AssembledBlock) -> None:
        if b.block.name in done:
            return
        done.add(b.block.name)
        for dep in b.block.depends_on:
            if dep in by_name:
                visit(by_name[dep])
        out.append(b)

    for b in blocks:
        visit(b)
    return out


class _Project:
    """What the project already holds: declared blocks, plain manifests, components, other stacks."""

    def __init__(self, out: Path, stack: str) -> None:
        self.out, self.stack = out, stack
        self.enabled_elsewhere: set[str] = set()
        for path in out.glob("Pulumi.*.yaml"):
            if path.name != stack_file_name(stack):
                config = (yaml_io.load_file(self.path(path.name)) or {}).get("config") or {}
                self.enabled_elsewhere |= set(config.get(f"{defaults.CONFIG_NAMESPACE}:blocks") or [])

    def path(self, rel: str) -> Path:
        """out/rel, which must stay in the project once symlinks are followed."""
        inside(self.out, rel)
        return self.out / rel

    def has(self, name: str) -> bool:
        return self.path(f"{defaults.BLOCKS_DIR}/{name}.yaml").is_file()

    def declared(self, name: str) -> Block | None:
        """The block declared under `name` (None: none, or a file the model refuses)."""
        path = self.path(f"{defaults.BLOCKS_DIR}/{name}.yaml")
        try:
            return Block.model_validate(yaml_io.load_file(path))
        except (ValidationError, GitopsError):
            return None

    def files(self, folder: str) -> dict[str, str]:
        """The files below a folder of the project (path relative to the project -> content)."""
        found = files_under(self.out, self.path(folder))
        return {p.relative_to(self.out).as_posix(): read_text(self.out, p) for p in found}

    def same(self, folder: str, tree_folder: Path) -> bool:
        """Whether the project's `folder` holds what a folder of the tree holds (each file of the tree
        was found inside the repository while it was walked)."""
        files_under(self.out, self.path(folder))
        return same_folder(self.out / folder, tree_folder)


def _named(block: Block, name: str, renames: Mapping[str, str], components: Mapping[str, str]) -> Block:
    """`block` under `name`, its references renamed; its Kustomization keeps the tree's name."""
    update: dict[str, Any] = {"name": name, "depends_on": [renames.get(d, d) for d in block.depends_on]}
    k = block.kustomization
    if k is not None:
        tree_name = k.name or block.name
        update["kustomization"] = k.model_copy(
            update={
                "path": name if k.path == block.name else k.path,
                "name": tree_name if tree_name != name else None,
                "components": [components.get(c, c) for c in k.components],
            }
        )
    return block.model_copy(update=update)


def _components(project: _Project, blocks: list[AssembledBlock]) -> dict[str, str]:
    """Component name in the blocks -> its name in the project."""
    out: dict[str, str] = {}
    for b in blocks:
        for name, folder in b.components.items():
            for candidate in (name, f"{name}-{project.stack}"):
                there = f"clusters/components/{candidate}"
                if not project.path(there).exists() or project.same(there, folder):
                    out[name] = candidate
                    break
            else:
                raise GitopsError(
                    f"kustomize component {folder}: clusters/components/{name} and "
                    f"clusters/components/{name}-{project.stack} both hold other content; move one away"
                )
    return out


def place(out: Path, stack: str, blocks: list[AssembledBlock], report: Report) -> list[Placed]:
    project = _Project(out, stack)
    components = _components(project, blocks)
    renames: dict[str, str] = {}
    taken: set[str] = set()
    placed: list[Placed] = []
    for b in _topological(blocks):
        for candidate in (b.block.name, f"{b.block.name}-{stack}"):
            if candidate in taken:
                continue
            mine = _named(b.block, candidate, renames, components)
            exists = project.has(candidate)
            declared = project.declared(candidate) if exists else None
            override = _override(declared, mine) if declared else None
            # a file no other stack enables is this stack's own, from an import before: replaced
            if not exists or override is not None or candidate not in project.enabled_elsewhere:
                break
        else:
            raise GitopsError(
                f"block {b.block.name}: clusters/blocks/{b.block.name}.yaml and {b.block.name}-{stack}.yaml "
                "are declared differently and enabled by other stacks; rename or remove one before importing"
            )
        taken.add(candidate)
        renames[b.block.name] = candidate
        if candidate != b.block.name:
            report.note(
                f"{defaults.BLOCKS_DIR}/{b.block.name}.yaml",
                0,
                f"block {b.block.name} differs from the one declared beyond what an override says (chart "
                f"versions, values, postBuild variables, interval); declared as {candidate}",
            )
        shared, own = b.shared, b.own
        there = f"clusters/flux/{candidate}"
        mine_there = folder_files(shared, there, (), b.carried)
        separate = project.path(there).is_dir() and mine_there != project.files(there)
        if separate:
            report.note(
                f"clusters/flux/{candidate}",
                0,
                f"block {candidate}: this cluster's plain manifests differ from the shared ones; "
                f"kept in clusters/{stack}/{candidate}",
            )
            shared, own = [], own + shared
        named = {components.get(n, n): f for n, f in b.components.items()}
        placed.append(Placed(mine, override is None, override, shared, own, named, separate, b.carried))
    return placed
