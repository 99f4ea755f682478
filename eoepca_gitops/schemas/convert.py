"""OpenAPI schemas as the API server applies them, rewritten as JSON Schema 2020-12 for `jsonschema`.

Two sources, each with its server's rules, strict as kubeconform -strict:

- Built-in kinds (Kubernetes' OpenAPI v3 documents): an object that lists its properties takes no
  others (additionalProperties false; kubectl's client-side rule, which kubeconform -strict
  adds); IntOrString is an integer or a string; a Quantity a number or a string of the quantity
  grammar (resource.ParseQuantity's).
- A CRD version's openAPIV3Schema (a structural schema): a field the schema does not name is
  unknown unless x-kubernetes-preserve-unknown-fields (the server would prune it; kubectl's
  strict field validation refuses it); `nullable` admits null; x-kubernetes-int-or-string;
  an x-kubernetes-embedded-resource object carries apiVersion and kind (required) and an
  ObjectMeta; at the top, apiVersion and kind are strings and metadata is an ObjectMeta; a
  required field with a default is not missing (the server defaults before it validates);
  OpenAPI 3.0's boolean exclusiveMinimum/Maximum become 2020-12's numbers.

A null field counts as absent (the server drops it) unless its schema admits null: the catalog's
validator does that, not the schemas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["INT_OR_STRING", "OBJECT_META", "QUANTITY", "QUANTITY_PATTERN", "builtin_document", "crd_schema"]

Schema = dict[str, Any]

INT_OR_STRING: Final = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY: Final = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# <signedNumber><suffix>: what resource.ParseQuantity accepts (controller-gen writes the same
# pattern into CRDs for a resource.Quantity field).
QUANTITY_PATTERN: Final = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_INT_OR_STRING_FLAG = "x-kubernetes-int-or-string"
_EMBEDDED = "x-kubernetes-embedded-resource"
_TYPE_META: Final = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}
_INT_OR_STRING_BRANCHES = ({"type": "integer"}, {"type": "string"})


def _rebuilt(node: Mapping[str, Any], each: Callable[[Mapping[str, Any]], Schema]) -> Schema:
    """A copy of `node` whose subschemas are `each(subschema)`."""
    out = dict(node)
    for keyword in ("properties", "patternProperties"):
        if isinstance(node.get(keyword), dict):
            out[keyword] = {name: each(sub) for name, sub in node[keyword].items()}
    for keyword in ("items", "additionalProperties", "not"):
        if isinstance(node.get(keyword), dict):
            out[keyword] = each(node[keyword])
    for keyword in ("allOf", "anyOf", "oneOf"):
        if isinstance(node.get(keyword), list):
            out[keyword] = [each(sub) for sub in node[keyword]]
    return out


def _strict_builtin(node: Mapping[str, Any]) -> Schema:
    out = _rebuilt(node, _strict_builtin)
    if "properties" in out and "additionalProperties" not in out and not out.get(_PRESERVE):
        out["additionalProperties"] = False
    return out


def builtin_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """A Kubernetes OpenAPI v3 document with its component schemas made strict."""
    schemas = {
        name: _strict_builtin(s) for name, s in document.get("components", {}).get("schemas", {}).items()
    }
    if INT_OR_STRING in schemas:
        schemas[INT_OR_STRING] = {"type": ["integer", "string"]}
    if QUANTITY in schemas:
        schemas[QUANTITY] = {"type": ["string", "number"], "pattern": QUANTITY_PATTERN}
    return {**document, "components": {**document.get("components", {}), "schemas": schemas}}


def _nullable(out: Schema) -> None:
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]


def _exclusive_bounds(out: Schema) -> None:
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)


def _structural(node: Mapping[str, Any], object_meta: Schema) -> Schema:
    out = _rebuilt(node, lambda sub: _structural(sub, object_meta))
    if node.get(_INT_OR_STRING_FLAG):
        out["type"] = ["integer", "string"]
        kept = [b for b in out.get("anyOf", ()) if b not in _INT_OR_STRING_BRANCHES]
        out.pop("anyOf", None)
        if kept:
            out["anyOf"] = kept
    if node.get(_EMBEDDED):
        out["properties"] = {**_TYPE_META, **out.get("properties", {}), "metadata": object_meta}
        out["required"] = sorted({*out.get("required", ()), "apiVersion", "kind"})
    if out.get("type") == "object" and not node.get(_PRESERVE) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if "required" in out:
        defaulted = {name for name, sub in out.get("properties", {}).items() if "default" in sub}
        out["required"] = [name for name in out["required"] if name not in defaulted]
    if node.get("nullable") is True:
        _nullable(out)
    _exclusive_bounds(out)
    return out


def crd_schema(open_api_v3_schema: Mapping[str, Any], object_meta: Schema) -> Schema:
    """A CRD version's openAPIV3Schema with the API server's rules; `object_meta` is the schema
    (a $ref) that the object's metadata and each embedded resource's metadata must match."""
    root = _structural(open_api_v3_schema, object_meta)
    # every object has them, whether its CRD's schema says so or not
    root["properties"] = {**_TYPE_META, **root.get("properties", {}), "metadata": object_meta}
    return root
