"""YAML as Kubernetes reads it: the C loader, and timestamps kept as the strings they were written as.

PyYAML turns an unquoted `2019-09-10T00:00:00Z` into a datetime, and cannot load an unquoted `=`
(YAML 1.1's "value" key); Kubernetes' YAML-to-JSON step keeps both strings. Every manifest this
project reads goes through here, so values match what the API server stores and what Flux applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

__all__ = ["KubeLoader", "dump", "load", "load_all"]

_STRINGS = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")


class KubeLoader(yaml.CSafeLoader):
    """CSafeLoader without the timestamp and value resolvers (its other YAML 1.1 rules match
    Kubernetes')."""


KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _STRINGS]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def load(text: str) -> Any:
    return yaml.load(text, Loader=KubeLoader)


def load_all(text: str) -> Iterator[Any]:
    return yaml.load_all(text, Loader=KubeLoader)


def dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=yaml.CSafeDumper, sort_keys=True, default_flow_style=False, width=120)
