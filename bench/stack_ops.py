"""Scenarios 1-4: pulumi preview, up from empty, one changed value, render; each against its baseline."""

from __future__ import annotations

import json
import os
import shutil
import sys

import yaml

from bench.context import (
    PORTAL,
    PORTAL_PATH,
    Bench,
    engine_events,
    render,
    split_for_kubectl,
    summary,
    touched,
)
from bench.harness import (
    CLI,
    CREODIAS_TREE,
    KUBECTL,
    REPO,
    STACK,
    Stats,
    log,
    run,
)
from bench.report import Result, Row, verdict

# Schema validation of what `render --flux-layer` writes, in a new process each time (as render pays
# it: the Kubernetes OpenAPI documents read and each kind's schema compiled); prints seconds, objects.
_VALIDATE = """
import sys, time
from pathlib import Path
from eoepca_gitops.cli.validate import stack_catalog, stack_objects
from eoepca_gitops.schemas import validate
repo = Path(sys.argv[1])
model, objects = stack_objects(sys.argv[2], repo, flux_layer=True)
start = time.perf_counter()
problems = validate(objects.items(), stack_catalog(model))
print(time.perf_counter() - start, len(objects), sum(not p.note for p in problems))
"""


def _validation_seconds(stack: str) -> tuple[float, int]:
    seconds, objects, errors = run([sys.executable, "-c", _VALIDATE, str(REPO), stack])[1].stdout.split()
    if errors != "0":
        raise RuntimeError(
            f"{stack}: {errors} schema problems (eoepca-gitops validate --stack {stack} --flux-layer)"
        )
    return float(seconds), int(objects)


# ---- 2: up from empty ---------------------------------------------------------------------------


def s2_up_from_empty(b: Bench) -> Result:
    res = Result("2", "`pulumi up` from an empty cluster vs `kubectl apply --server-side`")
    rendered = b.work / "render-local"
    render(b.project, STACK, rendered, env=b.env)
    first, rest = split_for_kubectl(rendered, b.work / "kubectl-local")
    n_objects = len(list(rendered.rglob("*.yaml")))
    apply_t: list[float] = []
    avail_t: list[float] = []
    up_t: list[float] = []
    created = 0
    for i in b.iterations():
        b.cluster.fresh()
        a1, _ = b.cluster.kubectl("apply", "--server-side", "-f", str(first))
        a2, _ = b.cluster.kubectl("wait", "--for", "condition=established", "crd", "--all", "--timeout=120s")
        a3, _ = b.cluster.kubectl("apply", "--server-side", "-f", str(rest))
        a4, _ = b.cluster.kubectl(
            "wait", "--for=condition=Available", "deployment", "--all", "-n", "flux-system", "--timeout=180s"
        )
        b.cluster.fresh()
        b.pulumi.reset()
        t, proc = b.pulumi("up", "--yes", "--skip-preview", "--json")
        created = summary(engine_events(proc.stdout)).get("create", 0)
        if b.counted(i):
            apply_t.append(a1 + a2 + a3)
            avail_t.append(a1 + a2 + a3 + a4)
            up_t.append(t)
        log(f"2: kubectl {a1 + a2 + a3:.2f}s (+wait {a4:.2f}s), pulumi up {t:.2f}s ({created} created)")
    b.replicas = 1
    base, base_avail, up = Stats(apply_t), Stats(avail_t), Stats(up_t)
    ratio = up.median / base.median
    v, why = verdict(ratio <= 3, f"{ratio:.1f}x > 3x")
    res.rows = [
        Row(
            f"baseline: kubectl apply --server-side ({n_objects} objects; namespaces+CRDs, wait "
            "established, rest)",
            base,
        ),
        Row(
            "reference: the same + `kubectl wait` Deployments Available (what Pulumi also awaits)",
            base_avail,
            ratio=base_avail.median / base.median,
        ),
        Row(
            f"pulumi up --skip-preview ({created} resources created)",
            up,
            ratio=ratio,
            goal="<= 3x",
            verdict=v,
            reason=why,
        ),
        Row(
            "pulumi up vs kubectl apply + wait Available",
            None,
            value=f"{up.median / base_avail.median:.2f}x",
            unit="ratio",
        ),
    ]
    res.headline = f"up {up.median:.1f} s vs kubectl apply {base.median:.1f} s = {ratio:.1f}x"
    res.notes = [
        "Each run starts on a new, empty dev cluster (etcd data deleted) and an empty stack; cluster "
        "start is not timed.",
        "Pulumi also waits for the 4 Flux Deployments to become Available (through kwok's fake node) and "
        "for each object's readiness; plain `kubectl apply` returns as soon as the API server has "
        "accepted the objects, hence the second reference row.",
        f"{created - n_objects} of the {created} Pulumi resources are not Kubernetes objects (stack, "
        "provider, component resources).",
    ]
    return res


# ---- 1: preview ------------------------------------------------------------------------------------


def s1_preview(b: Bench) -> Result:
    res = Result("1", "`pulumi preview` (no changes, after an up) vs `kubectl diff --server-side`")
    rendered = b.work / "render-local"
    diff_t, prev_t = [], []
    for i in b.iterations():
        td, _ = b.cluster.kubectl(
            "diff", "--server-side", "--force-conflicts", "-R", "-f", str(rendered), ok=(0, 1)
        )
        tp, _ = b.pulumi("preview", "--expect-no-changes")
        if b.counted(i):
            diff_t.append(td)
            prev_t.append(tp)
        log(f"1: kubectl diff {td:.2f}s, pulumi preview {tp:.2f}s")
    base, prev = Stats(diff_t), Stats(prev_t)
    ratio = prev.median / base.median
    ok = ratio <= 2 and prev.median <= 10
    why = "; ".join(
        x
        for x in (
            f"{ratio:.1f}x > 2x" if ratio > 2 else "",
            f"{prev.median:.1f} s > 10 s" if prev.median > 10 else "",
        )
        if x
    )
    v, why = verdict(ok, why)
    res.rows = [
        Row("baseline: kubectl diff --server-side --force-conflicts -R (same rendered objects)", base),
        Row(
            "pulumi preview --expect-no-changes",
            prev,
            ratio=ratio,
            goal="<= 2x and <= 10 s",
            verdict=v,
            reason=why,
        ),
    ]
    res.headline = f"preview {prev.median:.2f} s vs kubectl diff {base.median:.2f} s = {ratio:.1f}x"
    res.notes = [
        "`--force-conflicts`: the objects' fields are owned by Pulumi's per-resource field managers, so "
        "kubectl's own manager would otherwise stop at the first conflict.",
        "`--expect-no-changes` makes each preview fail if it finds any change: every counted run "
        "confirmed a clean stack.",
    ]
    return res


# ---- 3: one value changed -------------------------------------------------------------------------


def s3_one_change(b: Bench) -> Result:
    res = Result("3", "`pulumi up` after changing one HelmRelease value")
    up_t, base_t = [], []
    bad: list[str] = []
    one = b.work / "render-one"
    for i in b.iterations():
        b.replicas += 1
        b.pulumi("config", "set", "--path", PORTAL_PATH, str(b.replicas))
        t, proc = b.pulumi("up", "--yes", "--skip-preview", "--json")
        steps = touched(engine_events(proc.stdout))
        if steps != [("update", PORTAL)]:
            bad.append(f"run {i}: {steps}")
        # baseline: the same one-object change with kubectl, as the same field manager as Pulumi's
        live = json.loads(
            b.cluster.kubectl(
                "get", "helmrelease", "-n", "demo", "eoepca-portal", "-o", "json", "--show-managed-fields"
            )[1].stdout
        )
        manager = next(
            m["manager"]
            for m in live["metadata"]["managedFields"]
            if m["manager"].startswith("pulumi-kubernetes")
        )
        b.replicas += 1
        b.pulumi("config", "set", "--path", PORTAL_PATH, str(b.replicas))
        render(b.project, STACK, one, env=b.env)
        obj = next(one.rglob("HelmRelease_demo_eoepca-portal.yaml"))
        tb, _ = b.cluster.kubectl("apply", "--server-side", "--field-manager", manager, "-f", str(obj))
        if b.counted(i):
            up_t.append(t)
            base_t.append(tb)
        log(f"3: pulumi up {t:.2f}s touched {steps}; kubectl apply one object {tb:.2f}s")
    up, base = Stats(up_t), Stats(base_t)
    only = not bad
    v, why = verdict(up.median <= 5, f"{up.median:.1f} s > 5 s")
    v2, why2 = verdict(only, "other resources touched: " + "; ".join(bad))
    res.rows = [
        Row("baseline: kubectl apply --server-side of the one changed object", base),
        Row(
            "pulumi up --skip-preview",
            up,
            ratio=up.median / base.median,
            goal="<= 5 s",
            verdict=v,
            reason=why,
        ),
        Row(
            "resources touched (from the engine's JSON events)",
            None,
            value=f"only update {PORTAL}" if only else "; ".join(bad),
            unit="",
            goal="only that resource",
            verdict=v2,
            reason=why2,
        ),
    ]
    res.headline = f"{up.median:.2f} s; touched: {'only ' + PORTAL if only else 'MORE'}"
    res.notes = [
        "Each run raises `eoepca-portal`'s `replicaCount` override with `pulumi config set --path` (not "
        "timed); the `resourcePreEvent`s of `pulumi up --json` list every step other than `same`.",
        "The kubectl baseline applies the rendered HelmRelease with Pulumi's own field manager for that "
        "object (so the next `pulumi up` meets no conflict).",
    ]
    return res


# ---- 4: render ------------------------------------------------------------------------------------


def s4_render(b: Bench) -> Result:
    from eoepca_gitops.fluxtree.kustomize import generated_resources, has_kustomization

    res = Result("4", "`eoepca-gitops render --stack creodias` vs `kubectl kustomize` of the shared tree")
    creodias = CREODIAS_TREE / "system" / "clusters" / "creodias"
    folders = [
        creodias / n for n in ("system", "user-management", "resource-management", "processing-and-chaining")
    ]
    scratch = b.work / "kustomize"
    targets = []
    for folder in folders:  # what kustomize-controller builds for each root path (not timed)
        if has_kustomization(folder):
            targets.append(folder)
            continue
        d = scratch / folder.name
        d.mkdir(parents=True, exist_ok=True)
        resources = [os.path.relpath(p, d) for p in generated_resources(folder)]
        (d / "kustomization.yaml").write_text(yaml.safe_dump({"resources": resources}))
        targets.append(d)
    env = {**os.environ, "KUBECONFIG": os.devnull}
    has_import = "import" in run([CLI, "--help"])[1].stdout
    out = b.work / "render-creodias"
    imp = b.work / "import-creodias"
    samples: dict[str, list[float]] = {
        "kustomize": [],
        "render": [],
        "flux": [],
        "import": [],
        "validate": [],
    }
    n_validated = 0
    for i in b.iterations():
        tk = 0.0
        for t in targets:
            tk += run([KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(t)], env=env)[0]
        tr = render(REPO, "creodias", out)
        tf = render(REPO, "creodias", out, "--flux-layer")
        tv, n_validated = _validation_seconds("creodias")
        ti = None
        if has_import:
            shutil.rmtree(imp, ignore_errors=True)
            ti = run(
                [
                    CLI,
                    "import",
                    str(creodias / "system"),
                    "--stack",
                    "creodias",
                    "--repo-root",
                    str(CREODIAS_TREE),
                    "--out",
                    str(imp),
                ]
            )[0]
        if b.counted(i):
            samples["kustomize"].append(tk)
            samples["render"].append(tr)
            samples["flux"].append(tf)
            samples["validate"].append(tv)
            if ti is not None:
                samples["import"].append(ti)
        log(
            f"4: kustomize {tk:.2f}s, render {tr:.2f}s, render --flux-layer {tf:.2f}s, "
            f"validation {tv:.2f}s, import {ti or 0:.2f}s"
        )
    base = Stats(samples["kustomize"])
    rows = [Row(f"baseline: kubectl kustomize of the tree's {len(targets)} Flux paths (4 processes)", base)]
    n_files = len(list(out.rglob("*.yaml")))
    for key, what in (
        ("render", f"eoepca-gitops render --stack creodias ({n_files} objects)"),
        ("flux", "eoepca-gitops render --stack creodias --flux-layer"),
        ("validate", f"of which schema validation of its {n_validated} objects (schemas read and compiled)"),
        ("import", "eoepca-gitops import of the creodias tree"),
    ):
        if not samples[key]:
            continue
        s = Stats(samples[key])
        goal, v, why = "", "", ""
        if key == "render":
            goal = "<= 1 s"
            v, why = verdict(s.median <= 1, f"{s.median:.2f} s > 1 s")
        rows.append(Row(what, s, ratio=s.median / base.median, goal=goal, verdict=v, reason=why))
    res.rows = rows
    r = Stats(samples["render"])
    res.headline = f"render {r.median:.2f} s vs kustomize {base.median:.2f} s = {r.median / base.median:.1f}x"
    res.notes = [
        "Whole command runs (a new Python process each: interpreter start and imports included).",
        "Folders without a kustomization.yaml get the one kustomize-controller generates, written once "
        "before the runs; `--flux-layer` runs the same `kubectl kustomize` builds itself.",
        "Both render rows include the schema validation render does before writing; its own row is timed "
        "in a new process each run (`validate()` with a new catalog: Kubernetes' OpenAPI documents read, "
        "each kind's schema compiled), after the objects are built.",
    ]
    if not has_import:
        res.notes.append("`eoepca-gitops import` does not exist in this revision: not measured.")
    return res
