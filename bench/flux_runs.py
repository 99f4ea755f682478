"""Scenario 9: the whole chain with the real Flux controllers. `pulumi up --stack local` (await on) from
an empty cluster until Flux reports every HelmRelease Ready, against the same objects applied with
`kubectl apply --server-side` and then waited on with `kubectl wait` for the same Ready conditions;
and the controllers' memory while idle."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import yaml

from bench.context import Bench, render, split_for_kubectl
from bench.harness import STACK, Cluster, Pulumi, Stats, log, tools_env, vm_rss
from bench.report import Result, Row, verdict
from eoepca_gitops.devcluster.flux import CONTROLLERS
from eoepca_gitops.devcluster.snapshot import snapshot_repository
from eoepca_gitops.devcluster.tools import REPO_ROOT
from eoepca_gitops.project import stack_file_name

_WAIT = "600s"


def flux_project(work: Path, cluster: Cluster) -> Path:
    """The served snapshot, its local stack pointed at the cluster's Git server and chart repository."""
    info = cluster.dev.info()
    assert info is not None and info.git_url and info.charts_url
    project = work
    stack_file = project / stack_file_name(STACK)
    raw = yaml.safe_load(stack_file.read_text())
    config = raw["config"]
    config["eoepca-gitops:git"]["url"] = info.git_url
    config["eoepca-gitops:charts"]["mirror"] = info.charts_url.rstrip("/")
    config.pop("eoepca-gitops:kubeContext", None)
    config["eoepca-gitops:kubeconfig"] = str(cluster.kubeconfig)
    stack_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    return project


def flux_work(work: Path) -> tuple[Path, Cluster, dict[str, str]]:
    """A snapshot of this checkout to serve, a cluster with the real Flux (not started yet), and the
    environment of the local stack (own state backend, the shared Flux manifests)."""
    served = snapshot_repository(REPO_ROOT, work / "repo")
    env = {**tools_env(work / "state"), "EOEPCA_FLUX_MANIFESTS": str(REPO_ROOT.parent / "shared" / "flux")}
    env["PULUMI_CONFIG_PASSPHRASE"] = "local"
    return served, Cluster(work / "cluster", flux=True), env


def local_stack_up(served: Path, cluster: Cluster, env: dict[str, str]) -> Path:
    """The cluster started and the local stack `pulumi up`ed on it; returns the project."""
    cluster.dev.up(flux=True, git_repo=served)
    project = flux_project(served, cluster)
    pulumi = Pulumi(project, env)
    pulumi.init()
    pulumi("up", "--yes", "--skip-preview")
    return project


def s9_flux(b: Bench) -> Result:
    res = Result("9", "Flux end to end: `pulumi up` until every HelmRelease is Ready vs kubectl apply + wait")
    work = b.work / "flux"
    served, cluster, env = flux_work(work)
    pulumi = Pulumi(served, env)
    pulumi.init()
    base_t: list[float] = []
    up_t: list[float] = []
    releases = 0
    try:
        for i in b.iterations(reps=max(1, b.settings.reps // 2)):

            def fresh() -> Path:
                """A fresh cluster (new ports): the stack file follows its Git server and chart repository."""
                cluster.dev.down(purge=True)
                cluster.dev.up(flux=True, git_repo=served)
                return flux_project(served, cluster)

            project = fresh()
            rendered = work / "render"
            shutil.rmtree(rendered, ignore_errors=True)
            render(project, STACK, rendered, env=env)
            first, rest = split_for_kubectl(rendered, work / "kubectl")
            started = time.perf_counter()
            cluster.kubectl("apply", "--server-side", "-f", str(first))
            cluster.kubectl("wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")
            cluster.kubectl("apply", "--server-side", "-f", str(rest))
            for kind in ("kustomizations", "helmreleases"):
                cluster.kubectl("wait", "--for=condition=Ready", kind, "--all", "-A", f"--timeout={_WAIT}")
            base = time.perf_counter() - started
            fresh()
            pulumi.reset()
            up, _ = pulumi("up", "--yes", "--skip-preview")
            _, listed = cluster.kubectl("get", "helmreleases", "-A", "-o", "name")
            releases = len(listed.stdout.split())
            if b.counted(i):
                base_t.append(base)
                up_t.append(up)
            log(f"9: kubectl apply + wait {base:.1f}s, pulumi up (await) {up:.1f}s ({releases} releases)")
        # The controllers at rest: the stack applied and nothing changing.
        time.sleep(30)
        pids = {c.name: cluster.pids().get(c.name) for c in CONTROLLERS}
        rss = {name: vm_rss(pid) / 1e6 for name, pid in pids.items() if pid}
    finally:
        cluster.dev.down(purge=True)
    base_s, up_s = Stats(base_t), Stats(up_t)
    ratio = up_s.median / base_s.median
    v, why = verdict(ratio <= 1.5, f"{ratio:.2f}x > 1.5x")
    res.rows = [
        Row(
            f"baseline: kubectl apply --server-side, then kubectl wait Ready ({releases} HelmReleases)",
            base_s,
        ),
        Row(
            "pulumi up --skip-preview with await: returns when Flux reports all Ready",
            up_s,
            ratio=ratio,
            goal="<= 1.5x",
            verdict=v,
            reason=why,
        ),
    ]
    res.headline = f"{up_s.median:.0f} s vs {base_s.median:.0f} s = {ratio:.2f}x; idle RSS " + ", ".join(
        f"{n} {mb:.0f} MB" for n, mb in rss.items()
    )
    res.notes = [
        "Both on a fresh dev cluster with the real source-, kustomize-, helm- and notification-controller "
        "(host processes) and stand-in charts; the time is until Flux reports every Kustomization and "
        "HelmRelease Ready (what `await` waits for).",
        f"Controllers' RSS 30 s after the last update: {rss}.",
    ]
    return res
