"""Finds the binaries `scripts/tools.sh` builds into its cache (default ~/.cache/eoepca-gitops/tools)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from eoepca_gitops.errors import ToolsMissingError

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
FLUX_CONTROLLERS = ("source-controller", "kustomize-controller", "helm-controller", "notification-controller")


@dataclass(frozen=True)
class Tools:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kwok_stages: tuple[Path, ...]


def tools_dir() -> Path:
    """The tool cache of scripts/tools.sh (EOEPCA_TOOLS_DIR moves it)."""
    env = os.environ.get("EOEPCA_TOOLS_DIR")
    return Path(env) if env else Path.home() / ".cache" / "eoepca-gitops" / "tools"


def tools_bin_dir() -> Path:
    return tools_dir() / "bin"


def default_state_dir() -> Path:
    """`<repo>/.state/dev-cluster` (git-ignored), or EOEPCA_DEV_CLUSTER_DIR."""
    env = os.environ.get("EOEPCA_DEV_CLUSTER_DIR")
    return Path(env) if env else REPO_ROOT / ".state" / "dev-cluster"


def find_binary(name: str) -> Path | None:
    """A binary of the tool cache, or else of PATH; None when neither has it."""
    candidate = tools_bin_dir() / name
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def find_tools() -> Tools:
    """All binaries, the tool cache first, then PATH; raises ToolsMissingError naming scripts/tools.sh."""
    found = {name: find_binary(name) for name in BINARIES}
    missing = [name for name, path in found.items() if path is None]
    stage_dirs = sorted(tools_dir().glob("kwok-*/stages"))
    stages = tuple(
        p for d in stage_dirs[-1:] for p in sorted(d.glob("*.yaml")) if p.name != "kustomization.yaml"
    )
    if not stages:
        missing.append(f"kwok stage files ({tools_dir()}/kwok-*/stages/*.yaml)")
    if missing:
        raise ToolsMissingError(
            f"missing: {', '.join(missing)}. Build them with `scripts/tools.sh` "
            f"(cache {tools_dir()}; EOEPCA_TOOLS_DIR moves it)."
        )

    def get(name: str) -> Path:
        path = found[name]
        assert path is not None
        return path

    return Tools(
        etcd=get("etcd"),
        kube_apiserver=get("kube-apiserver"),
        kube_controller_manager=get("kube-controller-manager"),
        kube_scheduler=get("kube-scheduler"),
        kwok=get("kwok"),
        kwok_stages=stages,
    )


def find_flux_controllers() -> dict[str, Path]:
    """The Flux controllers scripts/tools.sh builds (`scripts/tools.sh flux`), by name."""
    found = {name: find_binary(name) for name in FLUX_CONTROLLERS}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise ToolsMissingError(
            f"missing: {', '.join(missing)}. Build them with `scripts/tools.sh flux` "
            f"(cache {tools_dir()}; EOEPCA_TOOLS_DIR moves it), or start the cluster without Flux "
            "(--no-flux)."
        )
    return {name: path for name, path in found.items() if path is not None}
