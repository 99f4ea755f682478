"""Scenario 13: the pull-request checks. The review job's steps (`scripts/pr-review.sh`: render and
validate every shipped stack, the three-layer diff of every stack, markdown and JSON from one run) on a warm
cache, for a pull request that bumps a chart version and changes a value; the engine tools' set-up:
with everything cached, by release download served on 127.0.0.1 (the cached binaries packaged in each
project's release layout, with a pin table of their checksums), and cold from the Go module proxy
(the figures of docs/engine.md: nothing can be downloaded here)."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from bench.context import Bench
from bench.harness import CLI, REPO, SHARED_FLUX, Stats, log, run
from bench.report import Result, Row, verdict
from eoepca_gitops.devcluster.charts import charts_of_project, server_argv, write_repository
from eoepca_gitops.devcluster.ports import free_port
from eoepca_gitops.devcluster.tools import tools_bin_dir
from eoepca_gitops.project import stack_file_name

__all__ = ["s13_pr_checks"]

TOOLS_SH = REPO / "scripts" / "tools.sh"
#: The cold build of every engine tool on this machine (docs/engine.md, 2026-11-26 and -30).
COLD_BUILD_SECONDS = 2270
#: The tools with a release layout tools.sh knows, as (tools.sh argument, [(tool, member or None)]).
DOWNLOADABLE = (
    ("pulumi", [("pulumi", "pulumi/pulumi")]),
    ("kubernetes-provider", [("pulumi-resource-kubernetes", "pulumi-resource-kubernetes")]),
    ("kubernetes", [(b, None) for b in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")]),
    ("etcd", [("etcd", "etcd-{v}-linux-amd64/etcd")]),
    ("kwok", [("kwok", None)]),
    ("helm", [("helm", "linux-amd64/helm")]),
)


def _variable(name: str) -> str:
    for line in TOOLS_SH.read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise RuntimeError(f"{name} not in scripts/tools.sh")


def _git(project: Path, *args: str) -> str:
    return run(["git", "-C", str(project), *args])[1].stdout.strip()


def _commit(project: Path, message: str) -> str:
    _git(project, "-c", "user.name=b", "-c", "user.email=b@example.invalid", "commit", "-qam", message)
    return _git(project, "rev-parse", "HEAD")


def _pull_request(work: Path, mirror: str, charts: Path) -> tuple[Path, str]:
    """A clone of the committed project whose local stack takes its charts from `mirror` (the base
    commit), then a pull request bumping one chart version and changing one value of the local stack;
    `charts` gets the stand-in charts both revisions name. Returns the project and the base revision."""
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(project)])
    (project / ".venv").symlink_to(REPO / ".venv")
    stack_file = project / stack_file_name("local")
    stack = yaml.safe_load(stack_file.read_text())
    stack["config"]["eoepca-gitops:charts"]["mirror"] = mirror
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))
    base = _commit(project, "base")
    base_charts = charts_of_project(project)
    change = {"version": "1.0.10", "values": {"replicaCount": 2}}
    stack["config"].setdefault("eoepca-gitops:overrides", {})["system-demo"] = {
        "releases": {"eoepca-portal": change}
    }
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))
    _commit(project, "pull request")
    write_repository({*base_charts, *charts_of_project(project)}, charts)
    return project, base


@contextmanager
def _served(root: Path) -> Iterator[int]:
    """Static files of `root` on a free 127.0.0.1 port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _review(b: Bench, res: Result) -> None:
    work = b.work / "pr-review"
    charts, port = work / "charts", free_port()
    charts.mkdir(parents=True)
    chart_server = subprocess.Popen(
        server_argv(charts, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        project, base = _pull_request(work, f"http://127.0.0.1:{port}", charts)
        cli = os.environ.get("EOEPCA_GITOPS", CLI)
        env = {
            **os.environ,
            "PATH": f"{tools_bin_dir()}:{Path(CLI).parent}:{os.environ['PATH']}",
            "EOEPCA_FLUX_MANIFESTS": str(SHARED_FLUX),
            "EOEPCA_GITOPS": cli,
        }
        stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project.glob("Pulumi.*.yaml"))
        review: list[float] = []
        render: list[float] = []
        for i in b.iterations():
            took, _ = run(["scripts/pr-review.sh", base, "review"], cwd=project, env=env)
            rendered = [
                run(
                    [cli, "render", "--stack", s, "--out", f"rendered/{s}", "--flux-layer"],
                    cwd=project,
                    env=env,
                )[0]
                for s in stacks
            ]
            if b.counted(i):
                review.append(took)
                render.append(sum(rendered))
            log(f"13: pr-review.sh {took:.1f}s (render of {len(stacks)} stacks alone {sum(rendered):.1f}s)")
        size = len((project / "review" / "diff.md").read_text())
    finally:
        chart_server.terminate()
        chart_server.wait(timeout=30)
    s, r = Stats(review), Stats(render)
    v, why = verdict(s.median <= 60, f"{s.median:.0f} s > 60 s")
    res.rows += [
        Row(f"reference: `render --flux-layer` of the {len(stacks)} shipped stacks ({', '.join(stacks)})", r),
        Row(
            f"review job's steps: `scripts/pr-review.sh` (render + validate + three-layer diff of "
            f"{len(stacks)} stacks, markdown and JSON; {size} characters of markdown)",
            s,
            ratio=s.median / r.median,
            goal="<= 60 s",
            verdict=v,
            reason=why,
        ),
    ]
    res.headline = f"review job's steps {s.median:.1f} s for {len(stacks)} stacks"


def _release_layout(dest: Path) -> tuple[Path, int]:
    """The cached binaries as each project releases them (under github/, helm/, k8s/) and a pin
    table of their sha256; returns the pin file and the bytes served."""
    versions = {
        "pulumi": _variable("PULUMI_VERSION"),
        "pulumi-resource-kubernetes": _variable("K8S_PROVIDER_VERSION"),
        "kube-apiserver": _variable("K8S_VERSION"),
        "kube-controller-manager": _variable("K8S_VERSION"),
        "kube-scheduler": _variable("K8S_VERSION"),
        "etcd": _variable("ETCD_VERSION"),
        "kwok": _variable("KWOK_VERSION"),
        "helm": _variable("HELM_VERSION"),
    }
    paths = {
        "pulumi": "github/pulumi/pulumi/releases/download/{v}/pulumi-{v}-linux-x64.tar.gz",
        "pulumi-resource-kubernetes": "github/pulumi/pulumi-kubernetes/releases/download/v{v}/"
        "pulumi-resource-kubernetes-v{v}-linux-amd64.tar.gz",
        "kube-apiserver": "k8s/release/{v}/bin/linux/amd64/kube-apiserver",
        "kube-controller-manager": "k8s/release/{v}/bin/linux/amd64/kube-controller-manager",
        "kube-scheduler": "k8s/release/{v}/bin/linux/amd64/kube-scheduler",
        "etcd": "github/etcd-io/etcd/releases/download/{v}/etcd-{v}-linux-amd64.tar.gz",
        "kwok": "github/kubernetes-sigs/kwok/releases/download/{v}/kwok-linux-amd64",
        "helm": "helm/helm-{v}-linux-amd64.tar.gz",
    }
    pins, served = [], 0
    for _, tools in DOWNLOADABLE:
        for tool, member in tools:
            v = versions[tool]
            binary = (tools_bin_dir() / tool).resolve().read_bytes()
            if member is None:
                data = binary
            else:
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
                    info = tarfile.TarInfo(member.format(v=v))
                    info.size, info.mode = len(binary), 0o755
                    tar.addfile(info, io.BytesIO(binary))
                data = buf.getvalue()
            target = dest / paths[tool].format(v=v)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            served += len(data)
            pins.append(f"{tool} {v} {hashlib.sha256(data).hexdigest()}\n")
    pin_file = dest.parent / "pins"
    pin_file.write_text("".join(pins))
    return pin_file, served


def _tools(b: Bench, res: Result) -> None:
    work = b.work / "tools-download"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    pins, served = _release_layout(work / "served")
    args = [name for name, _ in DOWNLOADABLE]
    cached: list[float] = []
    downloaded: list[float] = []
    with _served(work / "served") as port:
        root = f"http://127.0.0.1:{port}"
        for i in b.iterations():
            tools_dir, home = work / f"tools-{i}", work / f"pulumi-home-{i}"
            env = {
                **os.environ,
                "EOEPCA_TOOLS_DIR": str(tools_dir),
                "EOEPCA_TOOLS_PINS": str(pins),
                "EOEPCA_GITHUB_RELEASES": f"{root}/github",
                "EOEPCA_HELM_RELEASES": f"{root}/helm",
                "EOEPCA_K8S_RELEASES": f"{root}/k8s",
                "PULUMI_HOME": str(home),
            }
            env["PATH"] = ":".join(p for p in env["PATH"].split(":") if Path(p) != tools_bin_dir())
            took, proc = run(["bash", str(TOOLS_SH), *args], env=env)
            if "building" in proc.stderr:
                raise RuntimeError(f"a tool was built instead of downloaded:\n{proc.stderr[-2000:]}")
            again, _ = run(["bash", str(TOOLS_SH), *args], env=env)
            if b.counted(i):
                downloaded.append(took)
                cached.append(again)
            log(f"13: tools by download {took:.1f}s, then cached {again:.2f}s")
            shutil.rmtree(tools_dir, ignore_errors=True)
            shutil.rmtree(home, ignore_errors=True)
    d = Stats(downloaded)
    res.rows += [
        Row("tools.sh, everything cached (pulumi, provider, kube-*, etcd, kwok, helm)", Stats(cached)),
        Row(
            f"tools.sh, the same by release download served on 127.0.0.1 ({served / 1e6:.0f} MB: fetched, "
            "sha256 checked, unpacked, installed; the provider also into the plugin cache)",
            d,
        ),
        Row(
            "reference: cold build of every engine tool from the Go module proxy (docs/engine.md; "
            "download unreachable, as here)",
            value=str(COLD_BUILD_SECONDS),
            ratio=COLD_BUILD_SECONDS / d.median,
        ),
    ]
    res.headline += f"; tools by local download {d.median:.0f} s vs cold build {COLD_BUILD_SECONDS} s"


def s13_pr_checks(b: Bench) -> Result:
    res = Result("13", "Pull-request checks: the review job's steps; the engine tools' set-up")
    _review(b, res)
    _tools(b, res)
    res.notes = [
        "The review runs on a clone of the committed project with a pull request that bumps the chart of "
        "one HelmRelease of the local stack and changes one of its values; the local stack's charts are the "
        "dev cluster's stand-ins served on 127.0.0.1 (the shipped creodias and minikube stacks name public "
        "chart repositories, which this machine cannot reach: their releases do not change here). Warm "
        "cache: the Flux install manifests and the charts are on disk.",
        "The download path: the binaries tools.sh built, packaged in each project's release layout (gzip "
        "level 6 for the archives), served by Python's HTTP server on 127.0.0.1 with a pin table of their "
        "sha256 (EOEPCA_TOOLS_PINS): what the script itself costs; on GitHub the transfer adds its time. "
        "Flux's controllers have no release binary: they are built (or come from the cache) either way.",
    ]
    return res
