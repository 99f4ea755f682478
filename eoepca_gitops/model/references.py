"""What the stack and its enabled blocks must agree on, checked once both are loaded: every cluster
variable a block uses is set by the stack, and every chart repository the stack redirects is one
a block declares."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block
from eoepca_gitops.model.stack import CLUSTER_VARIABLES, StackConfig

__all__ = ["check_references", "variables_used"]

_VAR = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def variables_used(block: Block) -> dict[str, str]:
    """Cluster variable -> where the block uses it first (`HelmRelease <name>` or `kustomization`)."""
    used: dict[str, str] = {}
    places: list[tuple[str, Any]] = [(f"HelmRelease {r.name}", r.values) for r in block.helm_releases]
    if block.kustomization:
        places.append(("kustomization.substitute", block.kustomization.substitute))
    for where, value in places:
        for text in _strings(value):
            for name in _VAR.findall(text):
                if name in CLUSTER_VARIABLES:
                    used.setdefault(name, where)
    return used


def check_references(config: StackConfig, blocks: list[Block], file: str) -> None:
    ns = defaults.CONFIG_NAMESPACE
    have = config.cluster.variables()
    for block in blocks:
        for name, where in variables_used(block).items():
            if name not in have:
                key = CLUSTER_VARIABLES[name]
                raise ConfigError(
                    file,
                    f"{ns}:{key}",
                    f"missing: block {block.name} ({where}) uses ${{{name}}}; set {key} for this cluster",
                )
    declared = {repo.name for block in blocks for repo in block.helm_repositories}
    for name in config.charts.repositories:
        if name not in declared:
            raise ConfigError(
                file,
                f"{ns}:charts.repositories.{name}",
                f"no enabled block declares a HelmRepository {name!r} "
                f"(declared: {', '.join(sorted(declared))})",
            )
