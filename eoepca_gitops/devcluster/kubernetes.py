"""The Kubernetes parts of the dev cluster: how each is started (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok), all bound to 127.0.0.1, and the fake node kwok
keeps Ready so that Deployments become Available.

kwok plays the pods with its own stages, one change: a pod becomes Ready after the duration its
annotation `eoepca-gitops/ready-after` says (charts.READY_AFTER; at once without it), so a stand-in
chart can be slow to become Ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.devcluster.certs import CertFiles
from eoepca_gitops.devcluster.charts import READY_AFTER
from eoepca_gitops.devcluster.flux import POD_LOGS
from eoepca_gitops.devcluster.layout import StateLayout
from eoepca_gitops.devcluster.tools import Tools
from eoepca_gitops.kube.raw import KubeApi

__all__ = [
    "DEFAULT_PORTS",
    "NODE_NAME",
    "apiserver_argv",
    "controller_manager_argv",
    "etcd_argv",
    "fake_node",
    "kwok_argv",
    "kwok_stages",
    "node_ready",
    "scheduler_argv",
]

DEFAULT_PORTS = {
    "etcd": 2379,
    "etcd-peer": 2380,
    "kube-apiserver": 6443,
    "kube-controller-manager": 10257,
    "kube-scheduler": 10259,
    "kwok": 10247,
}
NODE_NAME = "kwok-node-0"
NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"


def etcd_argv(tools: Tools, lay: StateLayout, ports: Mapping[str, int]) -> list[str]:
    client, peer = f"http://127.0.0.1:{ports['etcd']}", f"http://127.0.0.1:{ports['etcd-peer']}"
    return [
        str(tools.etcd),
        "--name=default",
        f"--data-dir={lay.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]


def apiserver_argv(tools: Tools, lay: StateLayout, ports: Mapping[str, int], files: CertFiles) -> list[str]:
    return [
        str(tools.kube_apiserver),
        f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        # the kubernetes service cannot point at loopback: no endpoint reconciler
        "--endpoint-reconciler-type=none",
        f"--secure-port={ports['kube-apiserver']}",
        f"--tls-cert-file={files.serving_cert}",
        f"--tls-private-key-file={files.serving_key}",
        f"--client-ca-file={files.ca_cert}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={files.sa_pub}",
        f"--service-account-signing-key-file={files.sa_key}",
        f"--token-auth-file={lay.tokens}",
        "--authorization-mode=RBAC",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def _serving(name: str, lay: StateLayout, ports: Mapping[str, int], kubeconfig: Path) -> list[str]:
    return [
        "--bind-address=127.0.0.1",
        f"--secure-port={ports[name]}",
        f"--cert-dir={lay.serving / name}",
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
    ]


def controller_manager_argv(
    tools: Tools, lay: StateLayout, ports: Mapping[str, int], kubeconfig: Path, files: CertFiles
) -> list[str]:
    return [
        str(tools.kube_controller_manager),
        *_serving("kube-controller-manager", lay, ports, kubeconfig),
        f"--root-ca-file={files.ca_cert}",
        f"--service-account-private-key-file={files.sa_key}",
    ]


def scheduler_argv(tools: Tools, lay: StateLayout, ports: Mapping[str, int], kubeconfig: Path) -> list[str]:
    return [str(tools.kube_scheduler), *_serving("kube-scheduler", lay, ports, kubeconfig)]


def kwok_stages(stages: Sequence[Path], folder: Path) -> list[Path]:
    """kwok's stages, its pod-ready stage (written into `folder`) delayed by READY_AFTER."""
    out: list[Path] = []
    for path in stages:
        stage = yaml.safe_load(path.read_text())
        if not (isinstance(stage, dict) and stage.get("kind") == "Stage"):
            out.append(path)
            continue
        if (stage.get("metadata") or {}).get("name") == "pod-ready":
            stage["spec"]["delay"] = {
                "durationMilliseconds": 0,
                "durationFrom": {"jq": {"expression": f'.metadata.annotations["{READY_AFTER}"]'}},
            }
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / path.name
            path.write_text(yaml_io.dump(stage))
        out.append(path)
    return out


def kwok_argv(tools: Tools, ports: Mapping[str, int], kubeconfig: Path, stages: Sequence[Path]) -> list[str]:
    return [
        str(tools.kwok),
        f"--kubeconfig={kubeconfig}",
        f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION[0]}={NODE_ANNOTATION[1]}",
        *[f"--config={stage}" for stage in stages],
        f"--server-address=127.0.0.1:{ports['kwok']}",
        "--node-ip=127.0.0.1",
        # the kubelet port the node advertises: where the API server reads pods' logs (the Flux
        # supervisor's pod_logs server when it runs; kwok's own server otherwise)
        f"--node-port={ports.get(POD_LOGS, ports['kwok'])}",
        "--node-lease-duration-seconds=40",
        f"--cidr={POD_CIDR}",
    ]


def fake_node() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "annotations": {NODE_ANNOTATION[0]: NODE_ANNOTATION[1], "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
            },
        },
        "spec": {},
    }


def node_ready(api: KubeApi) -> bool:
    node = api.get_json(f"/api/v1/nodes/{NODE_NAME}")
    if node is None:
        return False
    conditions = node.get("status", {}).get("conditions", [])
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    # the API server taints a new node not-ready; the node lifecycle controller lifts it once Ready
    taints = node.get("spec", {}).get("taints", [])
    tainted = any(t.get("key", "").startswith("node.kubernetes.io/") for t in taints)
    return ready and not tainted
