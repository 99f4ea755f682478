"""Which fields of an object a CRD version's OpenAPI schema does not know: the API server drops them
(prunes) when the object is written in that version. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["dropped_fields", "version_schema"]


def version_schema(crd_spec: Mapping[str, Any], version: str) -> Mapping[str, Any] | None:
    """The openAPIV3Schema of one version of a CRD spec, or None when the CRD has no such version."""
    for entry in crd_spec.get("versions") or []:
        if entry.get("name") == version:
            schema: Mapping[str, Any] = (entry.get("schema") or {}).get("openAPIV3Schema") or {}
            return schema
    return None


def dropped_fields(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Paths (`.spec.chart.spec.valuesFile`) in `value` that `schema` would prune."""
    if schema.get("x-kubernetes-preserve-unknown-fields") or not schema:
        return []
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        found: list[str] = []
        for key, item in value.items():
            if properties is not None and key in properties:
                found += dropped_fields(item, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                found += dropped_fields(item, extra, f"{path}.{key}")
            elif properties is not None and extra is not True:
                found.append(f"{path}.{key}")
        return found
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        found = []
        for i, item in enumerate(value):
            found += dropped_fields(item, schema["items"], f"{path}[{i}]")
        return found
    return []
