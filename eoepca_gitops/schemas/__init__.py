"""Offline schema validation of rendered objects, strict as kubeconform -strict.

Built-in kinds against the pinned Kubernetes version's OpenAPI v3 (cached from the k8s.io/kubernetes
Go module or a kube-apiserver: openapi.py), Flux's kinds against the CRDs of the stack's Flux
release, other kinds against a CRD the objects carry (catalog.py); the schemas rewritten with the
API server's rules (convert.py); problems naming source, object and field (validate.py).

    catalog = SchemaCatalog.from_install(install)            # a stack's Flux install manifest
    problems = validate([(source, obj), ...], catalog)       # [] when every object is valid
    errors = [p for p in problems if not p.note]

`SchemaCatalog.from_install` raises OpenAPIMissingError (a GitopsError naming the command to run)
when the Kubernetes OpenAPI is neither cached nor in the Go module cache.
"""

from __future__ import annotations

from eoepca_gitops.schemas.catalog import Lookup, SchemaCatalog
from eoepca_gitops.schemas.openapi import (
    FETCH_COMMAND,
    KUBERNETES_VERSION,
    OpenAPIMissingError,
    fetch_from_cluster,
    fetch_from_module,
    kubernetes_openapi_dir,
    openapi_dir,
)
from eoepca_gitops.schemas.validate import SchemaProblem, Sourced, field_path, validate

__all__ = [
    "FETCH_COMMAND",
    "KUBERNETES_VERSION",
    "Lookup",
    "OpenAPIMissingError",
    "SchemaCatalog",
    "SchemaProblem",
    "Sourced",
    "fetch_from_cluster",
    "fetch_from_module",
    "field_path",
    "kubernetes_openapi_dir",
    "openapi_dir",
    "validate",
]
