"""The postBuild variables of a block in a stack, computed from the stack as Flux computes them.

Flux substitutes into what a Kustomization applies from Git the data of each ConfigMap or Secret
of its `substituteFrom`, in order, then its `substitute` (kustomize-controller). The block's objects
that Pulumi applies in Flux's place get the same variables, over the cluster's own values
(${domain}, ${public_ip}, ...: ClusterConfig.variables), which every block may use.

The stack knows the data of the ConfigMaps it creates: `cluster-vars` (its cluster config) and
those of `variables`. Any other reference (a Secret, a ConfigMap kept in Git) has values only the
cluster knows: it is listed as `unknown`, and an object Pulumi applies may not use its variables
(model/references.py says so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, Kustomization
from eoepca_gitops.model.stack import StackConfig

__all__ = [
    "BlockVariables",
    "block_variables",
    "cluster_substitute",
    "kustomization_substitute",
    "named_variables",
]

_VAR = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}")


def cluster_substitute(text: str, variables: Mapping[str, str]) -> str:
    """`text` with the cluster values it names replaced: only known names, so a literal `${...}`
    meant for Flux or another tool is left as written."""
    return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def named_variables(values: Mapping[str, str]) -> list[str]:
    """The `${name}` references in `values`."""
    return [name for text in values.values() for name in _VAR.findall(text)]


def kustomization_substitute(k: Kustomization, config: StackConfig) -> dict[str, str]:
    """The Kustomization's postBuild.substitute as Flux gets it: cluster values filled in."""
    variables = config.cluster.variables()
    return {name: cluster_substitute(text, variables) for name, text in k.substitute.items()}


@dataclass(frozen=True)
class BlockVariables:
    values: dict[str, str]  # what the builders substitute into the block's Pulumi-applied objects
    unknown: tuple[str, ...]  # substituteFrom references whose data only the cluster has ("Secret/x")


def _configmaps(config: StackConfig) -> dict[tuple[str, str], dict[str, str]]:
    ns = config.flux.namespace
    out = {(ns, defaults.CLUSTER_VARS_CONFIGMAP): config.cluster.variables()}
    for configmap in config.variables:
        out[(configmap.namespace or ns, configmap.name)] = dict(configmap.data)
    return out


def block_variables(block: Block, config: StackConfig) -> BlockVariables:
    values = dict(config.cluster.variables())
    k = block.kustomization
    if k is None:
        return BlockVariables(values, ())
    namespace = k.namespace or config.flux.namespace
    known = _configmaps(config)
    unknown: list[str] = []
    for ref in k.substitute_from:
        data = known.get((namespace, ref.name)) if ref.kind == "ConfigMap" else None
        if data is None:
            unknown.append(f"{ref.kind}/{ref.name}")
        else:
            values |= data
    return BlockVariables(values | kustomization_substitute(k, config), tuple(unknown))
