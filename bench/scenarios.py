"""The eight scenarios of issue 6. Each returns a Result; baseline and candidate runs alternate
within one loop, the first iteration is a warm-up and is not counted."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench import profile
from bench.harness import (
    CLI,
    CREODIAS_TREE,
    KUBECTL,
    REPO,
    SHARED_FLUX,
    STACK,
    Cluster,
    CommandFailed,
    Pulumi,
    Stats,
    descendants,
    log,
    make_project,
    proc_times,
    run,
    tools_env,
    vm_rss,
)
from bench.report import Result, Row, verdict

PORTAL = "HelmRelease/demo/eoepca-portal"
PORTAL_PATH = "overrides.system-demo.releases.eoepca-portal.values.replicaCount"


@dataclass
class Settings:
    reps: int = 5
    warmup: int = 1
    commits: int = 20
    idle_seconds: float = 300.0
    scale_sizes: tuple[int, ...] = (10, 50, 200)
    scale_reps: int = 3
    poll_interval: str = "10s"
    profile: bool = True


@dataclass
class Bench:
    work: Path
    cluster: Cluster
    settings: Settings
    env: dict[str, str] = field(init=False)
    project: Path = field(init=False)
    pulumi: Pulumi = field(init=False)
    replicas: int = 1  # the last eoepca-portal replicaCount given to the main stack
    breakdowns: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = tools_env(self.work / "state")
        self.project = make_project(self.work / "project", self.cluster.kubeconfig)
        self.pulumi = Pulumi(self.project, self.env)
        self.pulumi.init()

    def iterations(self, reps: int | None = None) -> range:
        return range(self.settings.warmup + (reps or self.settings.reps))

    def counted(self, i: int) -> bool:
        return i >= self.settings.warmup


def engine_events(stdout: str) -> list[dict[str, Any]]:
    events = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def touched(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(op, type/name) of every step other than `same` in `pulumi up --json` engine events."""
    out = []
    for ev in events:
        meta = (ev.get("resourcePreEvent") or {}).get("metadata")
        if meta and meta.get("op") not in ("same", "read"):
            out.append((meta["op"], meta["urn"].rsplit("::", 1)[-1]))
    return out


def summary(events: list[dict[str, Any]]) -> dict[str, int]:
    for ev in events:
        if "summaryEvent" in ev:
            return {k: int(v) for k, v in (ev["summaryEvent"].get("resourceChanges") or {}).items()}
    return {}


def render(project: Path, stack: str, out: Path, *extra: str, env: dict[str, str] | None = None) -> float:
    elapsed, _ = run(
        [CLI, "render", "--stack", stack, "--out", str(out), "--project", str(project), *extra],
        cwd=project,
        env=env,
    )
    return elapsed


def split_for_kubectl(rendered: Path, dest: Path) -> tuple[Path, Path]:
    """Rendered files in two folders for kubectl: Namespaces and CRDs first, then everything else
    (kubectl applies in file order and knows neither dependency)."""
    first, rest = dest / "1-namespaces-crds", dest / "2-rest"
    for d in (first, rest):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for i, path in enumerate(sorted(rendered.rglob("*.yaml"))):
        kind = (yaml.safe_load(path.read_text()) or {}).get("kind")
        target = first if kind in ("Namespace", "CustomResourceDefinition") else rest
        shutil.copy(path, target / f"{i:03d}-{path.name}")
    return first, rest


# ---- 2: up from empty ---------------------------------------------------------------------------


def s2_up_from_empty(b: Bench) -> Result:
    res = Result("2", "`pulumi up` from an empty cluster vs `kubectl apply --server-side`")
    rendered = b.work / "render-local"
    render(b.project, STACK, rendered, env=b.env)
    first, rest = split_for_kubectl(rendered, b.work / "kubectl-local")
    n_objects = len(list(rendered.rglob("*.yaml")))
    apply_t: list[float] = []
    avail_t: list[float] = []
    up_t: list[float] = []
    created = 0
    for i in b.iterations():
        b.cluster.fresh()
        a1, _ = b.cluster.kubectl("apply", "--server-side", "-f", str(first))
        a2, _ = b.cluster.kubectl("wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")
        a3, _ = b.cluster.kubectl("apply", "--server-side", "-f", str(rest))
        a4, _ = b.cluster.kubectl(
            "wait", "--for=condition=Available", "deployment", "--all", "-n", "flux-system", "--timeout=180s"
        )
        b.cluster.fresh()
        b.pulumi.reset()
        t, proc = b.pulumi("up", "--yes", "--skip-preview", "--json")
        created = summary(engine_events(proc.stdout)).get("create", 0)
        if b.counted(i):
            apply_t.append(a1 + a2 + a3)
            avail_t.append(a1 + a2 + a3 + a4)
            up_t.append(t)
        log(f"2: kubectl {a1 + a2 + a3:.2f}s (+wait {a4:.2f}s), pulumi up {t:.2f}s ({created} created)")
    b.replicas = 1
    base, base_avail, up = Stats(apply_t), Stats(avail_t), Stats(up_t)
    ratio = up.median / base.median
    v, why = verdict(ratio <= 3, f"{ratio:.1f}x > 3x")
    res.rows = [
        Row(
            f"baseline: kubectl apply --server-side ({n_objects} objects; namespaces+CRDs, wait "
            "established, rest)",
            base,
        ),
        Row(
            "reference: the same + `kubectl wait` Deployments Available (what Pulumi also awaits)",
            base_avail,
            ratio=base_avail.median / base.median,
        ),
        Row(
            f"pulumi up --skip-preview ({created} resources created)",
            up,
            ratio=ratio,
            goal="<= 3x",
            verdict=v,
            reason=why,
        ),
        Row(
            "pulumi up vs kubectl apply + wait Available",
            None,
            value=f"{up.median / base_avail.median:.2f}x",
            unit="ratio",
        ),
    ]
    res.headline = f"up {up.median:.1f} s vs kubectl apply {base.median:.1f} s = {ratio:.1f}x"
    res.notes = [
        "Each run starts on a new, empty dev cluster (etcd data deleted) and an empty stack; cluster "
        "start is not timed.",
        "Pulumi also waits for the 4 Flux Deployments to become Available (through kwok's fake node) and "
        "for each object's readiness; plain `kubectl apply` returns as soon as the API server has "
        "accepted the objects, hence the second reference row.",
        f"{created - n_objects} of the {created} Pulumi resources are not Kubernetes objects (stack, "
        "provider, component resources).",
    ]
    return res


# ---- 1: preview ------------------------------------------------------------------------------------


def s1_preview(b: Bench) -> Result:
    res = Result("1", "`pulumi preview` (no changes, after an up) vs `kubectl diff --server-side`")
    rendered = b.work / "render-local"
    diff_t, prev_t = [], []
    for i in b.iterations():
        td, _ = b.cluster.kubectl(
            "diff", "--server-side", "--force-conflicts", "-R", "-f", str(rendered), ok=(0, 1)
        )
        tp, _ = b.pulumi("preview", "--expect-no-changes")
        if b.counted(i):
            diff_t.append(td)
            prev_t.append(tp)
        log(f"1: kubectl diff {td:.2f}s, pulumi preview {tp:.2f}s")
    base, prev = Stats(diff_t), Stats(prev_t)
    ratio = prev.median / base.median
    ok = ratio <= 2 and prev.median <= 10
    why = "; ".join(
        x
        for x in (
            f"{ratio:.1f}x > 2x" if ratio > 2 else "",
            f"{prev.median:.1f} s > 10 s" if prev.median > 10 else "",
        )
        if x
    )
    v, why = verdict(ok, why)
    res.rows = [
        Row("baseline: kubectl diff --server-side --force-conflicts -R (same rendered objects)", base),
        Row(
            "pulumi preview --expect-no-changes",
            prev,
            ratio=ratio,
            goal="<= 2x and <= 10 s",
            verdict=v,
            reason=why,
        ),
    ]
    res.headline = f"preview {prev.median:.2f} s vs kubectl diff {base.median:.2f} s = {ratio:.1f}x"
    res.notes = [
        "`--force-conflicts`: the objects' fields are owned by Pulumi's per-resource field managers, so "
        "kubectl's own manager would otherwise stop at the first conflict.",
        "`--expect-no-changes` makes each preview fail if it finds any change: every counted run "
        "confirmed a clean stack.",
    ]
    return res


# ---- 3: one value changed -------------------------------------------------------------------------


def s3_one_change(b: Bench) -> Result:
    res = Result("3", "`pulumi up` after changing one HelmRelease value")
    up_t, base_t = [], []
    bad: list[str] = []
    one = b.work / "render-one"
    for i in b.iterations():
        b.replicas += 1
        b.pulumi("config", "set", "--path", PORTAL_PATH, str(b.replicas))
        t, proc = b.pulumi("up", "--yes", "--skip-preview", "--json")
        steps = touched(engine_events(proc.stdout))
        if steps != [("update", PORTAL)]:
            bad.append(f"run {i}: {steps}")
        # baseline: the same one-object change with kubectl, as the same field manager as Pulumi's
        live = json.loads(
            b.cluster.kubectl(
                "get", "helmrelease", "-n", "demo", "eoepca-portal", "-o", "json", "--show-managed-fields"
            )[1].stdout
        )
        manager = next(
            m["manager"]
            for m in live["metadata"]["managedFields"]
            if m["manager"].startswith("pulumi-kubernetes")
        )
        b.replicas += 1
        b.pulumi("config", "set", "--path", PORTAL_PATH, str(b.replicas))
        render(b.project, STACK, one, env=b.env)
        obj = next(one.rglob("HelmRelease_demo_eoepca-portal.yaml"))
        tb, _ = b.cluster.kubectl("apply", "--server-side", "--field-manager", manager, "-f", str(obj))
        if b.counted(i):
            up_t.append(t)
            base_t.append(tb)
        log(f"3: pulumi up {t:.2f}s touched {steps}; kubectl apply one object {tb:.2f}s")
    up, base = Stats(up_t), Stats(base_t)
    only = not bad
    v, why = verdict(up.median <= 5, f"{up.median:.1f} s > 5 s")
    v2, why2 = verdict(only, "other resources touched: " + "; ".join(bad))
    res.rows = [
        Row("baseline: kubectl apply --server-side of the one changed object", base),
        Row(
            "pulumi up --skip-preview",
            up,
            ratio=up.median / base.median,
            goal="<= 5 s",
            verdict=v,
            reason=why,
        ),
        Row(
            "resources touched (from the engine's JSON events)",
            None,
            value=f"only update {PORTAL}" if only else "; ".join(bad),
            unit="",
            goal="only that resource",
            verdict=v2,
            reason=why2,
        ),
    ]
    res.headline = f"{up.median:.2f} s; touched: {'only ' + PORTAL if only else 'MORE'}"
    res.notes = [
        "Each run raises `eoepca-portal`'s `replicaCount` override with `pulumi config set --path` (not "
        "timed); the `resourcePreEvent`s of `pulumi up --json` list every step other than `same`.",
        "The kubectl baseline applies the rendered HelmRelease with Pulumi's own field manager for that "
        "object (so the next `pulumi up` meets no conflict).",
    ]
    return res


# ---- 4: render ------------------------------------------------------------------------------------


def s4_render(b: Bench) -> Result:
    from eoepca_gitops.fluxtree.kustomize import generated_resources, has_kustomization

    res = Result("4", "`eoepca-gitops render --stack creodias` vs `kubectl kustomize` of the shared tree")
    creodias = CREODIAS_TREE / "system" / "clusters" / "creodias"
    folders = [
        creodias / n for n in ("system", "user-management", "resource-management", "processing-and-chaining")
    ]
    scratch = b.work / "kustomize"
    targets = []
    for folder in folders:  # what kustomize-controller builds for each root path (not timed)
        if has_kustomization(folder):
            targets.append(folder)
            continue
        d = scratch / folder.name
        d.mkdir(parents=True, exist_ok=True)
        resources = [os.path.relpath(p, d) for p in generated_resources(folder)]
        (d / "kustomization.yaml").write_text(yaml.safe_dump({"resources": resources}))
        targets.append(d)
    env = {**os.environ, "KUBECONFIG": os.devnull}
    has_import = "import" in run([CLI, "--help"])[1].stdout
    out = b.work / "render-creodias"
    imp = b.work / "import-creodias"
    samples: dict[str, list[float]] = {"kustomize": [], "render": [], "flux": [], "import": []}
    for i in b.iterations():
        tk = 0.0
        for t in targets:
            tk += run([KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(t)], env=env)[0]
        tr = render(REPO, "creodias", out)
        tf = render(REPO, "creodias", out, "--flux-layer")
        ti = None
        if has_import:
            shutil.rmtree(imp, ignore_errors=True)
            ti = run(
                [
                    CLI,
                    "import",
                    str(creodias / "system"),
                    "--stack",
                    "creodias",
                    "--repo-root",
                    str(CREODIAS_TREE),
                    "--out",
                    str(imp),
                ]
            )[0]
        if b.counted(i):
            samples["kustomize"].append(tk)
            samples["render"].append(tr)
            samples["flux"].append(tf)
            if ti is not None:
                samples["import"].append(ti)
        log(f"4: kustomize {tk:.2f}s, render {tr:.2f}s, render --flux-layer {tf:.2f}s, import {ti or 0:.2f}s")
    base = Stats(samples["kustomize"])
    rows = [Row(f"baseline: kubectl kustomize of the tree's {len(targets)} Flux paths (4 processes)", base)]
    n_files = len(list(out.rglob("*.yaml")))
    for key, what in (
        ("render", f"eoepca-gitops render --stack creodias ({n_files} objects)"),
        ("flux", "eoepca-gitops render --stack creodias --flux-layer"),
        ("import", "eoepca-gitops import of the creodias tree"),
    ):
        if not samples[key]:
            continue
        s = Stats(samples[key])
        goal, v, why = "", "", ""
        if key == "render":
            goal = "<= 1 s"
            v, why = verdict(s.median <= 1, f"{s.median:.2f} s > 1 s")
        rows.append(Row(what, s, ratio=s.median / base.median, goal=goal, verdict=v, reason=why))
    res.rows = rows
    r = Stats(samples["render"])
    res.headline = f"render {r.median:.2f} s vs kustomize {base.median:.2f} s = {r.median / base.median:.1f}x"
    res.notes = [
        "Whole command runs (a new Python process each: interpreter start and imports included).",
        "Folders without a kustomization.yaml get the one kustomize-controller generates, written once "
        "before the runs; `--flux-layer` runs the same `kubectl kustomize` builds itself.",
    ]
    if not has_import:
        res.notes.append("`eoepca-gitops import` does not exist in this revision: not measured.")
    return res


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
    from eoepca_gitops.poller.state import StateStore

    try:
        s = StateStore.read(state_file).get(stack)
    except (OSError, ValueError, KeyError, TypeError):
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
    shutil.copy(b.project / f"Pulumi.{STACK}.yaml", proj / f"Pulumi.{STACK}.yaml")
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


def _stop_poller(p: PollerRun) -> None:
    if p.proc.poll() is None:
        p.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.proc.wait(timeout=90)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.proc.pid, signal.SIGKILL)
    p.proc.wait(timeout=30)


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
        stack_file = p.clone / "infra" / f"Pulumi.{STACK}.yaml"
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
        _stop_poller(p)
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


def _idle(b: Bench, p: PollerRun) -> tuple[list[Row], list[str], str]:
    pid = p.proc.pid
    seconds = b.settings.idle_seconds
    log(f"6: measuring the idle poller for {seconds:.0f} s")
    lines_before = len(p.log_file.read_text().splitlines())
    cpu0, t0 = _tree_cpu(pid), time.monotonic()
    rss: list[float] = []
    children_seen: set[tuple[int, str]] = set()
    while time.monotonic() - t0 < seconds:
        kids = descendants(pid)
        rss.append((vm_rss(pid) + sum(vm_rss(k) for k in kids)) / 1e6)
        for k in kids:
            t = proc_times(k)
            if t is not None:
                children_seen.add((k, t.comm))
        time.sleep(1.0)
    cpu1, t1 = _tree_cpu(pid), time.monotonic()
    pct = 100 * (cpu1 - cpu0) / (t1 - t0)
    events = p.log_file.read_text().splitlines()[lines_before:]
    kinds: dict[str, int] = {}
    for line in events:
        try:
            ev = json.loads(line).get("log", {})
            name = ev.get("event", "?") if isinstance(ev, dict) else "?"
        except ValueError:
            name = "?"
        kinds[name] = kinds.get(name, 0) + 1
    s = Stats(rss)
    vr, wr = verdict(s.max <= 100, f"{s.max:.0f} MB > 100 MB")
    vc, wc = verdict(pct <= 0.5, f"{pct:.2f} % > 0.5 %")
    comms: dict[str, int] = {}
    for _, comm in children_seen:
        comms[comm] = comms.get(comm, 0) + 1
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
            f"CPU over {t1 - t0:.0f} s (incl. children)",
            None,
            value=f"{pct:.3f}",
            unit="% of a core",
            goal="<= 0.5 %",
            verdict=vc,
            reason=wc,
        ),
    ]
    notes = [
        f"The poller of scenario 5, after its last commit: `--interval {b.settings.poll_interval}`, "
        "`--drift-interval 10m` (defaults), so each poll is one `git ls-remote`.",
        "CPU = delta of utime+stime of the poller, its waited-for children (cutime+cstime) and live "
        "descendants, from /proc/<pid>/stat; RSS = sum of VmRSS from /proc/<pid>/status.",
        f"Child processes seen in the samples: {dict(sorted(comms.items())) or 'none'}; log events in the "
        f"window: {dict(sorted(kinds.items())) or 'none'}.",
    ]
    headline = f"RSS max {s.max:.0f} MB, CPU {pct:.2f} % of a core"
    return rows, notes, headline


# ---- 7: scaling -----------------------------------------------------------------------------------


def scale_block(n: int) -> str:
    releases = [
        {
            "name": f"release-{k:03d}",
            "namespace": "bench",
            "chart": "podinfo",
            "version": "6.5.4",
            "sourceRef": {"kind": "HelmRepository", "name": "bench", "namespace": "bench"},
            "interval": "10m",
            "values": {
                "replicaCount": 1,
                "ingress": {"enabled": True, "hosts": [{"host": f"r{k}.${{domain}}"}]},
            },
        }
        for k in range(n)
    ]
    block = {
        "name": "bench-scale",
        "description": f"{n} generated HelmReleases",
        "namespaces": ["bench"],
        "helmRepositories": [
            {"name": "bench", "namespace": "bench", "url": "https://example.invalid/charts"}
        ],
        "helmReleases": releases,
    }
    return yaml.safe_dump(block, sort_keys=False)


def s7_scaling(b: Bench) -> Result:
    res = Result("7", "Scaling: preview and up with generated HelmReleases")
    projects: dict[int, Pulumi] = {}
    for n in b.settings.scale_sizes:
        proj = make_project(
            b.work / f"scale-{n}",
            b.cluster.kubeconfig,
            blocks={"bench-scale": scale_block(n)},
            enabled=["bench-scale"],
        )
        projects[n] = Pulumi(proj, tools_env(b.work / f"state-scale-{n}"))
        projects[n].init()
    up: dict[int, list[float]] = {n: [] for n in projects}
    pv: dict[int, list[float]] = {n: [] for n in projects}
    total: dict[int, int] = {}
    smallest = min(projects)
    for i in range(b.settings.warmup + b.settings.scale_reps):
        # sizes interleaved within each repetition; the warm-up runs the smallest size only
        for n, pulumi in projects.items():
            if i < b.settings.warmup and n != smallest:
                continue
            b.cluster.fresh()
            pulumi.reset()
            tu, proc = pulumi("up", "--yes", "--skip-preview", "--json")
            total[n] = summary(engine_events(proc.stdout)).get("create", 0)
            tp, _ = pulumi("preview", "--expect-no-changes")
            if i >= b.settings.warmup:
                up[n].append(tu)
                pv[n].append(tp)
            log(f"7: {n} HelmReleases ({total[n]} resources): up {tu:.2f}s, preview {tp:.2f}s")
    rows = []
    sizes = sorted(projects)
    verdicts = {}
    for kind, data in (("up", up), ("preview", pv)):
        med = {n: Stats(data[n]).median for n in sizes}
        for n in sizes:
            rows.append(Row(f"{kind}, {n} HelmReleases ({total[n]} resources)", Stats(data[n]), value=None))
            rows.append(
                Row(
                    f"{kind}, {n}: ms per resource (total)",
                    None,
                    value=f"{1000 * med[n] / total[n]:.1f}",
                    unit="ms",
                )
            )
        marg = []
        for a, c in itertools.pairwise(sizes):
            m = 1000 * (med[c] - med[a]) / (total[c] - total[a])
            marg.append(m)
            rows.append(Row(f"{kind}: ms per added resource, {a} -> {c}", None, value=f"{m:.1f}", unit="ms"))
        overall = 1000 * (med[sizes[-1]] - med[sizes[0]]) / (total[sizes[-1]] - total[sizes[0]])
        rows.append(
            Row(
                f"{kind}: ms per added resource, {sizes[0]} -> {sizes[-1]}",
                None,
                value=f"{overall:.1f}",
                unit="ms",
            )
        )
        if len(marg) > 1 and marg[0] > 0.2 * overall:
            growth, basis = marg[-1] / marg[0], "last/first marginal cost"
        else:  # the first step is within the noise: compare the last step with the whole range
            growth, basis = (marg[-1] / overall if overall > 0 else 1.0), "last marginal / overall"
        v, why = verdict(growth <= 1.5, f"marginal cost grows {growth:.1f}x with size")
        verdicts[kind] = (growth, v)
        rows.append(
            Row(
                f"{kind}: linearity ({basis})",
                None,
                value=f"{growth:.2f}",
                unit="ratio",
                goal="<= 1.5 (flat)",
                verdict=v,
                reason=why,
            )
        )
    res.rows = rows
    big = max(sizes)
    res.headline = (
        f"{big} HelmReleases: up {1000 * Stats(up[big]).median / total[big]:.0f} ms/resource, "
        f"preview {1000 * Stats(pv[big]).median / total[big]:.0f} ms/resource; marginal growth "
        f"up {verdicts['up'][0]:.2f}, preview {verdicts['preview'][0]:.2f}"
    )
    res.notes = [
        "A temporary project copy whose clusters/blocks/ holds one generated block (`bench-scale`: one "
        "namespace, one HelmRepository, N HelmReleases) plus Flux itself; each up starts on a new empty "
        "cluster and stack, then a no-change preview.",
        "Linear total time = flat marginal cost: the ms per added resource between sizes must not grow "
        "(tolerance 1.5x for noise). The per-resource figure over the total falls with size because the "
        "fixed cost (process starts, Flux's Deployments awaited) is spread.",
    ]
    return res


# ---- 8: YAML ---------------------------------------------------------------------------------------


def s8_yaml(b: Bench) -> Result:
    from eoepca_gitops import yaml_io
    from eoepca_gitops.manifests import flux_release

    res = Result("8", "YAML load of the Flux install manifest: C loader vs pure Python")
    path = SHARED_FLUX / "install-v2.9.3.yaml"
    text = path.read_text()

    def c_load() -> Any:
        return list(yaml.load_all(text, Loader=yaml.CSafeLoader))

    def py_load() -> Any:
        return list(yaml.load_all(text, Loader=yaml.SafeLoader))

    def product() -> Any:
        return flux_release._parse.__wrapped__(str(path), 0)  # the program's call, without its cache

    # The product path is the C one if no pure-Python scanner frame runs while it parses.
    py_frames = 0

    def prof(frame: Any, event: str, arg: Any) -> None:
        nonlocal py_frames
        if event == "call" and frame.f_code.co_filename.endswith(os.path.join("yaml", "scanner.py")):
            py_frames += 1

    sys.setprofile(prof)
    try:
        product()
    finally:
        sys.setprofile(None)
    samples: dict[str, list[float]] = {"c": [], "py": [], "product": []}
    fns: dict[str, Callable[[], Any]] = {"c": c_load, "py": py_load, "product": product}
    for i in b.iterations():
        for key, fn in fns.items():
            t = time.perf_counter()
            fn()
            if b.counted(i):
                samples[key].append(time.perf_counter() - t)
    c, py, prod = (Stats(samples[k]) for k in ("c", "py", "product"))
    is_c = issubclass(yaml_io.KubeLoader, yaml.CSafeLoader) and yaml.__with_libyaml__ and py_frames == 0
    v, why = verdict(bool(is_c), f"pure-Python scanner frames seen: {py_frames}")
    res.rows = [
        Row(f"baseline: pure Python (yaml.SafeLoader), {len(text) // 1024} KB", py),
        Row("C loader (yaml.CSafeLoader)", c, ratio=c.median / py.median),
        Row(
            "product path: flux_release._parse (yaml_io.KubeLoader)",
            prod,
            ratio=prod.median / py.median,
            goal="the C loader",
            verdict=v,
            reason=why,
        ),
        Row("reference measured once (issue 6)", None, value="0.026 vs 0.26", goal=""),
    ]
    res.headline = (
        f"C {c.median:.3f} s vs pure Python {py.median:.3f} s ({py.median / c.median:.0f}x); "
        f"product path is C: {'yes' if is_c else 'NO'}"
    )
    res.notes = [
        f"In-process, {path.name} ({len(text)} bytes); the product check traces Python calls during "
        f"`flux_release._parse`: {py_frames} calls into yaml/scanner.py (0 = libyaml did the parsing); "
        f"`yaml.__with_libyaml__` = {yaml.__with_libyaml__}.",
    ]
    return res


# ---- profile -------------------------------------------------------------------------------------


def profile_runs(b: Bench) -> Result:
    """Where the time of the slow operations goes: CPU per process, and the Python program's stacks."""
    res = Result("P", "Profile: where the time goes")
    md = []
    b.cluster.fresh()
    b.pulumi.reset()
    b.replicas = 1
    for label, args in (
        ("pulumi up --skip-preview, full local stack from empty", ("up", "--yes", "--skip-preview")),
        ("pulumi preview, no changes", ("preview", "--expect-no-changes")),
    ):
        md.append(profile.profiled_run(b, label, args))
    res.extra_md = "\n".join(md)
    res.headline = "see the tables"
    return res


# re-exported for bench.__main__
__all__ = [
    "Bench",
    "CommandFailed",
    "Settings",
    "profile_runs",
    "s1_preview",
    "s2_up_from_empty",
    "s3_one_change",
    "s4_render",
    "s5_s6_poller",
    "s7_scaling",
    "s8_yaml",
]
