"""What every scenario shares: settings, the bench's project and cluster, engine-event helpers."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.harness import (
    CLI,
    Cluster,
    Pulumi,
    make_project,
    run,
    tools_env,
)

PORTAL = "HelmRelease/demo/eoepca-portal"
PORTAL_PATH = "overrides.system-demo.releases.eoepca-portal.values.replicaCount"


@dataclass
class Settings:
    reps: int = 5
    warmup: int = 1
    commits: int = 20
    idle_seconds: float = 300.0
    scale_sizes: tuple[int, ...] = (10, 50, 200)
    scale_reps: int = 3
    poll_interval: str = "10s"
    profile: bool = True


@dataclass
class Bench:
    work: Path
    cluster: Cluster
    settings: Settings
    env: dict[str, str] = field(init=False)
    project: Path = field(init=False)
    pulumi: Pulumi = field(init=False)
    replicas: int = 1  # the last eoepca-portal replicaCount given to the main stack
    breakdowns: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = tools_env(self.work / "state")
        self.project = make_project(self.work / "project", self.cluster.kubeconfig)
        self.pulumi = Pulumi(self.project, self.env)
        self.pulumi.init()

    def iterations(self, reps: int | None = None) -> range:
        return range(self.settings.warmup + (reps or self.settings.reps))

    def counted(self, i: int) -> bool:
        return i >= self.settings.warmup


def engine_events(stdout: str) -> list[dict[str, Any]]:
    events = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def touched(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(op, type/name) of every step other than `same` in `pulumi up --json` engine events."""
    out = []
    for ev in events:
        meta = (ev.get("resourcePreEvent") or {}).get("metadata")
        if meta and meta.get("op") not in ("same", "read"):
            out.append((meta["op"], meta["urn"].rsplit("::", 1)[-1]))
    return out


def summary(events: list[dict[str, Any]]) -> dict[str, int]:
    for ev in events:
        if "summaryEvent" in ev:
            return {k: int(v) for k, v in (ev["summaryEvent"].get("resourceChanges") or {}).items()}
    return {}


def render(project: Path, stack: str, out: Path, *extra: str, env: dict[str, str] | None = None) -> float:
    elapsed, _ = run(
        [CLI, "render", "--stack", stack, "--out", str(out), "--project", str(project), *extra],
        cwd=project,
        env=env,
    )
    return elapsed


def split_for_kubectl(rendered: Path, dest: Path) -> tuple[Path, Path]:
    """Rendered files in two folders for kubectl: Namespaces and CRDs first, then everything else
    (kubectl applies in file order and knows neither dependency)."""
    first, rest = dest / "1-namespaces-crds", dest / "2-rest"
    for d in (first, rest):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for i, path in enumerate(sorted(rendered.rglob("*.yaml"))):
        kind = (yaml.safe_load(path.read_text()) or {}).get("kind")
        target = first if kind in ("Namespace", "CustomResourceDefinition") else rest
        shutil.copy(path, target / f"{i:03d}-{path.name}")
    return first, rest
