"""The dev cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with
one fake node, all bound to 127.0.0.1, state (certs, kubeconfigs, etcd data, logs, pid files) in
one folder."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoepca_gitops.devcluster import certs, processes
from eoepca_gitops.devcluster.kubeapi import KubeApi, healthz
from eoepca_gitops.devcluster.kubeconfig import IDENTITIES, ensure_tokens, write_kubeconfig
from eoepca_gitops.devcluster.processes import ProcessRecord
from eoepca_gitops.devcluster.tools import Tools, default_state_dir, find_tools
from eoepca_gitops.errors import ClusterError

# start order; `down` stops in reverse
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
DEFAULT_PORTS = {
    "etcd": 2379,
    "etcd-peer": 2380,
    "kube-apiserver": 6443,
    "kube-controller-manager": 10257,
    "kube-scheduler": 10259,
    "kwok": 10247,
}
PORT_ATTEMPTS = 3
NODE_NAME = "kwok-node-0"
NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ClusterInfo:
    state_dir: Path
    kubeconfig: Path
    server: str
    ports: dict[str, int]
    start_seconds: float | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "state_dir": str(self.state_dir),
                "kubeconfig": str(self.kubeconfig),
                "server": self.server,
                "ports": self.ports,
                "start_seconds": self.start_seconds,
            },
            indent=2,
        )

    @classmethod
    def from_file(cls, path: Path) -> ClusterInfo | None:
        try:
            data = json.loads(path.read_text())
            return cls(
                state_dir=Path(data["state_dir"]),
                kubeconfig=Path(data["kubeconfig"]),
                server=str(data["server"]),
                ports={str(k): int(v) for k, v in data["ports"].items()},
                start_seconds=data.get("start_seconds"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    pid: int | None
    port: int | None
    log: str | None


@dataclass
class _Layout:
    root: Path
    pki: Path = field(init=False)
    tokens: Path = field(init=False)
    etcd_data: Path = field(init=False)
    logs: Path = field(init=False)
    pids: Path = field(init=False)
    kubeconfigs: Path = field(init=False)
    serving: Path = field(init=False)
    kubeconfig: Path = field(init=False)
    info: Path = field(init=False)
    lock: Path = field(init=False)

    def __post_init__(self) -> None:
        r = self.root
        self.pki = r / "pki"
        self.tokens = r / "pki" / "tokens.csv"
        self.etcd_data = r / "etcd"
        self.logs = r / "logs"
        self.pids = r / "pids"
        self.kubeconfigs = r / "kubeconfigs"
        self.serving = r / "serving-certs"
        self.kubeconfig = r / "kubeconfig"
        self.info = r / "cluster.json"
        self.lock = r / ".lock"


def _print_progress(message: str) -> None:
    print(message, flush=True)


class DevCluster:
    def __init__(
        self,
        state_dir: Path | None = None,
        progress: Progress | None = None,
        default_ports: bool = True,
    ) -> None:
        """`default_ports=False` picks free ports at random (test sessions running side by side
        would otherwise race for the well-known ones)."""
        self.layout = _Layout((state_dir or default_state_dir()).resolve())
        self._progress = progress or _print_progress
        self._default_ports = default_ports
        self._t0 = time.monotonic()

    @property
    def state_dir(self) -> Path:
        return self.layout.root

    # ---- public API -------------------------------------------------------------------------

    def info(self) -> ClusterInfo | None:
        """What the last successful `up` wrote, or None."""
        return ClusterInfo.from_file(self.layout.info)

    def status(self) -> tuple[list[ComponentStatus], bool]:
        """Each component (running or not) and whether the API server answers /readyz."""
        records = processes.read_records(self.layout.pids)
        info = self.info()
        result = []
        for name in COMPONENTS:
            record = records.get(name)
            running = record is not None and processes.is_running(record)
            result.append(
                ComponentStatus(
                    name=name,
                    running=running,
                    pid=record.pid if record and running else None,
                    port=info.ports.get(name) if info else None,
                    log=record.log if record else None,
                )
            )
        ready = False
        if info is not None and any(c.running for c in result):
            ready = self._api(info.server).ready()
        return result, ready

    def up(self, timeout: float = 90.0) -> ClusterInfo:
        """Starts the cluster (or finds it running) and returns where to reach it."""
        self._t0 = time.monotonic()
        with self._locked():
            components, ready = self.status()
            info = self.info()
            if info is not None and ready and all(c.running for c in components):
                self._say(f"already running: {info.server}")
                return info
            if any(c.running for c in components):
                self._say("some components run from an earlier start; stopping them first")
                self._stop_all()
            tools = find_tools()
            deadline = time.monotonic() + timeout
            for attempt in range(1, PORT_ATTEMPTS + 1):
                try:
                    return self._start(tools, deadline, random_ports=attempt > 1 or not self._default_ports)
                except ClusterError as err:
                    self._say("start failed; stopping what was started")
                    self._stop_all()
                    # a port chosen as free was taken before the component bound it
                    if "address already in use" not in str(err) or attempt == PORT_ATTEMPTS:
                        raise
                    self._say("a port was taken meanwhile; starting again on other free ports")
                except BaseException:
                    self._say("start failed; stopping what was started")
                    self._stop_all()
                    raise
            raise AssertionError("unreachable")

    def down(self, purge: bool = False) -> list[str]:
        """Stops exactly the processes this state folder's pid files name; returns their names.
        `purge` also deletes the state folder (etcd data, certificates, kubeconfig)."""
        self._t0 = time.monotonic()
        with self._locked():
            stopped = self._stop_all()
        if purge and self.layout.root.exists():
            shutil.rmtree(self.layout.root)
            self._say(f"deleted {self.layout.root}")
        return stopped

    def stop_component(self, name: str) -> bool:
        """Stops one running component (e.g. kube-apiserver, to test an outage); the others keep
        running and its pid file stays, so start_component() starts it again with the same
        command line. Returns whether it was running."""
        with self._locked():
            record = self._record(name)
            stopped = processes.stop(record)
        if stopped:
            self._say(f"stopped {name} (pid {record.pid})")
        return stopped

    def start_component(self, name: str, timeout: float = 60.0) -> None:
        """Starts a component stopped by stop_component() as it was; for kube-apiserver, waits
        until it answers /readyz again."""
        with self._locked():
            record = self._record(name)
            if processes.is_running(record):
                return
            if not record.argv:
                raise ClusterError(f"{name}: its pid file has no command line; run `up` again")
            new = self._spawn(name, list(record.argv))
            info = self.info()
            if name == "kube-apiserver" and info is not None:
                self._wait(
                    "kube-apiserver /readyz", self._api(info.server).ready, time.monotonic() + timeout, [new]
                )

    # ---- internals --------------------------------------------------------------------------

    def _record(self, name: str) -> ProcessRecord:
        if name not in COMPONENTS:
            raise ValueError(f"unknown component {name!r} (one of {', '.join(COMPONENTS)})")
        record = processes.read_records(self.layout.pids).get(name)
        if record is None:
            raise ClusterError(f"{name} was not started from {self.layout.root}")
        return record

    def _say(self, message: str) -> None:
        self._progress(f"[dev-cluster {time.monotonic() - self._t0:5.1f}s] {message}")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        with self.layout.lock.open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ClusterError(f"another up/down runs on {self.layout.root}") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _api(self, server: str, token: str | None = None) -> KubeApi:
        if token is None:
            token = ensure_tokens(self.layout.tokens)["admin"]
        return KubeApi(server, token, certs.CertFiles.in_dir(self.layout.pki).ca_cert)

    def _stop_all(self) -> list[str]:
        records = processes.read_records(self.layout.pids)
        order = [n for n in reversed(COMPONENTS) if n in records] + [
            n for n in records if n not in COMPONENTS
        ]
        stopped = []
        for name in order:
            record = records[name]
            if processes.stop(record):
                stopped.append(name)
                self._say(f"stopped {name} (pid {record.pid})")
            (self.layout.pids / f"{name}.pid").unlink(missing_ok=True)
        return stopped

    def _spawn(self, name: str, argv: list[str]) -> ProcessRecord:
        log = self.layout.logs / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")  # one start per log
        record = processes.spawn(name, argv, log, self.layout.pids)
        self._say(f"started {name} (pid {record.pid})")
        return record

    def _wait(
        self, what: str, check: Callable[[], bool], deadline: float, watch: list[ProcessRecord]
    ) -> None:
        while True:
            for record in watch:
                if not processes.is_running(record):
                    processes.stop(record)  # reaps it
                    raise ClusterError(
                        f"{record.name} exited while waiting for {what}; last lines of {record.log}:\n"
                        + processes.log_tail(Path(record.log))
                    )
            if check():
                self._say(f"{what}: ok")
                return
            if time.monotonic() > deadline:
                logs = "\n".join(
                    f"--- {r.name} ({r.log}):\n{processes.log_tail(Path(r.log), 10)}" for r in watch
                )
                raise ClusterError(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.1)

    def _start(self, tools: Tools, deadline: float, random_ports: bool) -> ClusterInfo:
        lay = self.layout
        ports = processes.choose_ports(DEFAULT_PORTS, prefer_defaults=not random_ports)
        moved = {k: v for k, v in ports.items() if v != DEFAULT_PORTS[k]}
        if moved and not random_ports:
            self._say(f"default ports taken, using {moved}")
        server = f"https://127.0.0.1:{ports['kube-apiserver']}"

        files = certs.generate(lay.pki)
        tokens = ensure_tokens(lay.tokens)
        kubeconfigs = {
            key: write_kubeconfig(
                lay.kubeconfig if key == "admin" else lay.kubeconfigs / f"{key}.kubeconfig",
                server,
                files.ca_cert,
                IDENTITIES[key].name,
                tokens[key],
            )
            for key in IDENTITIES
        }
        self._say(f"certificates, tokens and kubeconfigs in {lay.root}")

        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        etcd = self._spawn(
            "etcd",
            [
                str(tools.etcd),
                "--name=default",
                f"--data-dir={lay.etcd_data}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self._wait("etcd /health", lambda: _http_ok(f"{etcd_url}/health"), deadline, [etcd])

        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(tools.kube_apiserver),
                f"--etcd-servers={etcd_url}",
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
            ],
        )
        api = self._api(server, tokens["admin"])
        self._wait("kube-apiserver /readyz", api.ready, deadline, [etcd, apiserver])

        def serving(name: str) -> list[str]:
            return [
                "--bind-address=127.0.0.1",
                f"--secure-port={ports[name]}",
                f"--cert-dir={lay.serving / name}",
                f"--kubeconfig={kubeconfigs[name]}",
                "--leader-elect=false",
            ]

        kcm = self._spawn(
            "kube-controller-manager",
            [
                str(tools.kube_controller_manager),
                *serving("kube-controller-manager"),
                f"--root-ca-file={files.ca_cert}",
                f"--service-account-private-key-file={files.sa_key}",
            ],
        )
        scheduler = self._spawn("kube-scheduler", [str(tools.kube_scheduler), *serving("kube-scheduler")])
        kwok = self._spawn(
            "kwok",
            [
                str(tools.kwok),
                f"--kubeconfig={kubeconfigs['kwok']}",
                f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION[0]}={NODE_ANNOTATION[1]}",
                *[f"--config={stage}" for stage in tools.kwok_stages],
                f"--server-address=127.0.0.1:{ports['kwok']}",
                "--node-ip=127.0.0.1",
                f"--node-port={ports['kwok']}",
                "--node-lease-duration-seconds=40",
                f"--cidr={POD_CIDR}",
            ],
        )
        if api.create("/api/v1/nodes", _fake_node()):
            self._say(f"created node {NODE_NAME}")
        everything = [etcd, apiserver, kcm, scheduler, kwok]
        self._wait(
            f"node {NODE_NAME} Ready (kwok), untainted", lambda: _node_ready(api), deadline, everything
        )
        self._wait(
            "kube-controller-manager /healthz",
            lambda: healthz(f"https://127.0.0.1:{ports['kube-controller-manager']}/healthz"),
            deadline,
            everything,
        )
        self._wait(
            "service account default/default (controllers running)",
            lambda: api.get_json("/api/v1/namespaces/default/serviceaccounts/default") is not None,
            deadline,
            everything,
        )
        self._wait(
            "kube-scheduler /healthz",
            lambda: healthz(f"https://127.0.0.1:{ports['kube-scheduler']}/healthz"),
            deadline,
            everything,
        )
        elapsed = round(time.monotonic() - self._t0, 1)
        info = ClusterInfo(
            state_dir=lay.root, kubeconfig=lay.kubeconfig, server=server, ports=ports, start_seconds=elapsed
        )
        lay.info.write_text(info.to_json())
        self._say(f"cluster ready at {server} in {elapsed} s")
        return info


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as resp:
            return int(resp.status) == 200
    except OSError:
        return False


def _fake_node() -> dict[str, Any]:
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


def _node_ready(api: KubeApi) -> bool:
    node = api.get_json(f"/api/v1/nodes/{NODE_NAME}")
    if node is None:
        return False
    conditions = node.get("status", {}).get("conditions", [])
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    # the API server taints a new node not-ready; the node lifecycle controller lifts it once Ready
    taints = node.get("spec", {}).get("taints", [])
    tainted = any(t.get("key", "").startswith("node.kubernetes.io/") for t in taints)
    return ready and not tainted
