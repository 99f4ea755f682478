"""The head of a review checked against the schemas, offline, as `render` and `validate` check
objects (eoepca_gitops.schemas): what each layer renders at the head, the Pulumi layer, the Flux
layer and what Helm renders for the changed releases, in one call, so that the CRDs a chart
renders give the schemas of the objects it renders beside them.

A problem fails the review, naming the layer (and block or release), the object and the field; a
kind no schema knows is a note. The base is not checked: a pull request is judged by what it makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eoepca_gitops.schemas import SchemaCatalog, Sourced, validate

__all__ = ["HeadSchemas", "layer_source"]


def layer_source(layer: str, where: str) -> str:
    """How a problem names where its object comes from: "helm layer, HelmRelease um/login"."""
    return f"{layer} layer, {where}"


class HeadSchemas:
    """The schema checks of one run: one catalog per Flux version, shared by every stack that pins
    it (a catalog compiles each kind's schema once, on first use)."""

    def __init__(self) -> None:
        self._catalogs: dict[str, SchemaCatalog] = {}

    def catalog(self, flux_version: str, install: Iterable[Mapping[str, Any]]) -> SchemaCatalog:
        if flux_version not in self._catalogs:
            self._catalogs[flux_version] = SchemaCatalog.from_install(install)
        return self._catalogs[flux_version]

    def check(
        self, flux_version: str, install: Iterable[Mapping[str, Any]], objects: Iterable[Sourced]
    ) -> tuple[list[str], list[str]]:
        """(errors, notes) of `objects` against the schemas of Kubernetes and of the Flux release."""
        problems = validate(objects, self.catalog(flux_version, install))
        return [str(p) for p in problems if not p.note], [str(p) for p in problems if p.note]
