"""`python -m eoepca_gitops.devcluster.supervisor`: keeps the Flux controllers of a dev cluster running.

Started by `eoepca-gitops dev-cluster up` like the cluster's other parts. It starts each controller
once the API server serves the Flux APIs it reconciles, starts it again (after a growing pause) if
it exits, and writes each controller's state to flux.json for `dev-cluster status`. On SIGTERM it
stops the controllers it started. Each controller has its own pid file, so `down` stops exactly
what was started even if this process was killed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from eoepca_gitops.devcluster import certs, processes
from eoepca_gitops.devcluster.flux import (
    CONTROLLERS,
    POD_LOGS,
    ControllerState,
    controller_argv,
    default_ports,
    flux_deployments,
    write_states,
)
from eoepca_gitops.devcluster.kubeconfig import ensure_tokens
from eoepca_gitops.devcluster.layout import StateLayout
from eoepca_gitops.devcluster.pod_logs import serve_pod_logs
from eoepca_gitops.devcluster.processes import ProcessRecord
from eoepca_gitops.devcluster.tools import find_flux_controllers
from eoepca_gitops.errors import KubeApiError
from eoepca_gitops.kube.raw import KubeApi

__all__ = ["main", "supervisor_argv"]

TICK = 1.0
MAX_PAUSE = 30.0


def supervisor_argv(state_dir: Path, server: str, kubeconfig: Path, ports: dict[str, int]) -> list[str]:
    """The command line that runs the supervisor as its own process; `ports`: default_ports()'s names."""
    return [
        sys.executable, "-m", __name__,
        f"--state-dir={state_dir}", f"--server={server}", f"--kubeconfig={kubeconfig}",
        *(f"--port={name}={port}" for name, port in sorted(ports.items()) if name in default_ports()),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eoepca_gitops.devcluster.supervisor")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--server", required=True, help="https://127.0.0.1:PORT of the API server")
    parser.add_argument("--kubeconfig", type=Path, required=True, help="what the controllers use")
    parser.add_argument("--port", action="append", default=[], help="NAME=PORT, for each of default_ports()")
    args = parser.parse_args()
    lay = StateLayout(args.state_dir)
    binaries = find_flux_controllers()
    ports = {name: int(port) for name, _, port in (p.partition("=") for p in args.port)}
    files = certs.CertFiles.in_dir(lay.pki)
    api = KubeApi(args.server, ensure_tokens(lay.tokens)["admin"], files.ca_cert)
    lay.flux_storage.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def pod_labels(namespace: str, name: str) -> dict[str, str] | None:
        pod = api.get_json(f"/api/v1/namespaces/{namespace}/pods/{name}") or {}
        labels: dict[str, str] | None = (pod.get("metadata") or {}).get("labels")
        return labels

    pod_logs = serve_pod_logs(ports[POD_LOGS], files.serving_cert, files.serving_key, lay.logs, pod_labels)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    running: dict[str, ProcessRecord] = {}
    states = {c.name: ControllerState(c.name, "waiting", "starting") for c in CONTROLLERS}
    not_before: dict[str, float] = {}
    while not stop.is_set():
        try:
            deployments: dict[str, int] | None = flux_deployments(api)
        except (OSError, KubeApiError):
            deployments = None  # the API server does not answer: leave things as they are
        for c in CONTROLLERS:
            record = running.get(c.name)
            restarts = states[c.name].restarts
            try:
                why_not = c.serves(api, deployments) if deployments is not None else None
            except (OSError, KubeApiError) as exc:
                why_not = None if record is not None else f"API server not answering: {exc}"
            if record is not None and processes.is_running(record):
                if why_not:  # its Deployment went away or to 0 replicas: as in a cluster, it stops
                    processes.stop(record)
                    del running[c.name]
                    (lay.pids / f"{c.name}.pid").unlink(missing_ok=True)
                    states[c.name] = ControllerState(c.name, "waiting", why_not, restarts)
                else:
                    states[c.name] = ControllerState(c.name, "running", f"pid {record.pid}", restarts)
                continue
            if record is not None:  # it exited: start it again after a pause that grows
                processes.stop(record)  # reaps it
                del running[c.name]
                restarts += 1
                not_before[c.name] = time.monotonic() + min(MAX_PAUSE, 2.0 ** min(restarts, 5))
                tail = processes.log_tail(Path(record.log), 1)
                states[c.name] = ControllerState(c.name, "restarting", f"exited: {tail[:300]}", restarts)
            if why_not or deployments is None:
                states[c.name] = ControllerState(
                    c.name, "waiting", why_not or "API server not answering", restarts
                )
                continue
            if time.monotonic() < not_before.get(c.name, 0.0):
                continue
            argv = controller_argv(binaries[c.name], c, ports, lay.flux_storage)
            log = lay.logs / f"{c.name}.log"
            env = {"KUBECONFIG": str(args.kubeconfig), "RUNTIME_NAMESPACE": "flux-system"}
            running[c.name] = processes.spawn(c.name, argv, log, lay.pids, env=env)
            states[c.name] = ControllerState(c.name, "running", f"pid {running[c.name].pid}", restarts)
        write_states(lay.flux_status, states, ports)
        stop.wait(TICK)
    pod_logs.shutdown()
    pod_logs.server_close()
    for name, record in running.items():
        processes.stop(record)
        (lay.pids / f"{name}.pid").unlink(missing_ok=True)
        states[name] = ControllerState(name, "stopped", "", states[name].restarts)
    write_states(lay.flux_status, states, ports)


if __name__ == "__main__":
    main()
