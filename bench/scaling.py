"""Scenarios 7 and 8 (scaling with the number of HelmReleases, YAML loading) and the profile run."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import yaml

from bench import profile
from bench.context import (
    Bench,
    engine_events,
    summary,
)
from bench.harness import (
    SHARED_FLUX,
    Pulumi,
    Stats,
    log,
    make_project,
    tools_env,
)
from bench.report import Result, Row, verdict

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
