"""One profiled `pulumi` run: CPU seconds per process (engine, provider, Python program, API server,
etcd) read from /proc, and py-spy's samples of the Python program (when py-spy is installed)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness import STACK, TreeSampler, cpu_of, log
from eoepca_gitops.runs import Run

if TYPE_CHECKING:
    from bench.context import Bench

RATE = 100  # py-spy samples per second
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def bucket(file: str) -> str:
    """py-spy names files relative to their sys.path entry: `components/objects.py`, `grpc/_server.py`."""
    if file.startswith("components/") or file.endswith("__main__.py"):
        return "ours (components/, __main__.py)"
    if "importlib" in file or file.startswith("<frozen"):
        return "imports (importlib)"
    top = file.split("/", 1)[0] if "/" in file else file
    if top in ("threading.py", "queue.py", "concurrent", "asyncio", "selectors.py"):
        return "threads, asyncio, queues (stdlib)"
    return {"google": "protobuf", "pulumi": "pulumi SDK", "pulumi_kubernetes": "pulumi_kubernetes SDK"}.get(
        top, top
    )


def parse_raw(path: Path) -> tuple[int, Counter[str], Counter[str], int]:
    """(samples, self samples per bucket, inclusive samples per frame, samples inside an import)."""
    total = 0
    leaf: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    importing = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = stack.split(";")
        total += count
        parsed = [_FRAME.match(f) for f in frames]
        last = parsed[-1]
        leaf[bucket(last["file"] if last else frames[-1])] += count
        if any("_find_and_load" in f for f in frames):
            importing += count
        seen = set()
        for _f, m in zip(frames, parsed, strict=True):
            if m is None:
                continue
            key = f"{m['fn']} ({m['file']})"
            if key not in seen:
                seen.add(key)
                incl[key] += count
    return total, leaf, incl, importing


def timeline(steps: dict[str, list[float]]) -> str:
    """Per component: when its first step started and its last ended; and the slowest steps."""
    if not steps:
        return ""
    parts: dict[str, list[float]] = {}
    for urn, (start, end) in steps.items():
        chain = urn.split("::")[2]
        top = chain.split("$")[1] if "$" in chain else chain
        name = urn.rsplit("::", 1)[-1] if "$" not in chain else ""
        key = f"{top} {name}".strip() if top.startswith("pulumi:") or not name else top
        p = parts.setdefault(key, [start, end, 0])
        p[0], p[1], p[2] = min(p[0], start), max(p[1], end), p[2] + 1
    md = ["| engine steps of type | steps | first starts (s) | last ends (s) |", "|---|---|---|---|"]
    for key, (start, end, n) in sorted(parts.items(), key=lambda kv: kv[1][0]):
        md.append(f"| {key} | {int(n)} | {start:.2f} | {end:.2f} |")
    md.append("")
    md.append("| slowest steps (engine events: start -> outputs) | seconds |\n|---|---|")
    for urn, (start, end) in sorted(steps.items(), key=lambda kv: kv[1][0] - kv[1][1])[:8]:
        if "$" in urn.split("::")[2]:
            md.append(f"| {urn.rsplit('::', 1)[-1]} | {end - start:.2f} |")
    md.append("")
    return "\n".join(md)


def profiled_run(b: Bench, label: str, args: tuple[str, ...]) -> str:
    spy = py_spy()
    spies: list[subprocess.Popen[bytes]] = []
    outputs: list[Path] = []

    def on_new(pid: int, part: str) -> None:
        if spy and part.startswith("Python program"):
            out = b.work / f"pyspy-{pid}.txt"
            outputs.append(out)
            spies.append(
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--rate",
                        str(RATE),
                        "--nonblocking",
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    cmd = ["pulumi", *args, "--json", "--stack", STACK, "--non-interactive"]
    steps: dict[str, list[float]] = {}
    run = Run.new("profiled")
    with (
        cpu_of({k: v for k, v in b.cluster.pids().items() if k in ("kube-apiserver", "etcd")}) as server,
        contextlib.ExitStack() as cleanup,
    ):
        cleanup.callback(run.stop)  # a failed or timed-out run leaves neither pulumi nor its plugins
        started = time.perf_counter()
        errfile = (b.work / "profile-stderr.txt").open("w+")
        proc = subprocess.Popen(
            cmd, cwd=b.project, env=run.env(b.env), stdout=subprocess.PIPE, stderr=errfile, text=True
        )
        sampler = TreeSampler(proc.pid, every=0.05, on_new=on_new).start()
        assert proc.stdout is not None
        for line in proc.stdout:  # engine events as they happen: when each step starts and ends
            at = time.perf_counter() - started
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            for kind, i in (("resourcePreEvent", 0), ("resOutputsEvent", 1)):
                if kind in ev:
                    urn = ev[kind]["metadata"]["urn"]
                    steps.setdefault(urn, [at, at])[i] = at
        proc.wait(timeout=900)
        errfile.seek(0)
        err = errfile.read()
        errfile.close()
        wall = time.perf_counter() - started
        sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"profiled `{' '.join(cmd)}` exited {proc.returncode}: {err[-2000:]}")
    for s in spies:
        try:
            s.wait(timeout=60)
        except subprocess.TimeoutExpired:
            s.kill()
    parts = sampler.by_part()
    parts.update({f"API server ({k})": v for k, v in server.items()})
    log(f"P: {label}: {wall:.2f}s wall, CPU {parts}")
    md = [
        f"### {label}: {wall:.2f} s wall\n",
        "| process | CPU seconds | share of wall time (of one core) |",
        "|---|---|---|",
    ]
    for part, cpu in sorted(parts.items(), key=lambda kv: -kv[1]):
        md.append(f"| {part} | {cpu:.2f} | {100 * cpu / wall:.0f} % |")
    md.append(
        f"| total CPU (2 cores available) | {sum(parts.values()):.2f} | "
        f"{100 * sum(parts.values()) / wall:.0f} % |"
    )
    md.append("")
    md.append(timeline(steps))
    md.append(
        "CPU seconds from /proc/<pid>/stat (every process of the `pulumi` tree, sampled every 50 ms; "
        "kube-apiserver and etcd before/after). Wall time not covered by CPU is waiting: on the "
        "API server's answers, on Deployments becoming Available, on gRPC round trips.\n"
    )
    existing = [o for o in outputs if o.exists() and o.stat().st_size > 0]
    if not spy:
        md.append("py-spy is not installed in .venv (`make bench` installs it): no Python stacks.\n")
    elif not existing:
        md.append("py-spy produced no samples (ptrace not permitted?).\n")
    for out in existing:
        total, leaf, incl, importing = parse_raw(out)
        if total == 0:
            continue
        md.append(
            f"py-spy on the Python program (language host + `__main__.py`, {RATE} Hz, active "
            f"threads only): {total} samples = {total / RATE:.2f} s busy; "
            f"{100 * importing / total:.0f} % of them inside an `import`.\n"
        )
        md.append("| where the Python CPU goes (leaf frame) | share |\n|---|---|")
        for name, n in leaf.most_common(10):
            md.append(f"| {name} | {100 * n / total:.0f} % |")
        md.append("")
        md.append("| busiest functions (inclusive) | share |\n|---|---|")
        shown = 0
        for name, n in incl.most_common(60):
            if n > 0.97 * total:  # entry frames present in every sample
                continue
            md.append(f"| `{name}` | {100 * n / total:.0f} % |")
            shown += 1
            if shown == 15:
                break
        md.append("")
    return "\n".join(md)
