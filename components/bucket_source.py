"""BucketSource: an S3-compatible Bucket Flux reads manifests from, with its credentials Secret."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.objects import ObjectsComponent
from eoepca_gitops.manifests.identity import COMPONENT_TYPES

__all__ = ["BucketSource", "BucketSourceArgs"]


@dataclass(frozen=True)
class BucketSourceArgs:
    bucket_name: str
    endpoint: str
    #: From eoepca_gitops.manifests.stack.build_stack(...).buckets[name].
    objects: Sequence[dict[str, Any]]


class BucketSource(ObjectsComponent):
    bucket_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: BucketSourceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not any(o["kind"] == "Bucket" for o in args.objects):
            raise ValueError("BucketSourceArgs.objects holds no Bucket")
        super().__init__(COMPONENT_TYPES["bucket"], name, args.objects, opts)
        self.bucket_name = pulumi.Output.from_input(args.bucket_name)
        self.endpoint = pulumi.Output.from_input(args.endpoint)
        self.register_outputs({"bucket_name": self.bucket_name, "endpoint": self.endpoint})
