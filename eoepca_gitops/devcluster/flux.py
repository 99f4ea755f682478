"""The real Flux controllers as host processes of the dev cluster.

The Flux Deployments a stack installs stay pods on kwok's fake node: they never run anything; the
controllers here run in their place, as their Deployments say. Each controller runs while the stack
has its Deployment with replicas (scaling it to 0 or deleting it stops the controller, as in a
cluster) and the API server serves the Flux APIs it reconciles; it is started again if it exits.
All listen on 127.0.0.1 only: metrics and health on free ports, source-controller's artifact
server where the others fetch artifacts, notification-controller's event receiver where the others
send events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from eoepca_gitops.kube.raw import KubeApi

__all__ = [
    "CONTROLLERS",
    "POD_LOGS",
    "Controller",
    "ControllerState",
    "controller_argv",
    "default_ports",
    "flux_deployments",
    "read_states",
    "write_states",
]


#: The port where the supervisor answers for the controllers' pods' logs, as a kubelet would.
POD_LOGS = "flux-pod-logs"


@dataclass(frozen=True)
class Controller:
    name: str
    #: API group/version -> resources the controller watches: it starts once all are served.
    apis: Mapping[str, tuple[str, ...]]
    #: Its own ports besides metrics and health.
    extra_ports: tuple[str, ...] = ()

    def serves(self, api: KubeApi, deployments: Mapping[str, int]) -> str | None:
        """None when it should run (its Deployment has replicas, its APIs are served), else why not.

        `deployments`: the Flux Deployments in the cluster, name -> replicas.
        """
        if self.name not in deployments:
            return "no Deployment (the stack's pulumi up installs it)"
        if deployments[self.name] < 1:
            return "its Deployment is scaled to 0"
        for group_version, resources in self.apis.items():
            found = api.get_json(f"/apis/{group_version}")
            served = {r.get("name") for r in (found or {}).get("resources", [])}
            missing = [r for r in resources if r not in served]
            if missing:
                return (
                    f"waiting for {group_version} {', '.join(missing)} (installed by the stack's pulumi up)"
                )
        return None


_SOURCE = {"source.toolkit.fluxcd.io/v1": ("gitrepositories", "helmrepositories", "helmcharts", "buckets")}
# The versions source-controller v1.9, kustomize-controller v1.9, helm-controller v1.6 and
# notification-controller v1.9 (Flux v2.9) reconcile.
CONTROLLERS = (
    Controller("source-controller", _SOURCE, ("storage",)),
    Controller("kustomize-controller", {"kustomize.toolkit.fluxcd.io/v1": ("kustomizations",), **_SOURCE}),
    Controller("helm-controller", {"helm.toolkit.fluxcd.io/v2": ("helmreleases",), **_SOURCE}),
    Controller(
        "notification-controller",
        {
            "notification.toolkit.fluxcd.io/v1": ("receivers",),
            "notification.toolkit.fluxcd.io/v1beta3": ("providers", "alerts"),
        },
        ("events", "receiver"),
    ),
)


def flux_deployments(api: KubeApi) -> dict[str, int]:
    """The Flux Deployments in the cluster (any namespace): name -> desired replicas."""
    found = api.get_json("/apis/apps/v1/deployments?labelSelector=app.kubernetes.io%2Fpart-of%3Dflux")
    return {
        str(d["metadata"]["name"]): int((d.get("spec") or {}).get("replicas", 1))
        for d in (found or {}).get("items", [])
    }


def controller_argv(binary: Path, c: Controller, ports: Mapping[str, int], storage: Path) -> list[str]:
    argv = [
        str(binary),
        f"--metrics-addr=127.0.0.1:{ports[f'{c.name}-metrics']}",
        f"--health-addr=127.0.0.1:{ports[f'{c.name}-health']}",
        "--enable-leader-election=false",
        "--watch-all-namespaces=true",
        # JSON, as the install manifests have it: what `eoepca-gitops logs` reads, through the pods' logs
        "--log-encoding=json",
        # dependencies are checked again after this long (30 s upstream): a local cluster is quick
        *(["--requeue-dependency=5s"] if c.name != "notification-controller" else []),
    ]
    events = f"http://127.0.0.1:{ports['notification-controller-events']}/"
    if c.name == "source-controller":
        storage_addr = f"127.0.0.1:{ports['source-controller-storage']}"
        argv += [
            f"--storage-path={storage}",
            f"--storage-addr={storage_addr}",
            f"--storage-adv-addr={storage_addr}",
        ]
    if c.name == "notification-controller":
        argv += [
            f"--events-addr=127.0.0.1:{ports['notification-controller-events']}",
            f"--receiverAddr=127.0.0.1:{ports['notification-controller-receiver']}",
        ]
    else:
        argv += [f"--events-addr={events}"]
    return argv


def default_ports(first: int = 9080) -> dict[str, int]:
    """Every port the controllers listen on, by name (`<controller>-metrics`, ...), from `first` on.

    Chosen when the cluster starts, with its other ports, and kept while they are free: artifacts
    Flux stored carry source-controller's address, which must not move when the cluster restarts.
    """
    names = [f"{c.name}-{p}" for c in CONTROLLERS for p in ("metrics", "health", *c.extra_ports)]
    names.append(POD_LOGS)  # the controllers' logs as their pods' (pod_logs.py), last: the others keep theirs
    return {name: first + i for i, name in enumerate(names)}


@dataclass(frozen=True)
class ControllerState:
    name: str
    state: str  # running | waiting | restarting | stopped
    detail: str = ""
    restarts: int = 0


def write_states(path: Path, states: Mapping[str, ControllerState], ports: Mapping[str, int]) -> None:
    payload = {
        "controllers": {
            n: {"state": s.state, "detail": s.detail, "restarts": s.restarts} for n, s in states.items()
        },
        "ports": dict(ports),
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
    tmp.replace(path)


def read_states(path: Path) -> tuple[dict[str, ControllerState], dict[str, int]]:
    try:
        data = json.loads(path.read_text())
        states = {
            n: ControllerState(n, str(s["state"]), str(s.get("detail", "")), int(s.get("restarts", 0)))
            for n, s in data.get("controllers", {}).items()
        }
        return states, {str(k): int(v) for k, v in data.get("ports", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, {}
