"""What the stack takes back when someone else changes an object, and what it leaves alone.

Every object carries `pulumi.com/patchForce: "true"`: Pulumi's server-side apply then takes back the
fields the stack declares from any field manager (kubectl edit/patch/scale, another applier, a
controller), and only those: a field the stack does not declare stays with whoever set it. Without it
a field another manager changed is invisible to a preview and a conflict for an update.

Exemptions (the stack's driftExempt and each block's) make drift on purpose possible: an exempt
field is left out of the declared object (its current owner keeps it); an exempt object is marked
for the components, which then never update it. Both are marked on the object for `status`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.manifests.identity import object_key
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import DriftExemption

__all__ = ["EXEMPT", "EXEMPT_FIELDS", "PATCH_FORCE", "apply_drift_policy", "exempt_fields"]

PATCH_FORCE = "pulumi.com/patchForce"
#: Marks an object whose drift is neither reported nor corrected (`true`), or the fields that are not.
EXEMPT = "eoepca-gitops.eoepca.org/drift-exempt"
EXEMPT_FIELDS = "eoepca-gitops.eoepca.org/drift-exempt-fields"


def _drop(obj: dict[str, Any], path: str) -> bool:
    parts = path.split(".")
    node: Any = obj
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        return False
    del node[parts[-1]]
    return True


def exempt_fields(obj: dict[str, Any]) -> list[str]:
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(EXEMPT_FIELDS, "")
    return [f for f in text.split(",") if f]


def apply_drift_policy(
    objects: Iterable[dict[str, Any]], exemptions: Iterable[DriftExemption], file: str
) -> None:
    """Marks every object in place (see the module doc); an exemption of an object or field the stack
    does not declare is a ConfigError naming it."""
    by_key = {object_key(o): o for o in objects}
    exempt: dict[str, DriftExemption] = {}
    for exemption in exemptions:
        if exemption.object not in by_key:
            raise ConfigError(
                file,
                f"{defaults.CONFIG_NAMESPACE}:driftExempt",
                f"{exemption.object}: the stack declares no such object",
            )
        exempt[exemption.object] = exemption
    for key, obj in by_key.items():
        annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
        e = exempt.get(key)
        if e is not None and not e.fields:
            annotations[EXEMPT] = "true"
            continue
        annotations[PATCH_FORCE] = "true"
        if e is not None:
            for path in e.fields:
                if not _drop(obj, path):
                    raise ConfigError(
                        file,
                        f"{defaults.CONFIG_NAMESPACE}:driftExempt",
                        f"{key}: the stack declares no field {path}",
                    )
            annotations[EXEMPT_FIELDS] = ",".join(e.fields)
