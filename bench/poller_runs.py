"""Scenarios 5 and 6: the poller's commit -> applied latency and its idle cost."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.context import (
    Bench,
)
from bench.harness import (
    CLI,
    STACK,
    Stats,
    descendants,
    log,
    make_project,
    proc_times,
    stop,
    vm_rss,
)
from bench.report import Result, Row, verdict
from eoepca_gitops.project import stack_file_name

# ---- 5 + 6: the poller ----------------------------------------------------------------------------


@dataclass
class PollerRun:
    proc: subprocess.Popen[bytes]
    state_file: Path
    log_file: Path
    clone: Path
    bare: Path


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()


def _applied(state_file: Path, stack: str = STACK) -> tuple[str | None, str, float | None]:
    from eoepca_gitops.errors import GitopsError
    from eoepca_gitops.poller.state import StateStore

    try:
        s = StateStore.read(state_file).get(stack)
    except (OSError, GitopsError, ValueError, KeyError, TypeError):  # not written yet, or mid-write
        return None, "", None
    if s is None:
        return None, "", None
    return s.applied_revision, str(s.phase), s.last_duration_seconds


def _start_poller(b: Bench) -> PollerRun:
    base = b.work / "poller"
    bare, clone = base / "config.git", base / "clone"
    _git("init", "--bare", "-q", "-b", "main", str(bare), cwd=b.work)
    _git("init", "-q", "-b", "main", str(clone), cwd=b.work)
    for k, v in (("user.name", "bench"), ("user.email", "bench@example.invalid")):
        _git("config", k, v, cwd=clone)
    proj = make_project(clone / "infra", b.cluster.kubeconfig)
    # the main project's stack file: same backend stack, its salt, its current overrides
    shutil.copy(b.project / stack_file_name(STACK), proj / stack_file_name(STACK))
    _git("add", "-A", cwd=clone)
    _git("commit", "-q", "-m", "initial", cwd=clone)
    _git("remote", "add", "origin", str(bare), cwd=clone)
    _git("push", "-q", "origin", "HEAD:main", cwd=clone)
    state_file = base / "state.json"
    log_file = base / "poll.log"
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            [
                CLI,
                "poll",
                "--repo",
                str(bare),
                "--branch",
                "main",
                "--project-dir",
                "infra",
                "--stack",
                STACK,
                "--interval",
                b.settings.poll_interval,
                "--state-file",
                str(state_file),
                "--work-dir",
                str(base / "work"),
                "--listen",
                "off",
            ],
            cwd=base,
            env=b.env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    return PollerRun(proc, state_file, log_file, clone, bare)


def _wait_applied(p: PollerRun, rev: str, timeout: float) -> tuple[float, float | None]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        applied, phase, duration = _applied(p.state_file)
        if applied == rev and phase == "synced":
            return time.monotonic() - started, duration
        if p.proc.poll() is not None:
            raise RuntimeError(f"poll exited {p.proc.returncode}:\n{p.log_file.read_text()[-3000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"{rev[:12]} not applied after {timeout:.0f} s:\n{p.log_file.read_text()[-3000:]}")


def s5_s6_poller(b: Bench) -> tuple[Result, Result]:
    r5 = Result("5", "Poller: commit -> applied latency")
    r6 = Result("6", "Poller idle cost")
    interval = float(b.settings.poll_interval.rstrip("s"))
    t_start = time.monotonic()
    p = _start_poller(b)
    try:
        head = _git("rev-parse", "HEAD", cwd=p.clone)
        first, _ = _wait_applied(p, head, timeout=600)
        log(f"5: first commit applied after {first:.1f}s (poller start included)")
        rng = random.Random(6)
        latencies, ups = [], []
        stack_file = p.clone / "infra" / stack_file_name(STACK)
        for i in range(b.settings.commits):
            time.sleep(rng.uniform(0, interval))  # commits land at random points of the poll cycle
            b.replicas += 1
            doc = yaml.safe_load(stack_file.read_text())
            overrides = doc["config"].setdefault("eoepca-gitops:overrides", {})
            release = (
                overrides.setdefault("system-demo", {})
                .setdefault("releases", {})
                .setdefault("eoepca-portal", {})
            )
            release.setdefault("values", {})["replicaCount"] = b.replicas
            stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))
            _git("commit", "-q", "-am", f"replicaCount {b.replicas}", cwd=p.clone)
            rev = _git("rev-parse", "HEAD", cwd=p.clone)
            _git("push", "-q", "origin", "HEAD:main", cwd=p.clone)
            latency, up = _wait_applied(p, rev, timeout=300)
            latencies.append(latency)
            if up is not None:
                ups.append(up)
            log(f"5: commit {i + 1}/{b.settings.commits} applied {latency:.2f}s after push (up {up})")
        live = json.loads(
            b.cluster.kubectl("get", "helmrelease", "-n", "demo", "eoepca-portal", "-o", "json")[1].stdout
        )
        in_cluster = live["spec"]["values"].get("replicaCount")
        lat = Stats(latencies)
        p50, p95 = lat.median, lat.percentile(95)
        v50, w50 = verdict(p50 <= 10, f"{p50:.1f} s > 10 s")
        v95, w95 = verdict(p95 <= 20, f"{p95:.1f} s > 20 s")
        r5.rows = [
            Row(f"commit pushed -> applied (state file synced), {len(lat.samples)} commits", lat),
            Row("p50", None, value=f"{p50:.2f}", goal="<= 10 s", verdict=v50, reason=w50),
            Row("p95", None, value=f"{p95:.2f}", goal="<= 20 s", verdict=v95, reason=w95),
        ]
        if ups:
            r5.rows.append(Row("of which `pulumi up` (poller's own measure)", Stats(ups)))
        r5.rows += [
            Row(
                "reference: Flux GitRepository default interval (detection: mean 30 s, worst 60 s)",
                None,
                value="60",
                ratio=60 / p50,
            ),
            Row("reference: Flux root Kustomization default interval", None, value="600", ratio=600 / p50),
            Row("reference: Pulumi Kubernetes Operator minimum resync", None, value="60", ratio=60 / p50),
        ]
        r5.headline = f"p50 {p50:.1f} s, p95 {p95:.1f} s (poll interval {interval:g} s)"
        r5.notes = [
            f"`eoepca-gitops poll --interval {b.settings.poll_interval}` (the default) on a bare Git "
            "repository"
            " holding the full local stack; each commit raises one HelmRelease value; commits are pushed "
            "after a random pause of 0..interval so they land uniformly over the poll cycle.",
            "Latency = from `git push` returning to the state file showing the commit applied and synced "
            "(written after `pulumi up` returns). Reference rows: their ratio column is reference / our p50.",
            f"After the last commit the cluster's HelmRelease holds replicaCount {in_cluster} "
            f"(expected {b.replicas}).",
        ]
        # ---- 6: the same poller, idle -------------------------------------------------------------
        r5.seconds = time.monotonic() - t_start
        time.sleep(2)
        t6 = time.monotonic()
        r6.rows, r6.notes, r6.headline = _idle(b, p)
        r6.seconds = time.monotonic() - t6
    finally:
        stop(p.proc)
    return r5, r6


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its reaped children and its live descendants."""
    t = proc_times(pid)
    if t is None:
        return 0.0
    total = t.cpu + t.children_cpu
    for child in descendants(pid):
        c = proc_times(child)
        if c is not None:
            total += c.cpu
    return total


@dataclass
class IdleSample:
    """One process tree's RSS samples (MB), CPU (% of a core) and the child commands seen."""

    rss: Stats
    cpu_percent: float
    seconds: float
    children: dict[str, int]


def sample_idle(pids: dict[str, int], seconds: float) -> dict[str, IdleSample]:
    """RSS every second and CPU over the window of each process tree, all in the same window."""
    cpu0, t0 = {k: _tree_cpu(pid) for k, pid in pids.items()}, time.monotonic()
    rss: dict[str, list[float]] = {k: [] for k in pids}
    seen: dict[str, set[tuple[int, str]]] = {k: set() for k in pids}
    while time.monotonic() - t0 < seconds:
        for key, pid in pids.items():
            kids = descendants(pid)
            rss[key].append((vm_rss(pid) + sum(vm_rss(k) for k in kids)) / 1e6)
            for k in kids:
                t = proc_times(k)
                if t is not None:
                    seen[key].add((k, t.comm))
        time.sleep(1.0)
    elapsed = time.monotonic() - t0
    out = {}
    for key, pid in pids.items():
        comms: dict[str, int] = {}
        for _, comm in seen[key]:
            comms[comm] = comms.get(comm, 0) + 1
        pct = 100 * (_tree_cpu(pid) - cpu0[key]) / elapsed
        out[key] = IdleSample(Stats(rss[key]), pct, elapsed, dict(sorted(comms.items())))
    return out


def event_counts(lines: list[str]) -> dict[str, int]:
    """How many of each poller log event (JSON lines) there are."""
    kinds: dict[str, int] = {}
    for line in lines:
        try:
            ev = json.loads(line).get("log", {})
            name = ev.get("event", "?") if isinstance(ev, dict) else "?"
        except ValueError:
            name = "?"
        kinds[name] = kinds.get(name, 0) + 1
    return dict(sorted(kinds.items()))


IDLE_METHOD = (
    "CPU = delta of utime+stime of the poller, its waited-for children (cutime+cstime) and live "
    "descendants, from /proc/<pid>/stat; RSS = sum of VmRSS from /proc/<pid>/status."
)


def _idle(b: Bench, p: PollerRun) -> tuple[list[Row], list[str], str]:
    log(f"6: measuring the idle poller for {b.settings.idle_seconds:.0f} s")
    lines_before = len(p.log_file.read_text().splitlines())
    idle = sample_idle({"poller": p.proc.pid}, b.settings.idle_seconds)["poller"]
    s, pct = idle.rss, idle.cpu_percent
    vr, wr = verdict(s.max <= 100, f"{s.max:.0f} MB > 100 MB")
    vc, wc = verdict(pct <= 0.5, f"{pct:.2f} % > 0.5 %")
    rows = [
        Row(
            "RSS, poller + child processes (sampled every 1 s)",
            s,
            unit="MB",
            goal="<= 100 MB",
            verdict=vr,
            reason=wr,
        ),
        Row(
            f"CPU over {idle.seconds:.0f} s (incl. children)",
            None,
            value=f"{pct:.3f}",
            unit="% of a core",
            goal="<= 0.5 %",
            verdict=vc,
            reason=wc,
        ),
    ]
    events = event_counts(p.log_file.read_text().splitlines()[lines_before:])
    notes = [
        f"The poller of scenario 5, after its last commit: `--interval {b.settings.poll_interval}`, "
        "`--drift-interval 10m` (defaults), so each poll is one `git ls-remote`.",
        IDLE_METHOD,
        f"Child processes seen in the samples: {idle.children or 'none'}; log events in the "
        f"window: {events or 'none'}.",
    ]
    headline = f"RSS max {s.max:.0f} MB, CPU {pct:.2f} % of a core"
    return rows, notes, headline
