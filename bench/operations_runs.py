"""Scenario 11: operating a cluster of both layers on the real Flux. `eoepca-gitops status --stack local`
(the stack, Flux, the source and every block) against the kubectl call `flux get all -A` amounts to
(every Flux source, Kustomization and HelmRelease), in the same run; `reconcile` of one block from the
request until Flux reports the new reconciliation Ready; the status page's response time."""

from __future__ import annotations

import subprocess
import time
import urllib.request

from bench.context import Bench
from bench.flux_runs import flux_work, local_stack_up
from bench.harness import CLI, STACK, Stats, log, popen, run, stop
from bench.report import Result, Row, verdict
from eoepca_gitops.devcluster.ports import free_port

__all__ = ["s11_operations"]

#: A block of the local stack with a Kustomization and HelmReleases.
BLOCK = "user-management"
_FLUX_KINDS = (
    "gitrepositories,ocirepositories,buckets,helmrepositories,helmcharts,kustomizations,helmreleases"
)


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def _serving(url: str, page: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.poll() is not None:
            raise RuntimeError(f"the status page exited with {page.returncode}")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"the status page did not answer at {url} within {timeout:.0f} s")


def s11_operations(b: Bench) -> Result:
    res = Result("11", "Operating a cluster: `status`, `reconcile` of one block, the status page")
    work = b.work / "operations"
    served, cluster, env = flux_work(work)
    status_t: list[float] = []
    kubectl_t: list[float] = []
    reconcile_t: list[float] = []
    page_t: list[float] = []
    page: subprocess.Popen[bytes] | None = None
    try:
        project = local_stack_up(served, cluster, env)
        where = ["--stack", STACK, "--project", str(project)]
        for i in b.iterations():
            base, _ = cluster.kubectl("get", _FLUX_KINDS, "-A")
            # exit 1: something is not Ready, still a full status
            took, _ = run([CLI, "status", *where], cwd=project, env=env, ok=(0, 1))
            again, _ = run([CLI, "reconcile", *where, BLOCK], cwd=project, env=env)
            if b.counted(i):
                kubectl_t.append(base)
                status_t.append(took)
                reconcile_t.append(again)
            log(f"11: kubectl get {base:.2f}s, status {took:.2f}s, reconcile {BLOCK} {again:.1f}s")
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        log_file = (work / "page.log").open("wb")
        page = popen(
            [CLI, "status", *where, "--serve", f"127.0.0.1:{port}"],
            cwd=project,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        _serving(url, page)
        for i in b.iterations():
            took = _get(url)
            if b.counted(i):
                page_t.append(took)
    finally:
        if page is not None:
            stop(page, grace=30)
        cluster.dev.down(purge=True)
    status_s, kubectl_s = Stats(status_t), Stats(kubectl_t)
    ratio = status_s.median / kubectl_s.median
    v, why = verdict(status_s.median <= 1.0, f"{status_s.median:.2f} s > 1 s")
    res.rows = [
        Row(f"baseline: kubectl get {_FLUX_KINDS} -A (what `flux get all -A` lists)", kubectl_s),
        Row(
            "eoepca-gitops status --stack local (stack, Flux, source, every block)",
            status_s,
            ratio=ratio,
            goal="<= 1 s",
            verdict=v,
            reason=why,
        ),
        Row(f"eoepca-gitops reconcile --stack local {BLOCK}: request to Ready", Stats(reconcile_t)),
        Row("status page: GET / (every block of the stack)", Stats(page_t)),
    ]
    res.headline = (
        f"status {status_s.median:.2f} s vs kubectl get {kubectl_s.median:.2f} s = {ratio:.1f}x; "
        f"reconcile {Stats(reconcile_t).median:.1f} s; page {Stats(page_t).median * 1000:.0f} ms"
    )
    res.notes = [
        "On a fresh dev cluster with the real Flux controllers, after `pulumi up` of the local stack.",
        "`status` also reads the stack's last update from the Pulumi state (one `pulumi stack history` "
        "call), which `flux get` has no counterpart for.",
        f"`reconcile` asks Flux to reconcile the Git source, then {BLOCK}'s Kustomization and "
        "HelmReleases, and returns when each reports the new reconciliation.",
    ]
    return res
