"""Scenario 16: a broken change fails `pulumi up` with Flux's reason (issue 31). For each case of
tests/integration/await_cases.py (a chart version that does not exist, values the chart's schema
refuses, a Kustomization path not in Git, a release whose dependency failed), the time from `pulumi up`
start until it exits failed, beside the time until Flux first reports the failure (the object's
status, read every 0.2 s by a watcher from the same start). Then what the waits cost: `pulumi
preview` of the whole local stack, no changes, with `await` on (one wait per block) against the
same stack with `await` off, interleaved in the same run. And the path that succeeds: `pulumi up` of the
whole local stack from an empty cluster until Flux reports every object Ready, with one wait per
block against the program before issue 31 (the provider's waitFor on each object), interleaved."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from bench.context import Bench
from bench.flux_runs import flux_project, flux_work
from bench.harness import STACK, Cluster, Pulumi, Stats, log
from bench.report import Result, Row, verdict
from eoepca_gitops.flux_apis import CURRENT, SOURCE_GROUP
from eoepca_gitops.kube.client import kube_client
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.project import stack_file_name
from eoepca_gitops.readiness.verdict import State
from eoepca_gitops.readiness.wait import flux_assess
from tests.integration.await_cases import DEPENDENCY, FAILING, enable, old_program, write_blocks

__all__ = ["s16_await"]

CASES = {
    "await-version": "a chart version that does not exist",
    "await-schema": "values that fail the chart's schema",
    "await-path": "a Kustomization whose path is not in Git",
    "await-dependency": "a HelmRelease whose dependency failed",
}
_GOAL = 30.0


def _edit(project: Path, edit: Any) -> None:
    file = project / stack_file_name(STACK)
    raw = yaml.safe_load(file.read_text())
    short = {k.split(":", 1)[1]: v for k, v in raw["config"].items() if k.startswith("eoepca-gitops:")}
    edit(short)
    raw["config"] = {f"eoepca-gitops:{k}": v for k, v in short.items()}
    file.write_text(yaml.safe_dump(raw, sort_keys=False))


class Watcher(threading.Thread):
    """Reads the failing object every 0.2 s from `started` until its verdict is Failed."""

    def __init__(self, kubeconfig: Path, key: tuple[str, str, str], started: float) -> None:
        super().__init__(daemon=True)
        self.kubeconfig, self.key, self.started = kubeconfig, key, started
        self.seconds: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        kind, namespace, name = self.key
        ref = (CURRENT[kind], kind, namespace, name)
        with kube_client(self.kubeconfig) as client:
            assess = flux_assess(ClusterAccess(client).get, {**CURRENT, "HelmChart": f"{SOURCE_GROUP}/v1"})
            while not self.stop.is_set():
                if assess([ref])[ref].state is State.FAILED:
                    self.seconds = time.perf_counter() - self.started
                    return
                self.stop.wait(0.2)


def _case(cluster: Cluster, pulumi: Pulumi, project: Path, name: str) -> tuple[float, float]:
    """(seconds until `pulumi up` failed, seconds until Flux reported the failure), then back to
    system-common alone."""
    _edit(project, lambda c: enable(c, name))
    started = time.perf_counter()
    watcher = Watcher(cluster.kubeconfig, FAILING[name], started)
    watcher.start()
    if name == "await-dependency":
        dependency = project.parent / "await-dep.yaml"
        dependency.write_text(yaml.safe_dump(DEPENDENCY))
        cluster.kubectl("apply", "-f", str(dependency))
    _, proc = pulumi("up", "--yes", "--skip-preview", ok=(255, 1))
    failed = time.perf_counter() - started
    watcher.join(timeout=30)
    watcher.stop.set()
    if "FluxNotReady: " not in proc.stdout:
        raise RuntimeError(f"{name}: `pulumi up` failed, not with the wait's message:\n{proc.stdout[-2000:]}")
    if name == "await-dependency":
        cluster.kubectl("delete", "helmrelease", "await-dep", "-n", "common", "--wait=false")
    _edit(project, lambda c: enable(c, None))
    pulumi("up", "--yes", "--skip-preview")
    if watcher.seconds is None:
        raise RuntimeError(f"{name}: Flux's failure was not seen within 30 s of `pulumi up`'s")
    return failed, watcher.seconds


def _preview_cost(b: Bench, pulumi: Pulumi, project: Path, blocks: list[str]) -> tuple[Stats, Stats, int]:
    """`pulumi preview`, no changes, of the whole local stack with await on and off, interleaved
    (each switch is a `pulumi up` that creates or deletes the waits; the objects stay the same)."""
    timed: dict[bool, list[float]] = {True: [], False: []}
    waits = 0

    def switch(on: bool) -> None:
        _edit(project, lambda c: c.update({"await": {"kustomizations": on, "helmReleases": on}}))
        pulumi("up", "--yes", "--skip-preview")

    _edit(project, lambda c: c.update(blocks=blocks, overrides={}))
    for i in b.iterations():
        for on in (True, False):
            switch(on)
            if on:
                _, state = pulumi("stack", "export")
                waits = state.stdout.count('"type": "pulumi-python:dynamic/eoepca:FluxAwait"')
            took, _ = pulumi("preview", "--expect-no-changes")
            if b.counted(i):
                timed[on].append(took)
    return Stats(timed[True]), Stats(timed[False]), waits


def _from_empty(
    b: Bench, work: Path, served: Path, cluster: Cluster, env: dict[str, str], blocks: list[str]
) -> tuple[Stats, Stats]:
    """`pulumi up` of the whole local stack on a fresh cluster until Flux reports every object Ready:
    (this program, the program before issue 31), interleaved; each with a state backend of its own."""
    old = old_program(work / "old")
    old_env = {**env, "PULUMI_BACKEND_URL": f"file://{work / 'old-state'}"}
    (work / "old-state").mkdir(parents=True, exist_ok=True)
    programs = {True: Pulumi(served, env), False: Pulumi(old, old_env)}
    programs[False].init()
    timed: dict[bool, list[float]] = {True: [], False: []}

    def whole(c: dict[str, Any]) -> None:
        c.update(blocks=blocks, overrides={}, **{"await": {"kustomizations": True, "helmReleases": True}})

    for i in b.iterations(reps=max(1, b.settings.reps // 2)):
        for new in (True, False):
            cluster.dev.down(purge=True)
            cluster.dev.up(flux=True, git_repo=served)
            project = flux_project(served, cluster)
            _edit(project, whole)
            shutil.copy(project / stack_file_name(STACK), old / stack_file_name(STACK))
            programs[new].reset()
            took, _ = programs[new]("up", "--yes", "--skip-preview")
            log(f"16: from empty, {'one wait per block' if new else 'before issue 31'}: {took:.1f}s")
            if b.counted(i):
                timed[new].append(took)
    return Stats(timed[True]), Stats(timed[False])


def s16_await(b: Bench) -> Result:
    res = Result("16", "A broken change fails `pulumi up` with Flux's reason: time to the failure")
    work = b.work / "await"
    served, cluster, env = flux_work(work)
    write_blocks(served)
    pulumi = Pulumi(served, env)
    pulumi.init()
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in CASES}
    try:
        cluster.dev.up(flux=True, git_repo=served)
        project = flux_project(served, cluster)
        blocks = yaml.safe_load((project / stack_file_name(STACK)).read_text())["config"][
            "eoepca-gitops:blocks"
        ]

        def start(c: dict[str, Any]) -> None:
            enable(c, None)
            c["git"]["interval"] = "5s"

        _edit(project, start)
        pulumi("up", "--yes", "--skip-preview")
        for i in b.iterations(reps=max(1, b.settings.reps // 2)):
            for name in CASES:
                failed, flux = _case(cluster, pulumi, project, name)
                log(f"16: {name}: pulumi up failed after {failed:.1f}s; Flux reported it after {flux:.1f}s")
                if b.counted(i):
                    times[name][0].append(failed)
                    times[name][1].append(flux)
        on, off, waits = _preview_cost(b, pulumi, project, blocks)
        now, before = _from_empty(b, work, served, cluster, env, blocks)
    finally:
        cluster.dev.down(purge=True)
    for name, title in CASES.items():
        up_s, flux_s = Stats(times[name][0]), Stats(times[name][1])
        v, why = verdict(up_s.max <= _GOAL, f"{up_s.max:.1f} s > {_GOAL:.0f} s")
        res.rows.append(Row(f"baseline: Flux first reports it: {title}", flux_s))
        res.rows.append(
            Row(
                f"`pulumi up` start -> failed with Flux's message: {title}",
                up_s,
                ratio=up_s.median / flux_s.median,
                goal=f"<= {_GOAL:.0f} s",
                verdict=v,
                reason=why,
            )
        )
    ratio = on.median / off.median
    res.rows.append(Row("baseline: `pulumi preview`, no changes, whole local stack, await off", off))
    res.rows.append(
        Row(f"the same with await on ({waits} waits, one per block)", on, ratio=ratio, goal="reference")
    )
    slower = now.median / before.median
    res.rows.append(
        Row(
            "baseline: `pulumi up` from empty until every object Ready, the program before issue 31 "
            "(pulumi.com/waitFor on each Kustomization and HelmRelease)",
            before,
        )
    )
    v, why = verdict(slower <= 1.1, f"{slower:.2f}x > 1.1x")
    res.rows.append(
        Row("the same with one wait per block", now, ratio=slower, goal="<= 1.1x", verdict=v, reason=why)
    )
    medians = {name: (Stats(up).median, Stats(flux).median) for name, (up, flux) in times.items()}
    res.headline = "; ".join(
        f"{name.removeprefix('await-')} {up:.1f} s (Flux {flux:.1f} s)"
        for name, (up, flux) in medians.items()
    )
    res.headline += f"; preview {on.median:.2f} s with the waits vs {off.median:.2f} s = {ratio:.2f}x"
    res.headline += f"; up from empty {now.median:.0f} s vs {before.median:.0f} s before = {slower:.2f}x"
    res.notes = [
        "On a fresh dev cluster with the real Flux controllers; each case enabled beside system-common "
        "on the local stack (await on, timeout 10m), then disabled again (not timed).",
        "Before issue 31, each of these `pulumi up` runs waited for the provider's pulumi.com/waitFor "
        "until await.timeout (10 minutes by default) and then failed without Flux's reason.",
        "`pulumi up` start -> failed includes the program's start (loading the stack, the Git layer "
        "check) and the apply of the block's objects before the wait begins.",
    ]
    return res
