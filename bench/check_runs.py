"""Scenario 17: `eoepca-gitops check --stack local` (the prerequisites, Flux's controllers at the
pinned version, each Flux CRD serving the pinned release's versions) against the kubectl reads the
`flux check` it stands for amounts to (`kubectl version`, `kubectl get deploy -n flux-system`,
`kubectl get crd`), in the same run, on the real Flux after `pulumi up` of the local stack."""

from __future__ import annotations

from bench.context import Bench
from bench.flux_runs import flux_work, local_stack_up
from bench.harness import CLI, STACK, Stats, log, run
from bench.report import Result, Row, verdict

__all__ = ["s17_check"]

_READS = (("version",), ("get", "deploy", "-n", "flux-system"), ("get", "crd"))


def s17_check(b: Bench) -> Result:
    res = Result("17", "`eoepca-gitops check` vs the kubectl reads of `flux check`")
    served, cluster, env = flux_work(b.work / "check")
    check_t: list[float] = []
    kubectl_t: list[float] = []
    try:
        project = local_stack_up(served, cluster, env)
        for i in b.iterations():
            base = sum(cluster.kubectl(*args)[0] for args in _READS)
            took, _ = run([CLI, "check", "--stack", STACK, "--project", str(project)], cwd=project, env=env)
            if b.counted(i):
                kubectl_t.append(base)
                check_t.append(took)
            log(f"17: kubectl reads {base:.2f}s, check {took:.2f}s")
    finally:
        cluster.dev.down(purge=True)
    check_s, kubectl_s = Stats(check_t), Stats(kubectl_t)
    ratio = check_s.median / kubectl_s.median
    v, why = verdict(check_s.median <= 1.0, f"{check_s.median:.2f} s > 1 s")
    res.rows = [
        Row("baseline: kubectl version + get deploy -n flux-system + get crd", kubectl_s),
        Row("eoepca-gitops check --stack local", check_s, ratio=ratio, goal="<= 1 s", verdict=v, reason=why),
    ]
    res.headline = f"check {check_s.median:.2f} s vs kubectl reads {kubectl_s.median:.2f} s = {ratio:.1f}x"
    res.notes = [
        "`check` starts Python, loads and builds the stack (the install manifest it compares with), runs "
        "`kubectl version --client` once (kubectl and its kustomize), then reads /version, the "
        "controllers' Deployments and the Flux CRDs one by one; the baseline is three kubectl processes.",
    ]
    return res
