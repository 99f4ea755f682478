"""Objects checked against their kinds' schemas: each problem names where the object came from, the
object, the field and what is wrong, as kubeconform -strict reports it.

A kind no schema knows (a CRD neither Kubernetes, the stack's Flux nor the objects themselves
define, e.g. a SealedSecret) is not validated: one note per kind, as kubeconform's
-ignore-missing-schemas, not an error.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

from eoepca_gitops.credentials import redact
from eoepca_gitops.fluxtree.remote import is_standin
from eoepca_gitops.schemas.catalog import SchemaCatalog
from eoepca_gitops.schemas.convert import QUANTITY_PATTERN

__all__ = ["SchemaProblem", "Sourced", "field_path", "validate"]

# (where an object came from: a file, a layer; the object)
Sourced = tuple[str, Mapping[str, Any]]

# What render shows where the stack leaves a value unset (eoepca_gitops.model.loader, manifests.sources):
# the value it stands for is not known yet, so not checked.
_PLACEHOLDER = re.compile(r"<(?:unset|secret) [^<>]+>")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SHOWN = 60  # characters of a value shown in a message
_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"))


@dataclass(frozen=True, order=True)
class SchemaProblem:
    """One thing wrong with one object (or, with `note`, one kind left unvalidated)."""

    source: str  # the file or layer the object came from
    object: str  # apiVersion kind namespace/name
    field: str  # spec.template.spec.containers[0].imagee; "" for the object as a whole
    # unknown field | wrong type | missing required field | not allowed | invalid | not served |
    # invalid schema (of a CRD among the objects) | no schema (a note)
    problem: str
    message: str
    note: bool = False  # True: not an error (a kind without a schema)

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.source}: {self.object}: {where}{self.message}"


def _identity(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    ns, name = meta.get("namespace"), meta.get("name") or meta.get("generateName") or "<no name>"
    return f"{obj.get('apiVersion')} {obj.get('kind')} {f'{ns}/' if ns else ''}{name}"


def field_path(parts: Iterable[str | int]) -> str:
    """spec.containers[0].image; a key that is not a plain name is quoted: labels["app.kubernetes.io/x"]."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for python, name in _JSON_TYPES if isinstance(value, python)), "object")


def _shown(value: Any, secret: bool) -> str:
    if secret or isinstance(value, dict | list) or value is None:
        return _json_type(value)
    text = redact(repr(value))
    return f"{_json_type(value)} {text[:_SHOWN] + '...' if len(text) > _SHOWN else text}"


def _unknown(error: ValidationError) -> Iterator[tuple[list[str | int], str, str]]:
    schema, instance = error.schema, error.instance
    known = list((schema.get("properties") or {}) if isinstance(schema, Mapping) else {})
    patterns = list((schema.get("patternProperties") or {}) if isinstance(schema, Mapping) else {})
    for name in instance:
        if name not in known and not any(re.search(p, name) for p in patterns):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            yield [*error.absolute_path, name], "unknown field", f"unknown field{hint}"


def _explain(error: ValidationError, secret: bool) -> Iterator[tuple[list[str | int], str, str]]:
    """(path, problem, message) for one jsonschema error."""
    path: list[str | int] = list(error.absolute_path)
    keyword, expected = error.validator, error.validator_value
    if keyword == "additionalProperties" and expected is False:
        yield from _unknown(error)
    elif keyword == "required":
        yield path, "missing required field", "missing required field"
    elif keyword == "type":
        types = " or ".join(expected) if isinstance(expected, list) else str(expected)
        yield path, "wrong type", f"wrong type: expected {types}, got {_shown(error.instance, secret)}"
    elif keyword == "enum":
        allowed = ", ".join(repr(v) for v in expected)
        yield path, "not allowed", f"must be one of {allowed}; got {_shown(error.instance, secret)}"
    elif keyword in ("anyOf", "oneOf") and error.context:
        yield from _explain(best_match(error.context), secret)
    elif keyword == "pattern" and expected == QUANTITY_PATTERN:
        yield path, "invalid", f"not a quantity (e.g. 512Mi, 1.5, 250m): {_shown(error.instance, secret)}"
    elif keyword == "pattern":
        yield path, "invalid", f"{_shown(error.instance, secret)} does not match {expected}"
    else:  # lengths, bounds, ...
        rule = redact(f"{keyword} {expected}")[: _SHOWN * 2]
        yield path, "invalid", f"invalid value {_shown(error.instance, secret)}: {rule}"


def _problems(source: str, obj: Mapping[str, Any], validator: Validator) -> Iterator[SchemaProblem]:
    secret = obj.get("kind") == "Secret"
    ident = _identity(obj)
    for error in validator.iter_errors(obj):
        if isinstance(error.instance, str) and _PLACEHOLDER.search(error.instance):
            continue
        for path, problem, message in _explain(error, secret):
            yield SchemaProblem(source, ident, field_path(path), problem, message)


def _no_schema(kinds: dict[tuple[str, str], list[str]], catalog: SchemaCatalog) -> list[SchemaProblem]:
    origins = catalog.origins
    known = ", ".join(origins[:-1]) + f" or {origins[-1]}" if len(origins) > 1 else origins[0]
    return [
        SchemaProblem(
            sources[0],
            f"{api_version} {kind}",
            "",
            "no schema",
            f"not validated: no schema in {known} ({len(sources)} object{'s' if len(sources) > 1 else ''})",
            note=True,
        )
        for (api_version, kind), sources in sorted(kinds.items())
    ]


def validate(objects: Iterable[Sourced], catalog: SchemaCatalog) -> list[SchemaProblem]:
    """Every problem of `objects` ((source, object) pairs) against `catalog`, errors sorted by source,
    then one note per kind that has no schema. A CRD among the objects (apiextensions.k8s.io/v1)
    gives the schema of its kinds when the catalog knows nothing of their group."""
    objects = list(objects)
    carried = [o for _, o in objects if o.get("kind") == "CustomResourceDefinition"]
    if carried:
        catalog = catalog.with_crds(carried, "a CRD among the objects")
    errors: set[SchemaProblem] = set()
    unknown: dict[tuple[str, str], list[str]] = {}
    remote: list[str] = []
    for source, obj in objects:
        if is_standin(obj):
            remote.append(source)
            continue
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            errors.add(
                SchemaProblem(source, _identity(obj), "", "invalid", "not an object: no apiVersion or kind")
            )
            continue
        found = catalog.lookup(api_version, kind)
        if found is None:
            unknown.setdefault((api_version, kind), []).append(source)
        elif found.validator is None:
            errors.add(SchemaProblem(source, _identity(obj), "apiVersion", found.problem, found.error))
        else:
            errors.update(_problems(source, obj, found.validator))
    built_by_flux = [
        SchemaProblem(
            source,
            "folders that name remote resources",
            "",
            "remote",
            f"built by Flux at apply time: their objects are not known offline ({len(remote)} folders)",
            note=True,
        )
        for source in remote[:1]
    ]
    return [*sorted(errors), *_no_schema(unknown, catalog), *built_by_flux]
