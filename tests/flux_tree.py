"""What Flux applies from a Git tree, computed the way kustomize-controller does it, for tests.

- `flux_objects(repo_root, root_path)` follows a Flux Kustomization path and every Kustomization
  it applies (sourceRef GitRepository) recursively: a folder with a kustomization.yaml is built by
  its own rules; a folder without one gets a generated kustomization.yaml listing every .yaml/.yml
  file below it (recursively) and every sub-folder that has its own kustomization.yaml (which is
  then not descended into), exactly as fluxcd/pkg's kustomize generator does. Files like `x._yaml`
  are ignored by that extension rule. The build runs `kubectl kustomize` on a scratch copy.
- `flux_envsubst(text, variables)` is postBuild substitution as Flux's envsubst does it in text:
  `${name}` is replaced (strict: an unset name is an error), `$$` is an escaped `$`, and any other
  `$` (e.g. nginx's `$request_uri`) passes through.
- `build_dir(path, variables)` builds one folder and substitutes each object unless it is
  annotated or labelled `kustomize.toolkit.fluxcd.io/substitute: disabled`.
- `key(obj)` -> (group, kind, namespace, name); `diff(a, b)` -> readable differences of two values.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["AppliedObject", "build_dir", "diff", "flux_envsubst", "flux_objects", "key", "kubectl"]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute"
Key = tuple[str, str, str, str]


def kubectl() -> str:
    venv = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "kubectl"
    found = str(venv) if venv.is_file() else shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found (expected in .venv/bin)")
    return found


def key(obj: Mapping[str, Any]) -> Key:
    group = obj["apiVersion"].rpartition("/")[0] if "/" in obj["apiVersion"] else ""
    meta = obj.get("metadata", {})
    return (group, obj["kind"], meta.get("namespace", ""), meta["name"])


def _has_kustomization(folder: Path) -> bool:
    return any((folder / name).is_file() for name in KUSTOMIZATION_FILES)


def _generate_kustomization(folder: Path) -> None:
    """The kustomization.yaml kustomize-controller writes into a folder that has none."""
    resources: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames.sort()
        for d in list(dirnames):
            if _has_kustomization(here / d):
                resources.append("./" + str((here / d).relative_to(folder)))
                dirnames.remove(d)
        for f in sorted(filenames):
            if Path(f).suffix in (".yaml", ".yml"):
                resources.append("./" + str((here / f).relative_to(folder)))
    # Walk order differs from Go's lexical walk only in resource order, which kustomize output
    # does not depend on for our comparisons.
    text = yaml.safe_dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
    )
    (folder / "kustomization.yaml").write_text(text)


def _kustomize(folder: Path) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {folder} failed:\n{result.stderr}")
    return result.stdout


def _documents(text: str) -> Iterator[dict[str, Any]]:
    for doc in yaml.load_all(text, Loader=yaml.CSafeLoader):
        if isinstance(doc, dict):
            yield doc


@dataclass(frozen=True)
class AppliedObject:
    obj: dict[str, Any]
    kustomization: str  # the Flux Kustomization (namespace/name) that applies it
    path: str  # its spec.path


def flux_objects(
    repo_root: Path, root_path: str, root_name: str = "flux-system/flux-system"
) -> list[AppliedObject]:
    """Every object Flux applies starting from one Kustomization path, following nested Kustomizations."""
    with tempfile.TemporaryDirectory(prefix="flux-tree-") as tmp:
        scratch = Path(tmp) / "repo"
        shutil.copytree(repo_root, scratch)
        out: list[AppliedObject] = []
        todo = [(root_name, root_path)]
        seen: set[str] = set()
        while todo:
            name, path = todo.pop(0)
            norm = os.path.normpath(path.removeprefix("./"))
            if norm in seen:
                continue
            seen.add(norm)
            folder = scratch / norm
            if not _has_kustomization(folder):
                _generate_kustomization(folder)
            for obj in _documents(_kustomize(folder)):
                out.append(AppliedObject(obj, name, path))
                is_flux = obj["apiVersion"].startswith("kustomize.toolkit.fluxcd.io/")
                if is_flux and obj["spec"].get("sourceRef", {}).get("kind") == "GitRepository":
                    meta = obj["metadata"]
                    todo.append((f"{meta.get('namespace')}/{meta['name']}", obj["spec"]["path"]))
        return out


_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}")
_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")


def flux_envsubst(text: str, variables: Mapping[str, str]) -> str:
    """Flux postBuild substitution (strict), for the plain `${name}` form this project uses."""

    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        if not _NAME.match(name):
            raise ValueError(f"${{{name}}}: only plain ${{name}} variables are used in this project")
        if name not in variables:
            raise ValueError(f"variable substitution failed: ${{{name}}} is not set (strict mode)")
        return variables[name]

    return _TOKEN.sub(replace, text)


def _disabled(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata", {})
    return (meta.get("annotations") or {}).get(SUBSTITUTE_KEY) == "disabled" or (
        meta.get("labels") or {}
    ).get(SUBSTITUTE_KEY) == "disabled"


def build_dir(folder: Path, variables: Mapping[str, str]) -> list[dict[str, Any]]:
    """`kubectl kustomize folder`, then each object substituted as Flux's postBuild would."""
    out = []
    for obj in _documents(_kustomize(folder)):
        if not _disabled(obj):
            text = yaml.safe_dump(obj, sort_keys=False, width=1 << 16)
            obj = yaml.load(flux_envsubst(text, variables), Loader=yaml.CSafeLoader)
        out.append(obj)
    return out


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Every difference between two values, one line each, with its path (ours vs original)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append(f"{p}: only in ours: {a[k]!r:.200}")
            elif k not in a:
                out.append(f"{p}: only in original: {b[k]!r:.200}")
            else:
                out += diff(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items in ours, {len(b)} in original")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            out += diff(x, y, f"{path}[{i}]")
        return out
    if isinstance(a, str) and isinstance(b, str) and a != b and max(len(a), len(b)) > 120:
        i = next((n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        lo = max(0, i - 40)
        return [
            f"{path}: strings differ at {i}: ours ...{a[lo : i + 60]!r}... "
            f"!= original ...{b[lo : i + 60]!r}..."
        ]
    if a != b or type(a) is not type(b):
        return [f"{path}: ours {a!r:.200} != original {b!r:.200}"]
    return []
