"""Scenario 17: `tree` of the local stack's largest block and `trace` of one object a HelmRelease made,
on the real Flux after `pulumi up`, each beside the kubectl reads of what `flux tree kustomization`
and `flux trace` read (the flux CLI itself is not served here), in the same run."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from bench.context import Bench
from bench.flux_runs import flux_project, flux_work
from bench.harness import CLI, STACK, Pulumi, Stats, cpu_seconds, log, run
from bench.report import Result, Row, verdict

__all__ = ["s17_tree_trace"]


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node["children"]:
        yield from _nodes(child)


def _kubectl_reads(root: dict[str, Any]) -> list[list[str]]:
    """What `flux tree` reads, as kubectl calls: every object of the tree, one `get` per namespace
    (kind/name arguments), and the Helm release Secrets of the namespaces with HelmReleases."""
    by_namespace: dict[str, list[str]] = defaultdict(list)
    helm_namespaces = set()
    for node in list(_nodes(root))[1:]:
        by_namespace[node["namespace"]].append(f"{node['kind'].lower()}/{node['name']}")
        if node["kind"] == "HelmRelease":
            helm_namespaces.add(node["namespace"])
    calls = [["get", *names, "-o", "json", *(["-n", ns] if ns else [])] for ns, names in by_namespace.items()]
    calls += [
        ["get", "secrets", "-l", "owner=helm", "-n", ns, "-o", "json"] for ns in sorted(helm_namespaces)
    ]
    return calls


def s17_tree_trace(b: Bench) -> Result:
    res = Result("17", "`tree` of the largest block and `trace` of one object vs the kubectl reads of flux")
    served, cluster, env = flux_work(b.work / "inspect")
    tree_t: list[float] = []
    tree_base: list[float] = []
    trace_t: list[float] = []
    trace_base: list[float] = []
    cpu: dict[str, list[float]] = {"tree": [], "tree kubectl": [], "trace": [], "trace kubectl": []}
    try:
        cluster.dev.up(flux=True, git_repo=served)
        project = flux_project(served, cluster)
        pulumi = Pulumi(project, env)
        pulumi.init()
        pulumi("up", "--yes", "--skip-preview")
        where = ["--stack", STACK, "--project", str(project)]
        _, every = run([CLI, "tree", *where, "-o", "json"], cwd=project, env=env, ok=(0, 1))
        roots = json.loads(every.stdout)
        largest = max(roots, key=lambda r: len(list(_nodes(r))))
        block, size = largest["name"], len(list(_nodes(largest)))
        deployment = next(n for n in _nodes(largest) if n["kind"] == "Deployment")
        target = [f"deployment/{deployment['name']}", "-n", deployment["namespace"]]
        release = next(n for n in _nodes(largest) if n["kind"] == "HelmRelease")
        trace_reads = [
            ["get", *target, "-o", "json"],
            ["get", f"helmrelease/{release['name']}", "-n", release["namespace"], "-o", "json"],
            ["get", "gitrepository/flux-system", "-n", "flux-system", "-o", "json"],
        ]
        for i in b.iterations():
            counted = b.counted(i)
            with cpu_seconds(cpu["tree kubectl"], counted):
                base = sum(cluster.kubectl(*call)[0] for call in _kubectl_reads(largest))
            with cpu_seconds(cpu["tree"], counted):
                took, _ = run([CLI, "tree", *where, "--block", block], cwd=project, env=env, ok=(0, 1))
            with cpu_seconds(cpu["trace kubectl"], counted):
                base_trace = sum(cluster.kubectl(*call)[0] for call in trace_reads)
            with cpu_seconds(cpu["trace"], counted):
                traced, _ = run([CLI, "trace", *where, *target], cwd=project, env=env, ok=(0, 1))
            if counted:
                tree_base.append(base)
                tree_t.append(took)
                trace_base.append(base_trace)
                trace_t.append(traced)
            log(f"17: tree {block} {took:.2f}s (kubectl {base:.2f}s), trace {traced:.2f}s")
    finally:
        cluster.dev.down(purge=True)
    tree_s, trace_s = Stats(tree_t), Stats(trace_t)
    tree_k, trace_k = Stats(tree_base), Stats(trace_base)
    v_tree, why_tree = verdict(tree_s.median <= 1.0, f"{tree_s.median:.2f} s > 1 s")
    v_trace, why_trace = verdict(trace_s.median <= 1.0, f"{trace_s.median:.2f} s > 1 s")
    calls = len(_kubectl_reads(largest))
    res.rows = [
        Row(f"baseline: the kubectl reads of `flux tree kustomization {block}` ({calls} calls)", tree_k),
        Row(
            f"eoepca-gitops tree --stack local --block {block} ({size} nodes)",
            tree_s, ratio=tree_s.median / tree_k.median, goal="<= 1 s", verdict=v_tree, reason=why_tree,
        ),
        Row("baseline: the kubectl reads of `flux trace` (object, HelmRelease, source: 3 calls)", trace_k),
        Row(
            f"eoepca-gitops trace --stack local {' '.join(target)}",
            trace_s, ratio=trace_s.median / trace_k.median, goal="<= 1 s", verdict=v_trace, reason=why_trace,
        ),
    ]  # fmt: skip
    res.rows += [
        Row(f"CPU: {what} (its processes' user + system)", Stats(cpu[what]), ratio=ratio)
        for what, ratio in (
            ("tree kubectl", None),
            ("tree", Stats(cpu["tree"]).median / Stats(cpu["tree kubectl"]).median),
            ("trace kubectl", None),
            ("trace", Stats(cpu["trace"]).median / Stats(cpu["trace kubectl"]).median),
        )
    ]
    res.headline = "; ".join(
        f"{what} {mine.median:.2f} s vs kubectl {base.median:.2f} s = {mine.median / base.median:.1f}x"
        for what, mine, base in (("tree", tree_s, tree_k), ("trace", trace_s, trace_k))
    )
    res.notes = [
        "On a fresh dev cluster with the real Flux controllers, after `pulumi up` of the local stack.",
        "The baselines are what the flux CLI reads, as kubectl calls (each a process of its own); flux "
        "itself is not served here.",
        "The CPU rows say how much work each is, whatever else shares the machine's two cores.",
        "`trace` also reads the stack's last update (one `pulumi stack history`, meanwhile) for the "
        "commit of what Pulumi applied, which `flux trace` has no counterpart for.",
    ]
    return res
