"""Plumbing for the benchmark: the tools' environment, a dev cluster of its own, project copies,
timed commands, statistics, and CPU/RSS readings from /proc."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eoepca_gitops.devcluster import DevCluster
from eoepca_gitops.devcluster.processes import read_records
from eoepca_gitops.devcluster.tools import tools_bin_dir
from eoepca_gitops.project import stack_file_name
from eoepca_gitops.runs import Run

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # ../shared relative to the repository, as Pulumi.<stack>.yaml say
SHARED_FLUX = SHARED / "flux"
CREODIAS_TREE = SHARED / "eoepca"  # plays the EOEPCA repository root
# Offline: the shared copies of the Flux release manifests stand in for the download.
os.environ.setdefault("EOEPCA_FLUX_MANIFESTS", str(SHARED / "flux"))
VENV_BIN = Path(sys.executable).parent
KUBECTL = str(VENV_BIN / "kubectl")
CLI = str(VENV_BIN / "eoepca-gitops")
PASSPHRASE = "bench"
STACK = "local"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class CommandFailed(RuntimeError):
    pass


def tools_env(backend: Path) -> dict[str, str]:
    """os.environ with the engine tools first on PATH, the offline Pulumi settings, a file backend."""
    bin_dir = tools_bin_dir()
    for name in ("pulumi", "pulumi-resource-kubernetes", "kube-apiserver", "etcd"):
        if not os.access(bin_dir / name, os.X_OK):
            raise SystemExit(f"bench: {bin_dir / name} missing; build the tools first (`make tools`)")
    env = dict(os.environ)
    env.pop("KUBECONFIG", None)
    env.update(
        PATH=os.pathsep.join([str(bin_dir), str(VENV_BIN), env.get("PATH", "")]),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_IGNORE_AMBIENT_PLUGINS="true",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_BACKEND_URL=f"file://{backend}",
        PULUMI_PYTHON_CMD=sys.executable,
    )
    backend.mkdir(parents=True, exist_ok=True)
    return env


def run(
    args: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    ok: Sequence[int] = (0,),
    timeout: float = 900,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Runs a command; returns (wall seconds, result); raises CommandFailed on another exit code.
    Whatever the command started (a pulumi's plugins) is stopped once it returns, times out or is
    interrupted, outside the time measured."""
    run = Run.new("bench-command")
    try:
        started = time.perf_counter()
        proc = subprocess.run(
            list(args), cwd=cwd, env=run.env(env), capture_output=True, text=True, timeout=timeout
        )
        elapsed = time.perf_counter() - started
    finally:
        run.stop()
    if proc.returncode not in ok:
        tail = (proc.stdout[-1500:] + "\n" + proc.stderr[-2500:]).strip()
        raise CommandFailed(f"`{' '.join(args[:6])} ...` exited {proc.returncode}:\n{tail}")
    return elapsed, proc


# ---- statistics -----------------------------------------------------------------------------


@dataclass
class Stats:
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile."""
        ordered = sorted(self.samples)
        rank = max(1, int(-(-p * len(ordered) // 100)))
        return ordered[rank - 1]


# ---- the cluster ------------------------------------------------------------------------------


class Cluster:
    """The benchmark's own dev cluster (own state folder, random free ports)."""

    def __init__(self, state_dir: Path, flux: bool = False) -> None:
        """`flux` runs the real Flux controllers (the scenarios of issue 6 measure the apply alone)."""
        self.dev = DevCluster(state_dir, progress=lambda line: None, default_ports=False)
        self.flux = flux
        self.kubeconfig = state_dir / "kubeconfig"
        self.start_seconds: list[float] = []

    def up(self) -> None:
        started = time.perf_counter()
        self.dev.up(flux=self.flux)
        self.start_seconds.append(time.perf_counter() - started)

    def fresh(self) -> None:
        """An empty cluster: stop, delete the folder (etcd data included), start again."""
        self.dev.down(purge=True)
        self.up()

    def down(self) -> None:
        self.dev.down(purge=True)

    def pids(self) -> dict[str, int]:
        return {name: rec.pid for name, rec in read_records(self.dev.layout.pids).items()}

    def kubectl(self, *args: str, ok: Sequence[int] = (0,)) -> tuple[float, subprocess.CompletedProcess[str]]:
        return run([KUBECTL, "--kubeconfig", str(self.kubeconfig), *args], ok=ok)


# ---- projects -----------------------------------------------------------------------------------


def make_project(
    dest: Path,
    kubeconfig: Path,
    *,
    blocks: dict[str, str] | None = None,
    enabled: list[str] | None = None,
    link_venv: bool = True,
) -> Path:
    """A copy of the project whose local stack points at `kubeconfig` (the integration tests' way).

    `blocks` replaces clusters/blocks/ with generated files (name -> YAML) and `enabled` the
    stack's block list; without them clusters/ is linked.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, dest / name)
    links = ["components"] + ([".venv"] if link_venv else [])
    if blocks is None:
        links.append("clusters")
    else:
        shutil.copytree(REPO / "clusters", dest / "clusters", ignore=shutil.ignore_patterns("blocks"))
        (dest / "clusters" / "blocks").mkdir()
        for name, text in blocks.items():
            (dest / "clusters" / "blocks" / f"{name}.yaml").write_text(text)
    for name in links:
        (dest / name).symlink_to(REPO / name)
    stack = yaml.safe_load((REPO / stack_file_name(STACK)).read_text())
    config = stack["config"]
    config["eoepca-gitops:flux"]["manifest"] = str(SHARED_FLUX)
    config["eoepca-gitops:kubeconfig"] = str(kubeconfig)
    config.pop("eoepca-gitops:kubeContext", None)
    # Scenarios 1-8 measure what Pulumi applies (their cluster runs no Flux): no waiting for Flux.
    config.pop("eoepca-gitops:await", None)
    if enabled is not None:
        config["eoepca-gitops:blocks"] = enabled
    stack.pop("encryptionsalt", None)  # the repo's salt is for the documented passphrase
    (dest / stack_file_name(STACK)).write_text(yaml.safe_dump(stack, sort_keys=False))
    return dest


class Pulumi:
    """`pulumi ... --stack local --non-interactive` in one project folder with one backend."""

    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.project = project
        self.env = env

    def __call__(
        self, *args: str, ok: Sequence[int] = (0,)
    ) -> tuple[float, subprocess.CompletedProcess[str]]:
        return run(["pulumi", *args, "--stack", STACK, "--non-interactive"], self.project, self.env, ok=ok)

    def init(self) -> None:
        run(["pulumi", "stack", "init", STACK, "--non-interactive"], self.project, self.env)

    def reset(self) -> None:
        """Forget every resource (the cluster is thrown away separately); keep the stack file."""
        run(
            ["pulumi", "stack", "rm", STACK, "--force", "--yes", "--preserve-config", "--non-interactive"],
            self.project,
            self.env,
            ok=(0, 255),
        )
        self.init()


# ---- /proc ----------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'
    head, _, tail = raw.rpartition(")")
    return [head.split("(", 1)[1], *tail.split()]


@dataclass
class ProcTimes:
    comm: str
    ppid: int
    cpu: float  # utime + stime, seconds
    children_cpu: float  # cutime + cstime (children already waited for), seconds
    rss: int  # bytes


def proc_times(pid: int) -> ProcTimes | None:
    fields = _stat(pid)
    if fields is None:
        return None
    # after comm: [1]=state [2]=ppid ... [12]=utime [13]=stime [14]=cutime [15]=cstime [22]=rss pages
    return ProcTimes(
        comm=fields[0],
        ppid=int(fields[2]),
        cpu=(int(fields[12]) + int(fields[13])) / TICK,
        children_cpu=(int(fields[14]) + int(fields[15])) / TICK,
        rss=int(fields[22]) * PAGE,
    )


def vm_rss(pid: int) -> int:
    """VmRSS from /proc/<pid>/status, bytes (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            t = _stat(int(entry))
            if t is not None:
                parents.setdefault(int(t[2]), []).append(int(entry))
    out: list[int] = []
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def classify(pid: int, comm: str) -> str:
    """Which part of the stack a process of a `pulumi` run is."""
    line = cmdline(pid)
    if comm.startswith("pulumi-resource") or "pulumi-resource-kubernetes" in line:
        return "provider (pulumi-resource-kubernetes)"
    if "language" in line or comm.startswith("python") or "python" in line.split(" ", 1)[0]:
        return "Python program + language host"
    if comm == "pulumi":
        return "engine (pulumi CLI)"
    return f"other ({comm})"


@dataclass
class TreeSampler:
    """Samples a process tree every `every` seconds: last CPU seen per pid, summed RSS."""

    root: int
    every: float = 0.2
    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)
    rss_samples: list[int] = field(default_factory=list)
    pids_seen: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    on_new: Callable[[int, str], None] | None = None

    def _sample(self) -> None:
        total = 0
        for pid in [self.root, *descendants(self.root)]:
            t = proc_times(pid)
            if t is None:
                continue
            if pid not in self.cpu:
                self.cpu[pid] = (classify(pid, t.comm), t.cpu)
                if self.on_new is not None:
                    self.on_new(pid, self.cpu[pid][0])
            self.cpu[pid] = (self.cpu[pid][0], t.cpu)
            self.pids_seen.add(pid)
            total += vm_rss(pid)
        self.rss_samples.append(total)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def by_part(self) -> dict[str, float]:
        parts: dict[str, float] = {}
        for part, cpu in self.cpu.values():
            parts[part] = parts.get(part, 0.0) + cpu
        return parts


@contextlib.contextmanager
def cpu_of(pids: dict[str, int]) -> Iterator[dict[str, float]]:
    """CPU seconds each long-running process (API server, etcd...) used inside the block."""
    before = {n: proc_times(p) for n, p in pids.items()}
    out: dict[str, float] = {}
    yield out
    for name, pid in pids.items():
        a, b = before[name], proc_times(pid)
        if a is not None and b is not None:
            out[name] = b.cpu - a.cpu


def popen(args: Sequence[str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(args), **kw)


def stop(proc: subprocess.Popen[bytes], grace: float = 90) -> None:
    """A long-running command the benchmark started (a poller, a status page): SIGTERM, then SIGKILL
    after `grace` seconds, to its process group too when it has one of its own (start_new_session:
    a poller's pulumi)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # no such group unless it leads one
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


@contextlib.contextmanager
def cpu_seconds(into: list[float], counted: bool) -> Iterator[None]:
    """Appends the CPU seconds (user + system) of the processes the block runs and waits for."""
    before = os.times()
    yield
    after = os.times()
    if counted:
        into.append(
            after.children_user - before.children_user + after.children_system - before.children_system
        )
