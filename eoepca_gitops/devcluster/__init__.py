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

from eoepca_gitops.devcluster.cluster import DevCluster
from eoepca_gitops.devcluster.layout import ClusterInfo, ComponentStatus
from eoepca_gitops.devcluster.tools import Tools, default_state_dir, find_tools
from eoepca_gitops.errors import ClusterError, ToolsMissingError

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
