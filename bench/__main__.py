"""`python -m bench` (or `make bench`): every scenario of issue 6 on a dev cluster of its own,
results in bench/results.md. `python -m bench --help` for the knobs."""

from __future__ import annotations

import argparse
import glob
import importlib.metadata
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.await_runs import s16_await
from bench.check_runs import s19_check
from bench.context import Bench, Settings
from bench.credentials_scan import s14_credentials
from bench.deploy_loop_runs import s18_deploy_loop
from bench.diff_runs import s12_diff
from bench.drift_runs import s10_drift
from bench.flux_runs import s9_flux
from bench.harness import KUBECTL, Cluster, log, tools_env
from bench.image_runs import s15_image
from bench.inspect_runs import s17_tree_trace
from bench.operations_runs import s11_operations
from bench.poller_runs import s5_s6_poller
from bench.pr_runs import s13_pr_checks
from bench.report import Result, merge, render
from bench.scaling import profile_runs, s7_scaling, s8_yaml
from bench.stack_ops import s1_preview, s2_up_from_empty, s3_one_change, s4_render
from eoepca_gitops.runs import Run

HERE = Path(__file__).resolve().parent


def _first_line(args: list[str], env: dict[str, str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machine() -> str:
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    gib = int(mem.split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({model}), {gib:.1f} GiB RAM, {platform.system()} {platform.release()}"


def versions(env: dict[str, str]) -> list[str]:
    home = Path(env.get("PULUMI_HOME") or Path.home() / ".pulumi")
    provider = sorted(
        p for p in glob.glob(str(home / "plugins" / "resource-kubernetes-v*")) if os.path.isdir(p)
    )
    spy = shutil.which("py-spy", path=str(Path(KUBECTL).parent))
    return [
        f"pulumi CLI {_first_line(['pulumi', 'version'], env)}, Python SDK "
        f"{importlib.metadata.version('pulumi')}, pulumi-kubernetes "
        f"{Path(provider[-1]).name.rsplit('-v', 1)[-1] if provider else '?'}",
        f"{_first_line(['kube-apiserver', '--version'], env)} (kube-apiserver), "
        f"{_first_line(['etcd', '--version'], env)}, "
        f"kubectl {_first_line([KUBECTL, 'version', '--client'], env)}",
        f"Python {platform.python_version()}, PyYAML {importlib.metadata.version('PyYAML')}, "
        f"{_first_line(['git', '--version'], env)}"
        + (f", {_first_line([spy, '--version'], env)}" if spy else ""),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--reps", type=int, default=5, help="counted runs per scenario (after 1 warm-up)")
    parser.add_argument("--commits", type=int, default=20, help="poller commits (scenario 5)")
    parser.add_argument("--idle", type=float, default=300, help="idle seconds (scenario 6)")
    parser.add_argument("--scale", default="10,50,200", help="HelmRelease counts (scenario 7)")
    parser.add_argument("--scale-reps", type=int, default=3)
    parser.add_argument("--only", default="", help="comma list of scenarios, e.g. 1,2,3 (P = profile)")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    opts = parser.parse_args()
    settings = Settings(
        reps=opts.reps,
        commits=opts.commits,
        idle_seconds=opts.idle,
        scale_sizes=tuple(int(x) for x in opts.scale.split(",")),
        scale_reps=opts.scale_reps,
    )
    only = {x.strip() for x in opts.only.split(",") if x.strip()}
    work = Path(tempfile.mkdtemp(prefix="eoepca-bench-"))
    started = time.perf_counter()
    date = time.strftime("%Y-%m-%d %H:%M %Z")
    load0 = os.getloadavg()
    results: list[Result] = []
    log(f"work folder {work}; results -> {opts.out}")
    # Every process the benchmark starts carries its marker (eoepca_gitops/runs.py): none outlives it.
    bench_run = Run.new("bench")
    os.environ.update(bench_run.variables)
    cluster = Cluster(work / "cluster")
    env = tools_env(work / "state")
    tool_versions = versions(env)

    def write() -> None:
        elapsed = time.perf_counter() - started
        header = "\n".join(
            [
                "# Benchmarks (issue 6)\n",
                "Generated by `make bench` (`python -m bench`); do not edit by hand — the analysis below the "
                "tables is in [analysis.md](analysis.md).\n",
                f"- date: {date}; whole run {elapsed / 60:.1f} min",
                f"- machine: {machine()}; load average at start {load0[0]:.2f}, "
                f"at end {os.getloadavg()[0]:.2f} "
                "(other work may share the machine: compare ratios, measured in the same run, interleaved)",
                *[f"- tools: {v}" for v in tool_versions],
                f"- settings: {settings.warmup} warm-up + {settings.reps} counted runs per scenario; poller "
                f"{settings.commits} commits, idle {settings.idle_seconds:.0f} s; scaling "
                f"{'/'.join(map(str, settings.scale_sizes))} HelmReleases x {settings.scale_reps}",
                f"- dev cluster starts (own state folder, random free ports): {len(cluster.start_seconds)}, "
                + (
                    f"median {sorted(cluster.start_seconds)[len(cluster.start_seconds) // 2]:.1f} s"
                    if cluster.start_seconds
                    else "none"
                ),
                "",
            ]
        )
        analysis = HERE / "analysis.md"
        text = render(results, header)
        if analysis.exists():
            text += "\n" + analysis.read_text()
        if only and opts.out.exists():  # the other scenarios' results stay as the last full run left them
            text = merge(opts.out.read_text(), text, {r.key for r in results}, date)
        opts.out.write_text(text)

    def step(
        key: str, fn: Callable[[], Result | tuple[Result, ...]], titles: tuple[tuple[str, str], ...]
    ) -> None:
        if only and not (set(k for k, _ in titles) & only):
            return
        t = time.perf_counter()
        log(f"scenario {'+'.join(k for k, _ in titles)} ...")
        try:
            out = fn()
            got = out if isinstance(out, tuple) else (out,)
        except Exception as exc:
            log(f"scenario {key} failed: {exc}")
            got = tuple(
                Result(k, title, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}")
                for k, title in titles
            )
        for r in got:
            r.seconds = r.seconds or (time.perf_counter() - t) / len(got)
            results.append(r)
        results.sort(key=lambda r: (r.key == "P", int(r.key) if r.key.isdigit() else 0))
        write()

    # A terminated run still stops its clusters (they run in their own sessions) and writes what it has.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # Scenarios that need no cluster first; the cluster only when a scenario asks for it.
    step("14", lambda: s14_credentials(settings), (("14", "credential scanning"),))
    if only and not only - {"14"}:  # written by its step: merged once
        return 0
    try:
        cluster.up()
        b = Bench(work, cluster, settings)
        step("4", lambda: s4_render(b), (("4", "render vs kubectl kustomize"),))
        step("8", lambda: s8_yaml(b), (("8", "YAML loaders"),))
        step("2", lambda: s2_up_from_empty(b), (("2", "up from empty"),))
        if only & {"1", "3", "5"} and "2" not in only:  # they need the stack up
            cluster.fresh()
            b.pulumi.reset()
            b.pulumi("up", "--yes", "--skip-preview")
            b.replicas = 1
        step("1", lambda: s1_preview(b), (("1", "preview vs kubectl diff"),))
        step("3", lambda: s3_one_change(b), (("3", "one HelmRelease value"),))
        step("5", lambda: s5_s6_poller(b), (("5", "poller latency"), ("6", "poller idle cost")))
        step("7", lambda: s7_scaling(b), (("7", "scaling"),))
        step("9", lambda: s9_flux(b), (("9", "Flux end to end"),))
        step("10", lambda: s10_drift(b), (("10", "drift -> corrected"),))
        step("11", lambda: s11_operations(b), (("11", "operating a cluster"),))
        step("12", lambda: s12_diff(b), (("12", "diff of a chart bump"),))
        step("13", lambda: s13_pr_checks(b), (("13", "pull-request checks"),))
        step("15", lambda: s15_image(b), (("15", "the poller's image"),))
        step("16", lambda: s16_await(b), (("16", "a broken change fails pulumi up fast"),))
        step("17", lambda: s17_tree_trace(b), (("17", "tree and trace"),))
        step("18", lambda: s18_deploy_loop(b), (("18", "rollback; push -> Helm release upgraded"),))
        step("19", lambda: s19_check(b), (("19", "check vs kubectl reads"),))
        step("P", lambda: profile_runs(b), (("P", "profile"),))
    finally:
        cluster.down()
        for left in bench_run.stop():
            log(f"stopped, left running by the benchmark: {left}")
        write()
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    log(f"done in {(time.perf_counter() - started) / 60:.1f} min; {opts.out}")
    misses = [
        f"{r.key}: {row.what}: {row.reason}" for r in results for row in r.rows if row.verdict == "MISS"
    ]
    errors = [r.key for r in results if r.error]
    for m in misses:
        log(f"MISS {m}")
    for e in errors:
        log(f"ERROR in scenario {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
