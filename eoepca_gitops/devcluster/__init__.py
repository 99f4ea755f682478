"""A local Kubernetes cluster from the binaries `scripts/tools.sh` builds: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok with one fake node, a Git server and a chart
repository, and the real Flux controllers; all on 127.0.0.1.

    from eoepca_gitops.devcluster import DevCluster
    cluster = DevCluster(state_dir)
    info = cluster.up()          # ClusterInfo(kubeconfig=..., server=...)
    cluster.status()
    cluster.down()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from eoepca_gitops.errors import ClusterError, ToolsMissingError

if TYPE_CHECKING:
    from eoepca_gitops.devcluster.cluster import DevCluster
    from eoepca_gitops.devcluster.layout import ClusterInfo, ComponentStatus
    from eoepca_gitops.devcluster.tools import Tools, default_state_dir, find_tools

__all__ = [
    "ClusterError",
    "ClusterInfo",
    "ComponentStatus",
    "DevCluster",
    "Tools",
    "ToolsMissingError",
    "default_state_dir",
    "find_tools",
]

# Loaded on first use: a command that needs one tool's path (devcluster.tools) does not import the
# cluster (its certificates' cryptography, its processes).
_LAZY = {
    "DevCluster": "cluster",
    "ClusterInfo": "layout",
    "ComponentStatus": "layout",
    "Tools": "tools",
    "default_state_dir": "tools",
    "find_tools": "tools",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
