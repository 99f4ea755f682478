"""GitSource: the GitRepository the cluster follows, its read-only auth Secret, and the cluster values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.objects import ObjectsComponent
from eoepca_gitops.manifests.identity import COMPONENT_TYPES

__all__ = ["GitSource", "GitSourceArgs"]


@dataclass(frozen=True)
class GitSourceArgs:
    url: str
    ref: dict[str, str]
    #: From eoepca_gitops.manifests.stack.build_stack(...).source.
    objects: Sequence[dict[str, Any]]


class GitSource(ObjectsComponent):
    url: pulumi.Output[str]
    ref: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: GitSourceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not any(o["kind"] == "GitRepository" for o in args.objects):
            raise ValueError("GitSourceArgs.objects holds no GitRepository")
        super().__init__(COMPONENT_TYPES["source"], name, args.objects, opts)
        self.url = pulumi.Output.from_input(args.url)
        self.ref = pulumi.Output.from_input(args.ref)
        self.register_outputs({"url": self.url, "ref": self.ref})
