"""Which schema an (apiVersion, kind) is checked against, each compiled once, on first use.

In this order: the built-in kinds of the pinned Kubernetes version (its OpenAPI v3 documents);
the CRDs of the stack's Flux release (its install manifest); CRDs given later (those the objects
being validated carry). A group belongs to the first of them that knows it: there, a version or
kind it does not serve is an error (`Lookup.unserved`); a group none of them knows has no schema.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, SchemaError, ValidationError, validators
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from eoepca_gitops.files import read_file
from eoepca_gitops.schemas.convert import OBJECT_META, builtin_document, crd_schema
from eoepca_gitops.schemas.openapi import KUBERNETES_VERSION, group_versions, kubernetes_openapi_dir

__all__ = ["Lookup", "SchemaCatalog"]

_BASE_URI = "https://kubernetes.io/openapi/v3/"
_VERSION_LABEL = "app.kubernetes.io/version"


def _accepts_null(schema: Any) -> bool:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def _present(instance: Mapping[str, Any], name: str, schema: Any) -> bool:
    """A field is there unless absent or null where its schema does not admit null (the server
    drops such a null: Go's decoding of built-in types, pruning for CRDs)."""
    return name in instance and (instance[name] is not None or _accepts_null(schema))


def _properties(
    validator: Validator, properties: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name, sub in properties.items():
            if _present(instance, name, sub):
                yield from validator.descend(instance[name], sub, path=name, schema_path=name)


def _required(
    validator: Validator, required: Iterable[str], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        properties = schema.get("properties", {})
        for name in required:
            if not _present(instance, name, properties.get(name)):
                yield ValidationError(f"{name!r} is a required property", path=[name])


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # RE2 syntax Python's re lacks (\p{L}, ...): that pattern is left unchecked
        return None


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    regex = _regex(pattern)
    if validator.is_type(instance, "string") and regex is not None and not regex.search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Strict = validators.extend(
    Draft202012Validator, {"properties": _properties, "required": _required, "pattern": _pattern}
)


@dataclass(frozen=True)
class Lookup:
    """A kind's compiled schema; or, when its group is known but not this version or kind (or the
    CRD's schema is unusable), why."""

    validator: Validator | None = None
    error: str = ""
    problem: str = "not served"


def _split(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


@functools.lru_cache(maxsize=64)
def _document(path: str, mtime_ns: int) -> tuple[Resource[Any], dict[tuple[str, str, str], str]]:
    """A Kubernetes OpenAPI document made strict, and its kinds: (group, version, kind) -> schema name."""
    document = builtin_document(json.loads(read_file(path)))
    kinds = {
        (gvk["group"], gvk["version"], gvk["kind"]): name
        for name, schema in document["components"]["schemas"].items()
        for gvk in schema.get("x-kubernetes-group-version-kind", ())
    }
    return DRAFT202012.create_resource(document), kinds


class _Builtin:
    """The built-in kinds of one Kubernetes version, from its cached OpenAPI documents."""

    def __init__(self, folder: Path, version: str) -> None:
        self.folder, self.version = folder, version
        self.files = group_versions(folder)
        self.groups: dict[str, list[str]] = {}
        for api_version in sorted(self.files):
            group, version_name = _split(api_version)
            self.groups.setdefault(group, []).append(version_name)
        self.compiled: dict[tuple[str, str], Lookup] = {}

    def uri(self, api_version: str) -> str:
        return _BASE_URI + self.version + "/" + self.files[api_version]

    def document(self, api_version: str) -> tuple[Resource[Any], dict[tuple[str, str, str], str]]:
        path = self.folder / self.files[api_version]
        return _document(str(path), path.stat().st_mtime_ns)

    def ref(self, api_version: str, name: str) -> dict[str, Any]:
        """A $ref to schema `name` of the document of `api_version`."""
        return {"$ref": f"{self.uri(api_version)}#/components/schemas/{name}"}

    def registry(self, api_version: str) -> Registry[Any]:
        """Where the refs of (and into) the document of `api_version` resolve."""
        registry: Registry[Any] = Registry().with_resource(
            self.uri(api_version), self.document(api_version)[0]
        )
        return registry

    def lookup(self, api_version: str, kind: str) -> Lookup | None:
        if _split(api_version)[0] not in self.groups:
            return None
        if (api_version, kind) not in self.compiled:
            self.compiled[api_version, kind] = self._compile(api_version, kind)
        return self.compiled[api_version, kind]

    def _compile(self, api_version: str, kind: str) -> Lookup:
        group, version = _split(api_version)
        served = ", ".join(f"{group}/{v}" if group else v for v in self.groups[group])
        if api_version not in self.files:
            return Lookup(error=f"Kubernetes {self.version} serves {served}, not {api_version}")
        name = self.document(api_version)[1].get((group, version, kind))
        if name is None:
            return Lookup(error=f"Kubernetes {self.version} has no kind {kind} in {api_version}")
        return Lookup(validator=_Strict(self.ref(api_version, name), registry=self.registry(api_version)))


@dataclass
class _Crds:
    """The kinds of some CRDs (apiextensions.k8s.io/v1), each version they serve."""

    origin: str  # where they come from, for messages: "Flux v2.9.3", "a CRD among the objects"
    checked: bool  # each schema is checked first (one a release did not ship)
    schemas: dict[str, dict[str, dict[str, Mapping[str, Any]]]] = field(default_factory=dict)
    compiled: dict[tuple[str, str], Lookup] = field(default_factory=dict)

    @classmethod
    def of(cls, crds: Iterable[Mapping[str, Any]], origin: str, *, checked: bool) -> _Crds:
        found = cls(origin, checked)
        for crd in crds:
            spec = crd.get("spec") or {}
            kinds = found.schemas.setdefault(str(spec.get("group", "")), {})
            versions = kinds.setdefault(str((spec.get("names") or {}).get("kind", "")), {})
            for version in spec.get("versions") or ():
                if version.get("served", True):
                    schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
                    versions[str(version.get("name"))] = schema
        return found

    def lookup(self, api_version: str, kind: str, builtin: _Builtin) -> Lookup | None:
        group, version = _split(api_version)
        if group not in self.schemas:
            return None
        if (api_version, kind) not in self.compiled:
            served = self.schemas[group].get(kind)
            if served is None:
                found = Lookup(error=f"{self.origin} has no kind {kind} in group {group}")
            elif version not in served:
                as_served = ", ".join(f"{group}/{v}" for v in served)
                found = Lookup(error=f"{self.origin} serves {kind} as {as_served}, not {api_version}")
            else:
                found = self._compile(served[version], builtin)
            self.compiled[api_version, kind] = found
        return self.compiled[api_version, kind]

    def _compile(self, schema: Mapping[str, Any], builtin: _Builtin) -> Lookup:
        # ObjectMeta from the core group's document, as the API server checks metadata
        converted = crd_schema(schema, builtin.ref("v1", OBJECT_META))
        if self.checked:
            try:
                _Strict.check_schema(converted, format_checker=None)  # RE2 patterns: see _regex
            except SchemaError as exc:
                message = f"{self.origin} has an unusable schema for it ({exc.json_path}: {exc.message})"
                return Lookup(error=message, problem="invalid schema")
        return Lookup(validator=_Strict(converted, registry=builtin.registry("v1")))


class SchemaCatalog:
    """The schema of each (apiVersion, kind) there is one for: built-in kinds, then CRDs."""

    def __init__(self, builtin: _Builtin, crds: tuple[_Crds, ...]) -> None:
        self._builtin = builtin
        self._crds = crds

    @classmethod
    def from_crds(
        cls, crds: Iterable[Mapping[str, Any]], origin: str, kubernetes_version: str = KUBERNETES_VERSION
    ) -> SchemaCatalog:
        """Kubernetes' built-in kinds (OpenAPIMissingError when its OpenAPI is not at hand) and the
        kinds of `crds` (`origin` names them in messages)."""
        builtin = _Builtin(kubernetes_openapi_dir(kubernetes_version), kubernetes_version)
        return cls(builtin, (_Crds.of(_only_crds(crds), origin, checked=False),))

    @classmethod
    def from_install(
        cls, install: Iterable[Mapping[str, Any]], kubernetes_version: str = KUBERNETES_VERSION
    ) -> SchemaCatalog:
        """The catalog of a stack: Kubernetes' kinds and those of its Flux install manifest's CRDs."""
        crds = _only_crds(install)
        versions = {
            str(((c.get("metadata") or {}).get("labels") or {}).get(_VERSION_LABEL, "")) for c in crds
        }
        origin = f"Flux {versions.pop()}" if len(versions) == 1 and "" not in versions else "Flux"
        return cls.from_crds(crds, origin, kubernetes_version)

    @property
    def kubernetes_version(self) -> str:
        return self._builtin.version

    @property
    def origins(self) -> list[str]:
        """Where the schemas come from, in the order they are looked up."""
        return [f"Kubernetes {self._builtin.version}", *(c.origin for c in self._crds)]

    def with_crds(self, crds: Iterable[Mapping[str, Any]], origin: str) -> SchemaCatalog:
        """This catalog, and for groups it does not know, the kinds of `crds`."""
        crd_kinds = _Crds.of(_only_crds(crds), origin, checked=True)
        return SchemaCatalog(self._builtin, (*self._crds, crd_kinds))

    def lookup(self, api_version: str, kind: str) -> Lookup | None:
        """The kind's schema, or why its known group does not serve it; None: no schema at all."""
        found = self._builtin.lookup(api_version, kind)
        for crds in self._crds:
            if found is not None:
                break
            found = crds.lookup(api_version, kind, self._builtin)
        return found


def _only_crds(objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        o
        for o in objects
        if o.get("kind") == "CustomResourceDefinition" and o.get("apiVersion") == "apiextensions.k8s.io/v1"
    ]
