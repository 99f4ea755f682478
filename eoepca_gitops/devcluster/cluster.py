"""The dev cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with one
fake node; a Git server and a chart repository; and the real Flux controllers, supervised. All bound
to 127.0.0.1, state (certs, kubeconfigs, etcd data, logs, pid files) in one folder."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from eoepca_gitops.devcluster import certs, charts, git_server, processes
from eoepca_gitops.devcluster import kubernetes as k8s
from eoepca_gitops.devcluster.flux import CONTROLLERS, default_ports, read_states
from eoepca_gitops.devcluster.kubeconfig import IDENTITIES, ensure_tokens, write_kubeconfig
from eoepca_gitops.devcluster.layout import ClusterInfo, ComponentStatus, StateLayout
from eoepca_gitops.devcluster.ports import choose_ports
from eoepca_gitops.devcluster.probes import healthz, http_ok
from eoepca_gitops.devcluster.processes import ProcessRecord
from eoepca_gitops.devcluster.supervisor import supervisor_argv
from eoepca_gitops.devcluster.tools import (
    REPO_ROOT,
    Tools,
    default_state_dir,
    find_flux_controllers,
    find_tools,
)
from eoepca_gitops.errors import ClusterError
from eoepca_gitops.kube.raw import KubeApi

__all__ = ["COMPONENTS", "GIT_REPO_NAME", "DevCluster"]

# start order; `down` stops in reverse (the Flux supervisor first, then what it started)
COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "git-server",
    "chart-repository",
    "flux",
)
DEFAULT_PORTS = {**k8s.DEFAULT_PORTS, "git-server": 8180, "chart-repository": 8181, **default_ports()}
PORT_ATTEMPTS = 3
GIT_REPO_NAME = "eoepca-gitops"

Progress = Callable[[str], None]


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
        self.layout = StateLayout((state_dir or default_state_dir()).resolve())
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
        """Each part (running or not; with Flux each controller too) and whether the API server
        answers /readyz."""
        records = processes.read_records(self.layout.pids)
        info = self.info()
        names = [n for n in COMPONENTS if n != "flux" or (info is not None and info.flux)]
        result = [self._component(n, records, info) for n in names]
        if info is not None and info.flux:
            states, ports = read_states(self.layout.flux_status)
            for c in CONTROLLERS:
                state = states.get(c.name)
                result.append(
                    self._component(
                        c.name,
                        records,
                        None,
                        port=ports.get(f"{c.name}-health"),
                        detail="" if state is None or state.state == "running" else state.detail,
                    )
                )
        ready = False
        if info is not None and any(c.running for c in result):
            ready = self._api(info.server).ready()
        return result, ready

    @staticmethod
    def _component(
        name: str,
        records: dict[str, ProcessRecord],
        info: ClusterInfo | None,
        port: int | None = None,
        detail: str = "",
    ) -> ComponentStatus:
        record = records.get(name)
        running = record is not None and processes.is_running(record)
        return ComponentStatus(
            name=name,
            running=running,
            pid=record.pid if record and running else None,
            port=port if port is not None else (info.ports.get(name) if info else None),
            log=record.log if record else None,
            detail=detail,
        )

    def up(self, timeout: float = 90.0, flux: bool = True, git_repo: Path | None = None) -> ClusterInfo:
        """Starts the cluster (or finds it running as asked) and returns where to reach it.

        `flux` runs the real Flux controllers; `git_repo` is the repository the Git server serves
        (default: this project's checkout).
        """
        self._t0 = time.monotonic()
        repo = git_server.repository_top(git_repo or REPO_ROOT)
        with self._locked():
            components, ready = self.status()
            info = self.info()
            processes_up = [c for c in components if c.name in COMPONENTS]
            same = info is not None and info.flux == flux and info.git_repo == repo
            if same and info is not None and ready and all(c.running for c in processes_up):
                self._say(f"already running: {info.server}")
                return info
            if any(c.running for c in components):
                self._say("parts run from an earlier start; stopping them first")
                self._stop_all()
            tools = find_tools()
            if flux:
                find_flux_controllers()  # fail before starting anything
            deadline = time.monotonic() + timeout
            for attempt in range(1, PORT_ATTEMPTS + 1):
                try:
                    return self._start(tools, deadline, attempt > 1 or not self._default_ports, flux, repo)
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

    def publish_charts(self, project: Path) -> int:
        """(Re)writes the stand-in charts of every chart version `project` names into the chart
        repository (eoepca_gitops.devcluster.charts); returns how many."""
        count = charts.write_repository(
            charts.charts_of_project(project), self.layout.charts, charts.repositories_of_project(project)
        )
        self._say(f"{count} stand-in charts in {self.layout.charts}")
        return count

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

    def _start(
        self, tools: Tools, deadline: float, random_ports: bool, flux: bool, git_repo: Path
    ) -> ClusterInfo:
        lay = self.layout
        ports = choose_ports(DEFAULT_PORTS, prefer_defaults=not random_ports)
        moved = {k: v for k, v in ports.items() if v != DEFAULT_PORTS[k]}
        if moved and not random_ports:
            self._say(f"default ports taken, using {moved}")
        server = f"https://127.0.0.1:{ports['kube-apiserver']}"

        kubeconfigs = self._start_control_plane(tools, ports, server, deadline)
        git_url, charts_url = self._serve_git_and_charts(git_repo, ports, deadline)
        if flux:
            lay.flux_status.unlink(missing_ok=True)
            supervisor = self._spawn("flux", supervisor_argv(lay.root, server, kubeconfigs["flux"], ports))
            self._wait("Flux supervisor", lay.flux_status.is_file, deadline, [supervisor])
        elapsed = round(time.monotonic() - self._t0, 1)
        info = ClusterInfo(
            state_dir=lay.root,
            kubeconfig=lay.kubeconfig,
            server=server,
            ports=ports,
            start_seconds=elapsed,
            flux=flux,
            git_repo=git_repo,
            git_url=git_url,
            charts_url=charts_url,
        )
        lay.info.write_text(info.to_json())
        self._say(f"cluster ready at {server} in {elapsed} s (Git {git_url}, charts {charts_url})")
        if flux:
            self._say("Flux controllers start once a stack's `pulumi up` has installed the Flux CRDs")
        return info

    def _start_control_plane(
        self, tools: Tools, ports: dict[str, int], server: str, deadline: float
    ) -> dict[str, Path]:
        """etcd, kube-apiserver, the controller manager, the scheduler and kwok's node, each waited
        for; returns the kubeconfig of each identity."""
        lay = self.layout
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

        etcd = self._spawn("etcd", k8s.etcd_argv(tools, lay, ports))
        self._wait(
            "etcd /health", lambda: http_ok(f"http://127.0.0.1:{ports['etcd']}/health"), deadline, [etcd]
        )
        apiserver = self._spawn("kube-apiserver", k8s.apiserver_argv(tools, lay, ports, files))
        api = self._api(server, tokens["admin"])
        self._wait("kube-apiserver /readyz", api.ready, deadline, [etcd, apiserver])
        kcm = self._spawn(
            "kube-controller-manager",
            k8s.controller_manager_argv(tools, lay, ports, kubeconfigs["kube-controller-manager"], files),
        )
        scheduler = self._spawn(
            "kube-scheduler", k8s.scheduler_argv(tools, lay, ports, kubeconfigs["kube-scheduler"])
        )
        stages = k8s.kwok_stages(tools.kwok_stages, lay.root / "kwok-stages")
        kwok = self._spawn("kwok", k8s.kwok_argv(tools, ports, kubeconfigs["kwok"], stages))
        if api.create("/api/v1/nodes", k8s.fake_node()):
            self._say(f"created node {k8s.NODE_NAME}")
        everything = [etcd, apiserver, kcm, scheduler, kwok]
        self._wait(
            f"node {k8s.NODE_NAME} Ready (kwok), untainted", lambda: k8s.node_ready(api), deadline, everything
        )
        for name in ("kube-controller-manager", "kube-scheduler"):
            check = functools.partial(healthz, f"https://127.0.0.1:{ports[name]}/healthz")
            self._wait(f"{name} /healthz", check, deadline, everything)
        self._wait(
            "service account default/default (controllers running)",
            lambda: api.get_json("/api/v1/namespaces/default/serviceaccounts/default") is not None,
            deadline,
            everything,
        )
        return kubeconfigs

    def _serve_git_and_charts(
        self, git_repo: Path, ports: dict[str, int], deadline: float
    ) -> tuple[str, str]:
        """The Git server of `git_repo` and the chart repository, each waited for; their URLs."""
        lay = self.layout
        git_url = f"http://127.0.0.1:{ports['git-server']}/{GIT_REPO_NAME}.git"
        git = self._spawn(
            "git-server", git_server.argv(git_repo, GIT_REPO_NAME, ports["git-server"], lay.git_view)
        )
        self._wait(
            f"Git server {git_url}",
            lambda: http_ok(f"{git_url}/info/refs?service=git-upload-pack"),
            deadline,
            [git],
        )
        self.publish_charts(git_repo)
        charts_url = f"http://127.0.0.1:{ports['chart-repository']}/"
        repository = self._spawn(
            "chart-repository", charts.server_argv(lay.charts, ports["chart-repository"])
        )
        self._wait(f"chart repository {charts_url}", lambda: http_ok(charts_url), deadline, [repository])
        return git_url, charts_url
