"""Scenario 12: `eoepca-gitops diff` of one stack with a chart bump (the local stack, login-service
1.2.8 -> 1.2.9 from the bench cluster's chart repository: three layers, the Helm layer rendered with
helm) against `kubectl diff --server-side` of the same objects on the cluster, and against the
by-hand way: `kubectl kustomize` of the stack's Flux paths at both revisions, `helm template` of the
release at both chart versions, `diff -u`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from bench.context import Bench, render, split_for_kubectl
from bench.harness import CLI, KUBECTL, REPO, STACK, Stats, cpu_seconds, log, run
from bench.report import Result, Row, verdict
from eoepca_gitops.devcluster import charts
from eoepca_gitops.devcluster.snapshot import snapshot_repository
from eoepca_gitops.devcluster.tools import find_binary
from eoepca_gitops.fluxtree.kustomize import generated_resources, has_kustomization
from eoepca_gitops.project import stack_file_name

__all__ = ["s12_diff"]

FOLDER = "bench-diff"  # the chart repository's folder of this scenario
RELEASE, CHART, BASE, HEAD = "um-login-service", "login-service", "1.2.8", "1.2.9"
BLOCK = "user-management"


def _set(project: Path, change: dict[str, object]) -> None:
    path = project / stack_file_name(STACK)
    raw = yaml.safe_load(path.read_text())
    raw["config"].update(change)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def _git(repo: Path, *args: str) -> None:
    run(["git", "-C", str(repo), "-c", "user.email=b@b", "-c", "user.name=b", *args])


def _flux_paths(rendered: Path) -> list[str]:
    """The Git paths of the stack's Kustomizations (what Flux builds from this repository)."""
    paths = []
    for file in sorted(rendered.rglob("Kustomization_*.yaml")):
        spec = yaml.safe_load(file.read_text())["spec"]
        if spec["sourceRef"].get("kind") == "GitRepository":
            paths.append(spec["path"])
    return paths


def _kustomize_target(project: Path, path: str, scratch: Path) -> Path:
    """The folder kustomize builds for a Flux path (the generated kustomization where there is none)."""
    folder = (project / path).resolve()
    if has_kustomization(folder):
        return folder
    target = scratch / path.strip("./").replace("/", "_")
    target.mkdir(parents=True, exist_ok=True)
    resources = [os.path.relpath(p, target) for p in generated_resources(folder)]
    (target / "kustomization.yaml").write_text(yaml.safe_dump({"resources": resources}))
    return target


def _by_hand(project: Path, paths: list[str], charts_dir: Path, helm: str, values: str) -> float:
    """What a reviewer runs by hand; returns its wall time."""
    env = {**os.environ, "KUBECONFIG": os.devnull}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-by-hand-") as tmp:
        work = Path(tmp)
        base = work / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(project), "archive", "HEAD"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        for side, root, version in (("a", base, BASE), ("b", project, HEAD)):
            out = work / side
            out.mkdir()
            for i, path in enumerate(paths):
                target = _kustomize_target(root, path, work / f"gen-{side}")
                built = subprocess.run(
                    [KUBECTL, "kustomize", str(target)], capture_output=True, text=True, env=env, check=True
                )
                (out / f"{i:02d}.yaml").write_text(built.stdout)
            rendered = subprocess.run(
                [
                    helm,
                    "template",
                    RELEASE,
                    str(charts_dir / f"{CHART}-{version}.tgz"),
                    "-n",
                    "um",
                    "-f",
                    str(values),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            (out / "helm.yaml").write_text(rendered.stdout)
        subprocess.run(["diff", "-ruN", str(work / "a"), str(work / "b")], capture_output=True, check=False)
    return time.perf_counter() - started


def s12_diff(b: Bench) -> Result:
    res = Result("12", "`eoepca-gitops diff` of a chart bump vs `kubectl diff --server-side` and by hand")
    helm = find_binary("helm")
    if helm is None:
        raise RuntimeError("helm is not built: `scripts/tools.sh helm`")
    info = b.cluster.dev.info()
    assert info is not None and info.charts_url
    work = b.work / "diff"
    project = snapshot_repository(REPO, work / "repo")
    _set(project, {"eoepca-gitops:charts": {"mirror": f"{info.charts_url}{FOLDER}"}})
    _git(project, "commit", "-qam", "base")
    chart_root = b.cluster.dev.layout.charts / FOLDER
    refs = [*charts.charts_of_project(project), charts.ChartRef("eoepca", CHART, HEAD)]
    charts.write_repository(refs, chart_root, charts.repositories_of_project(project))
    env = {**b.env, "EOEPCA_CACHE_DIR": str(work / "cache")}
    where = ["--stack", STACK, "--project", str(project)]

    # The cluster holds the base: the Pulumi layer and the release's rendered objects (not timed).
    base_render, head_render = work / "render-base", work / "render-head"
    render(project, STACK, base_render, env=env)
    values = work / "values.yaml"
    hr = yaml.safe_load(next(base_render.rglob(f"HelmRelease_um_{RELEASE}.yaml")).read_text())
    values.write_text(yaml.safe_dump(hr["spec"].get("values") or {}))
    _set(project, {"eoepca-gitops:overrides": {BLOCK: {"releases": {RELEASE: {"version": HEAD}}}}})
    render(project, STACK, head_render, env=env)
    for version, target in ((BASE, base_render), (HEAD, head_render)):
        chart = chart_root / "eoepca" / f"{CHART}-{version}.tgz"
        out = run([str(helm), "template", RELEASE, str(chart), "-n", "um", "-f", str(values)])[1].stdout
        docs = [d for d in yaml.safe_load_all(out) if d]
        for d in docs:  # as helm-controller applies them: in the release's namespace
            d["metadata"].setdefault("namespace", "um")
        (target / "helm").mkdir(exist_ok=True)
        for i, d in enumerate(docs):  # one object a file, as render writes them
            (target / "helm" / f"{i:02d}-{d['kind']}.yaml").write_text(yaml.safe_dump(d))
    first, rest = split_for_kubectl(base_render, work / "kubectl-base")
    b.cluster.kubectl("apply", "--server-side", "-f", str(first))
    b.cluster.kubectl("wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")
    b.cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(rest))
    n_objects = len(list(head_render.rglob("*.yaml")))
    paths = _flux_paths(head_render)

    diff_t, cold_t, kubectl_t, hand_t = [], [], [], []
    cpu: dict[str, list[float]] = {"hand": [], "diff": [], "cold": []}
    for i in b.iterations():
        tk, _ = b.cluster.kubectl(
            "diff", "--server-side", "--force-conflicts", "-R", "-f", str(head_render), ok=(0, 1)
        )
        with cpu_seconds(cpu["hand"], b.counted(i)):
            th = _by_hand(project, paths, chart_root / "eoepca", str(helm), str(values))
        with cpu_seconds(cpu["diff"], b.counted(i)):
            td, proc = run([CLI, "diff", *where, "--format", "markdown"], cwd=project, env=env, ok=(1,))
        if (
            f"{CHART} {BASE} -> {HEAD}" not in proc.stdout
            or "stand-in/login-service:1.2.9" not in proc.stdout
        ):
            raise RuntimeError(
                f"diff did not show the chart bump:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
            )
        # as a first run on a machine: no kustomize build kept (the charts stay cached)
        shutil.rmtree(work / "cache" / "kustomize", ignore_errors=True)
        with cpu_seconds(cpu["cold"], b.counted(i)):
            tc, _ = run([CLI, "diff", *where, "--format", "markdown"], cwd=project, env=env, ok=(1,))
        if b.counted(i):
            diff_t.append(td)
            cold_t.append(tc)
            kubectl_t.append(tk)
            hand_t.append(th)
        log(
            f"12: kubectl diff {tk:.2f}s, by hand {th:.2f}s, eoepca-gitops diff {td:.2f}s ({tc:.2f}s unbuilt)"
        )
    shutil.rmtree(work / "cache", ignore_errors=True)
    cold, _ = run([CLI, "diff", *where, "--format", "markdown"], cwd=project, env=env, ok=(1,))
    kubectl, hand, ours, unbuilt = Stats(kubectl_t), Stats(hand_t), Stats(diff_t), Stats(cold_t)
    r_kubectl, r_hand = ours.median / kubectl.median, ours.median / hand.median
    r_unbuilt = unbuilt.median / hand.median
    cpu_hand = Stats(cpu["hand"])
    v1, why1 = verdict(r_kubectl <= 3, f"{r_kubectl:.1f}x > 3x")
    v2, why2 = verdict(r_hand <= 2, f"{r_hand:.1f}x > 2x")
    v3, why3 = verdict(r_unbuilt <= 2, f"{r_unbuilt:.1f}x > 2x")
    res.rows = [
        Row(
            f"baseline: kubectl diff --server-side --force-conflicts -R of the head's {n_objects} objects",
            kubectl,
        ),
        Row(
            f"baseline: by hand: git archive, kubectl kustomize of {len(paths)} Flux paths x 2 revisions, "
            "helm template x 2 chart versions, diff -ruN",
            hand,
            ratio=hand.median / kubectl.median,
        ),
        Row(
            "eoepca-gitops diff --stack local --format markdown (charts cached)",
            ours,
            ratio=r_kubectl,
            goal="<= 3x kubectl diff",
            verdict=v1,
            reason=why1,
        ),
        Row(
            "eoepca-gitops diff vs by hand",
            None,
            value=f"{r_hand:.2f}x",
            unit="ratio",
            goal="<= 2x",
            verdict=v2,
            reason=why2,
        ),
        Row(
            "eoepca-gitops diff, no kustomize build kept (the cache's kustomize/ emptied before each run)",
            unbuilt,
            ratio=unbuilt.median / kubectl.median,
        ),
        Row(
            "eoepca-gitops diff with no kustomize build kept vs by hand",
            None,
            value=f"{r_unbuilt:.2f}x",
            unit="ratio",
            goal="<= 2x",
            verdict=v3,
            reason=why3,
        ),
        Row("CPU: by hand (its processes' user + system)", cpu_hand),
        Row(
            "CPU: eoepca-gitops diff (charts cached, kustomize builds kept)",
            Stats(cpu["diff"]),
            ratio=Stats(cpu["diff"]).median / cpu_hand.median,
        ),
        Row(
            "CPU: eoepca-gitops diff, no kustomize build kept",
            Stats(cpu["cold"]),
            ratio=Stats(cpu["cold"]).median / cpu_hand.median,
        ),
        Row(
            "eoepca-gitops diff, cache folder empty (fetches both chart versions, builds every Flux path)",
            None,
            value=f"{cold:.2f}",
        ),
    ]
    res.headline = (
        f"diff {ours.median:.2f} s vs kubectl diff {kubectl.median:.2f} s = {r_kubectl:.1f}x, "
        f"vs by hand {hand.median:.2f} s = {r_hand:.1f}x"
    )
    res.notes = [
        "The local stack with `um-login-service` bumped from login-service 1.2.8 to 1.2.9 (stand-in charts "
        "of the bench cluster's chart repository). `diff` builds both layers at both revisions with the "
        "builders (the Flux layer with kubectl kustomize), renders the release with `helm template` at both "
        "versions, checks what the head renders against its schemas and writes the PR comment's markdown; "
        "whole command runs (a new Python process each).",
        "A kustomize build is kept in the cache folder by a hash of what it reads "
        "(eoepca_gitops.kustomize_cache): after the warm-up run `diff` builds nothing; the row with no "
        "build kept is a first run (both revisions' Flux paths hold the same files here: each built once).",
        "`kubectl diff` compares the head's rendered objects (the Pulumi layer and the release's rendered "
        "objects; rendering not timed) with the cluster holding the base's; the Flux layer's objects are not "
        "in its set (their CRDs come from charts this cluster does not install): in kubectl's favour.",
        "By hand, the charts are already downloaded; `diff` reads them from its chart cache after the "
        "warm-up run.",
    ]
    return res
