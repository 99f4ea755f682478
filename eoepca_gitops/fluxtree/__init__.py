"""What Flux applies from a Git tree, computed the way kustomize-controller does it.

One implementation for the flux layer of `render`, the importer, `diff` and the tests:

- kustomize.py: the kustomization.yaml kustomize-controller generates for a folder without one,
  `kubectl kustomize` (kustomize built in) with its default load restriction (root only), a
  Kustomization's own build-time fields (targetNamespace, patches, images, namePrefix,
  components) as an overlay;
- envsubst.py: postBuild substitution as Flux's envsubst does it on each object's text;
- gomatch.py: the glob patterns of its trim operators, as its fork of Go's path.Match reads them;
- confine.py: what a tree may make them read: files of its repository, nothing remote;
- tree.py: following a root Kustomization path and every Kustomization it applies;
- objects.py: object keys (group, kind, namespace, name) and a readable dict diff.
"""

from __future__ import annotations

from eoepca_gitops.fluxtree.envsubst import (
    SUBSTITUTE_KEY,
    SubstitutionError,
    flux_envsubst,
    substitute_object,
    substitution_disabled,
    unset_variables,
)
from eoepca_gitops.fluxtree.kustomize import (
    KUSTOMIZATION_FILES,
    BuildError,
    build_dir,
    generated_resources,
    has_kustomization,
    kubectl,
    kustomize,
    substituted,
)
from eoepca_gitops.fluxtree.objects import Key, as_flux_sees_it, diff, documents, key
from eoepca_gitops.fluxtree.tree import (
    AppliedObject,
    FluxTree,
    Problem,
    flux_objects,
    is_flux_kustomization,
    postbuild_variables,
    walk,
    yaml_error,
)

__all__ = [
    "KUSTOMIZATION_FILES",
    "SUBSTITUTE_KEY",
    "AppliedObject",
    "BuildError",
    "FluxTree",
    "Key",
    "Problem",
    "SubstitutionError",
    "as_flux_sees_it",
    "build_dir",
    "diff",
    "documents",
    "flux_envsubst",
    "flux_objects",
    "generated_resources",
    "has_kustomization",
    "is_flux_kustomization",
    "key",
    "kubectl",
    "kustomize",
    "postbuild_variables",
    "substitute_object",
    "substituted",
    "substitution_disabled",
    "unset_variables",
    "walk",
    "yaml_error",
]
