"""Scenario 19: `eoepca-gitops check --stack local` (the prerequisites, Flux's controllers at the
pinned version, each Flux CRD serving the pinned release's versions) against the kubectl reads the
`flux check` it stands for amounts to (`kubectl version`, `kubectl get deploy -n flux-system`,
`kubectl get crd`), in the same run, on the real Flux after `pulumi up` of the local stack."""

from __future__ import annotations

import os
import resource
from collections.abc import Callable

from bench.context import Bench
from bench.flux_runs import flux_work, local_stack_up
from bench.harness import CLI, STACK, Stats, log, run
from bench.report import Result, Row, verdict

__all__ = ["s19_check"]

_READS = (("version",), ("get", "deploy", "-n", "flux-system"), ("get", "crd"))


def _timed(command: Callable[[], float]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the processes it ran): on a loaded machine the CPU time says
    what the command costs, the wall time what it costs there and then."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = command()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def s19_check(b: Bench) -> Result:
    res = Result("19", "`eoepca-gitops check` vs the kubectl reads of `flux check`")
    served, cluster, env = flux_work(b.work / "check")
    check_t: list[float] = []
    kubectl_t: list[float] = []
    check_cpu: list[float] = []
    kubectl_cpu: list[float] = []
    load = [os.getloadavg()[0]]
    try:
        project = local_stack_up(served, cluster, env)
        check = [CLI, "check", "--stack", STACK, "--project", str(project)]
        for i in b.iterations():
            base, base_cpu = _timed(lambda: sum(cluster.kubectl(*args)[0] for args in _READS))
            took, took_cpu = _timed(lambda: run(check, cwd=project, env=env)[0])
            if b.counted(i):
                kubectl_t.append(base)
                check_t.append(took)
                kubectl_cpu.append(base_cpu)
                check_cpu.append(took_cpu)
            log(f"19: kubectl reads {base:.2f}s ({base_cpu:.2f} CPU-s), check {took:.2f}s ({took_cpu:.2f})")
        load.append(os.getloadavg()[0])
    finally:
        cluster.dev.down(purge=True)
    check_s, kubectl_s = Stats(check_t), Stats(kubectl_t)
    cpu, kubectl_cpu_s = Stats(check_cpu), Stats(kubectl_cpu)
    ratio = check_s.median / kubectl_s.median
    v, why = verdict(check_s.median <= 1.0, f"{check_s.median:.2f} s > 1 s")
    res.rows = [
        Row("baseline: kubectl version + get deploy -n flux-system + get crd", kubectl_s),
        Row("eoepca-gitops check --stack local", check_s, ratio=ratio, goal="<= 1 s", verdict=v, reason=why),
        Row("CPU time: the kubectl reads (user + sys)", kubectl_cpu_s),
        Row("CPU time: eoepca-gitops check (user + sys)", cpu, ratio=cpu.median / kubectl_cpu_s.median),
    ]
    res.headline = (
        f"check {check_s.median:.2f} s vs kubectl reads {kubectl_s.median:.2f} s = {ratio:.1f}x "
        f"(CPU {cpu.median:.2f} s vs {kubectl_cpu_s.median:.2f} s; load {load[0]:.0f}-{load[-1]:.0f})"
    )
    res.notes = [
        "`check` starts Python, loads the stack (its model) and builds its Flux install (what it compares "
        "with), runs `kubectl version --client` once (kubectl and its kustomize), then reads /version, the "
        "controllers' Deployments and the Flux CRDs one by one; the baseline is three kubectl processes.",
        f"Load average {load[0]:.1f} before the scenario, {load[-1]:.1f} after the runs (2 cores): the "
        "CPU time of the processes each run started is what the command costs whatever the load.",
    ]
    return res
