"""One lever at a time (issue 29): the same `pulumi preview` (no changes) or `pulumi up` (from empty) of
the local stack by several variants of the code or the engine's settings, interleaved with the
kubectl baseline on one dev cluster; wall seconds, CPU seconds of the whole `pulumi` process tree,
and each run's ratio to the kubectl run just before it.

    python -m bench.levers preview 5 main=470b3f6 head=HEAD
    python -m bench.levers up 3 on=HEAD off=HEAD:PULUMI_SKIP_CHECKPOINTS=true

A variant is LABEL=REV[:NAME=VALUE,...]: the program (__main__.py, components/, eoepca_gitops/) at git
revision REV (`git archive`; WORKTREE for the files as they are), and environment variables for the
`pulumi` CLI. CPU is what a loaded machine moves least: read it beside the wall ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.context import Bench, Settings, render, split_for_kubectl
from bench.harness import REPO, STACK, Cluster, TreeSampler, log
from eoepca_gitops.runs import Run


@dataclass
class Variant:
    label: str
    rev: str
    env: dict[str, str]
    project: Path = Path()
    runs: list[tuple[float, float, float]] = field(default_factory=list)  # wall, CPU, ratio


def _parse(spec: str) -> Variant:
    label, _, rest = spec.partition("=")
    rev, _, envs = rest.partition(":")
    return Variant(label, rev, dict(e.split("=", 1) for e in envs.split(",") if e))


def _code(rev: str, dest: Path) -> Path:
    """The program (__main__.py, components/, eoepca_gitops/) at `rev` (the repository itself for
    WORKTREE)."""
    if rev == "WORKTREE":
        return REPO
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "__main__.py", "components", "eoepca_gitops"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def _project(b: Bench, v: Variant) -> tuple[Path, dict[str, str]]:
    """The bench's project (same stack, same backend) with this variant's code and settings."""
    code = _code(v.rev, b.work / f"code-{v.label}")
    proj = b.work / f"project-{v.label}"
    proj.mkdir()
    for name in ("Pulumi.yaml", f"Pulumi.{STACK}.yaml"):
        shutil.copy(b.project / name, proj / name)
    shutil.copy(code / "__main__.py", proj / "__main__.py")
    for name in ("clusters", ".venv"):
        (proj / name).symlink_to(b.project / name)
    (proj / "components").symlink_to(code / "components")
    env = {**b.env, **v.env}
    if code != REPO:
        env["PYTHONPATH"] = str(code)  # before the editable install of the repository's own code
    return proj, env


def _timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    run = Run.new("lever")
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=run.env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = TreeSampler(proc.pid, every=0.05).start()
    out, err = proc.communicate(timeout=900)
    wall = time.perf_counter() - started
    sampler.stop()
    run.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(args)}` exited {proc.returncode}: {(out + err).decode()[-2000:]}")
    return wall, sum(sampler.by_part().values())


def _baseline(b: Bench, mode: str, rendered: Path, split: tuple[Path, Path] | None) -> float:
    if mode == "preview":
        diff = ("diff", "--server-side", "--force-conflicts", "-R", "-f", str(rendered))
        return b.cluster.kubectl(*diff, ok=(0, 1))[0]
    assert split is not None
    b.cluster.fresh()
    return sum(
        b.cluster.kubectl(*args)[0]
        for args in (
            ("apply", "--server-side", "-f", str(split[0])),
            ("wait", "--for", "condition=established", "crd", "--all", "--timeout=120s"),
            ("apply", "--server-side", "-f", str(split[1])),
            (
                "wait",
                "--for=condition=Available",
                "deployment",
                "--all",
                "-n",
                "flux-system",
                "--timeout=180s",
            ),
        )
    )


def measure(b: Bench, mode: str, rounds: int, variants: list[Variant]) -> list[float]:
    """Round 0 warms up; each round: the baseline, then every variant, in an order that rotates."""
    envs = {v.label: _project(b, v) for v in variants}
    rendered = b.work / "render-local"
    render(b.project, STACK, rendered, env=b.env)
    split = split_for_kubectl(rendered, b.work / "kubectl-local") if mode == "up" else None
    if mode == "preview":
        b.pulumi("up", "--yes", "--skip-preview")
    base: list[float] = []
    for i in range(rounds + 1):
        load = os.getloadavg()[0]
        t = _baseline(b, mode, rendered, split)
        line = [f"round {i}, load {load:.1f}: kubectl {t:.2f} s"]
        for v in variants[i % len(variants) :] + variants[: i % len(variants)]:
            proj, env = envs[v.label]
            if mode == "up":
                b.cluster.fresh()
                b.pulumi.reset()
            args = ["up", "--yes", "--skip-preview"] if mode == "up" else ["preview", "--expect-no-changes"]
            wall, cpu = _timed(["pulumi", *args, "--stack", STACK, "--non-interactive"], proj, env)
            line.append(f"{v.label} {wall:.2f} s / {cpu:.2f} CPU-s ({wall / t:.2f}x)")
            if i:
                v.runs.append((wall, cpu, wall / t))
        if i:
            base.append(t)
        log("; ".join(line))
    return base


def table(mode: str, base: list[float], variants: list[Variant]) -> str:
    md = [
        f"| `pulumi {mode}` variant | n | wall median (s) | CPU-s median | ratio of medians "
        "| median of paired ratios |",
        "|---|---|---|---|---|---|",
        f"| baseline: kubectl | {len(base)} | {statistics.median(base):.2f} | | | |",
    ]
    for v in variants:
        wall, cpu, ratio = (statistics.median(r[k] for r in v.runs) for k in range(3))
        settings = "".join(f", {k}={x}" for k, x in v.env.items())
        md.append(
            f"| {v.label} ({v.rev}{settings}) | {len(v.runs)} | {wall:.2f} | {cpu:.2f} "
            f"| {wall / statistics.median(base):.2f}x | {ratio:.2f}x |"
        )
    return "\n".join(md)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.levers", description=__doc__)
    parser.add_argument("mode", choices=("preview", "up"))
    parser.add_argument("rounds", type=int)
    parser.add_argument("variants", nargs="+", type=_parse)
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="eoepca-levers-"))
    bench_run = Run.new("bench-levers")
    os.environ.update(bench_run.variables)
    cluster = Cluster(work / "cluster")
    try:
        cluster.up()
        b = Bench(work, cluster, Settings())
        base = measure(b, opts.mode, opts.rounds, opts.variants)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load average at the end {load}\n")
        print(table(opts.mode, base, opts.variants))
    finally:
        cluster.down()
        bench_run.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
