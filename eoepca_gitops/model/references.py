"""What the stack and its enabled blocks must agree on, checked once both are loaded: every variable
an object Pulumi applies uses is set (strict, as Flux would be), and every chart repository the
stack redirects is one a block declares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.fluxtree.envsubst import SUBSTITUTE_KEY, SubstitutionError, unset_variables
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, HelmRelease
from eoepca_gitops.model.cluster import CLUSTER_VARIABLES
from eoepca_gitops.model.stack import StackConfig
from eoepca_gitops.model.variables import block_variables, named_variables

__all__ = ["Unresolved", "check_references", "missing_cluster_values", "unresolved", "variables_used"]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _substituted(release: HelmRelease) -> bool:
    return "disabled" not in (release.annotations.get(SUBSTITUTE_KEY), release.labels.get(SUBSTITUTE_KEY))


def _places(block: Block) -> Iterator[tuple[str, Any]]:
    """(where, value) for each object the builders substitute variables into."""
    for repo in block.helm_repositories:
        yield f"HelmRepository {repo.name}", repo.model_dump(mode="json")
    for release in block.helm_releases:
        if _substituted(release):
            yield f"HelmRelease {release.name}", release.model_dump(mode="json")


def _unset(value: Any, variables: dict[str, str]) -> Iterator[str]:
    for text in _strings(value):
        yield from unset_variables(text, variables)


def _kustomization_names(block: Block) -> list[str]:
    return named_variables(block.kustomization.substitute) if block.kustomization else []


def variables_used(block: Block) -> dict[str, str]:
    """Cluster variable -> where the block uses it first (`HelmRelease <name>` or `kustomization`)."""
    used: dict[str, str] = {}
    for where, value in _places(block):
        for name in _unset(value, {}):
            if name in CLUSTER_VARIABLES:
                used.setdefault(name, where)
    for name in _kustomization_names(block):
        if name in CLUSTER_VARIABLES:
            used.setdefault(name, "kustomization.substitute")
    return used


@dataclass(frozen=True)
class Unresolved:
    """A variable an object Pulumi applies uses that the stack does not set (or a ${...} Flux cannot
    evaluate: `name` None)."""

    where: str  # "HelmRelease <name>", "HelmRepository <name>" or "kustomization.substitute"
    name: str | None
    message: str


def unresolved(config: StackConfig, block: Block) -> list[Unresolved]:
    variables = block_variables(block, config)
    found: list[Unresolved] = []
    for where, value in _places(block):
        try:
            names = list(_unset(value, variables.values))
        except SubstitutionError as exc:
            found.append(Unresolved(where, None, str(exc)))
            continue
        for name in names:
            only = f" (only the cluster knows {', '.join(variables.unknown)})" if variables.unknown else ""
            found.append(
                Unresolved(
                    where,
                    name,
                    f"uses ${{{name}}}, which neither its Kustomization's substitute nor a ConfigMap of "
                    f"the stack's variables sets{only}",
                )
            )
    # Flux-side values: only the cluster values in them are the stack's to set.
    for name in _kustomization_names(block):
        if name in CLUSTER_VARIABLES and name not in variables.values:
            found.append(Unresolved("kustomization.substitute", name, f"uses ${{{name}}}"))
    return found


def missing_cluster_values(config: StackConfig, blocks: list[Block]) -> dict[str, tuple[str, str]]:
    """Cluster variable -> (stack key, what is wrong) for each one a block uses that the stack does
    not set: what check_references would refuse first, for an offline view to show instead."""
    missing: dict[str, tuple[str, str]] = {}
    for block in blocks:
        for problem in unresolved(config, block):
            name = problem.name
            if name in CLUSTER_VARIABLES and name not in config.cluster.variables() and name not in missing:
                error = _error(config, block, problem, "")
                missing[name] = (error.key, error.message)
    return missing


def _error(config: StackConfig, block: Block, problem: Unresolved, file: str) -> ConfigError:
    ns = defaults.CONFIG_NAMESPACE
    name = problem.name
    if name in CLUSTER_VARIABLES and name not in config.cluster.variables():
        key = CLUSTER_VARIABLES[name]
        message = (
            f"missing: block {block.name} ({problem.where}) uses ${{{name}}}; set {key} for this cluster"
        )
        return ConfigError(file, f"{ns}:{key}", message)
    key = "blocks" if name is None else f"overrides.{block.name}.substitute"
    return ConfigError(file, f"{ns}:{key}", f"block {block.name} ({problem.where}): {problem.message}")


def check_references(config: StackConfig, blocks: list[Block], file: str) -> None:
    ns = defaults.CONFIG_NAMESPACE
    for block in blocks:
        problems = unresolved(config, block)
        if problems:
            raise _error(config, block, problems[0], file)
    declared = {repo.name for block in blocks for repo in block.helm_repositories}
    for name in config.charts.repositories:
        if name not in declared:
            raise ConfigError(
                file,
                f"{ns}:charts.repositories.{name}",
                f"no enabled block declares a HelmRepository {name!r} "
                f"(declared: {', '.join(sorted(declared))})",
            )
