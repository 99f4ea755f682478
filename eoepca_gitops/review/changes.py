"""What a review found, as data every format reads.

A stack's changes are sections: a layer (pulumi, flux, helm) and a group (the Flux install, the
sources, a block, notifications, ...); a Helm-layer section is one HelmRelease's rendered objects.
Each changed object carries the unified diff of its YAML.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CHANGES",
    "LAYERS",
    "SIGN",
    "Change",
    "ObjectChange",
    "Review",
    "Section",
    "StackReview",
    "counts",
]

Change = Literal["added", "changed", "deleted"]
#: The layers in the order a review shows them: what Pulumi applies, what Flux applies from Git,
#: what Helm applies for the releases.
LAYERS = ("pulumi", "flux", "helm")
SIGN: dict[Change, str] = {"added": "+", "changed": "~", "deleted": "-"}
CHANGES: tuple[Change, ...] = ("added", "changed", "deleted")


@dataclass(frozen=True)
class ObjectChange:
    api_version: str  # at head (at the base for a deleted object)
    kind: str
    namespace: str
    name: str
    change: Change
    diff: str  # unified diff of the object's shown YAML (all `+` / all `-` lines when added / deleted)
    detail: str = ""  # e.g. an API version moved in place

    @property
    def title(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    @property
    def sign(self) -> str:
        return SIGN[self.change]


@dataclass(frozen=True)
class Section:
    layer: str  # one of LAYERS
    group: str  # "Flux install", "sources", "block <name>", "notifications", "poller", ...
    objects: tuple[ObjectChange, ...] = ()
    release: str = ""  # Helm layer: "HelmRelease <namespace>/<name>"
    chart: str = ""  # Helm layer: "login-service 1.2.8 -> 1.2.9"
    note: str = ""  # Helm layer: why the release is not (fully) rendered
    error: str = ""  # Helm layer: the repository has no such chart version


@dataclass(frozen=True)
class StackReview:
    name: str
    sections: tuple[Section, ...] = ()
    state: Literal["changed", "added", "deleted"] = "changed"
    upgrade: tuple[str, ...] = ()  # a Flux version change: what it migrates
    notes: tuple[str, ...] = ()  # removed APIs
    helm_note: str = ""  # why the Helm layer is not shown ("" when it is)
    errors: tuple[str, ...] = ()  # what fails the check (a stack that does not build, the API gate, ...)

    def layer(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.layer == name]

    @property
    def changed(self) -> bool:
        return any(s.objects or s.error for s in self.sections) or bool(self.upgrade)


@dataclass(frozen=True)
class Review:
    base: str  # the revision compared with
    head: str  # "working tree"
    stacks: tuple[StackReview, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.stacks)

    @property
    def errors(self) -> list[str]:
        return [f"stack {s.name}: {e}" for s in self.stacks for e in s.errors]


def counts(sections: Iterable[Section]) -> dict[Change, int]:
    """Objects added, changed and deleted in `sections`."""
    out: dict[Change, int] = {"added": 0, "changed": 0, "deleted": 0}
    for section in sections:
        for obj in section.objects:
            out[obj.change] += 1
    return out
