"""The dev cluster's state folder (certificates, kubeconfigs, etcd data, logs, pid files) and what
`up` records in it: where each part listens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ClusterInfo", "ComponentStatus", "StateLayout"]


@dataclass
class StateLayout:
    root: Path
    pki: Path = field(init=False)
    tokens: Path = field(init=False)
    etcd_data: Path = field(init=False)
    logs: Path = field(init=False)
    pids: Path = field(init=False)
    kubeconfigs: Path = field(init=False)
    serving: Path = field(init=False)
    kubeconfig: Path = field(init=False)
    info: Path = field(init=False)
    lock: Path = field(init=False)
    charts: Path = field(init=False)
    git_view: Path = field(init=False)
    flux_storage: Path = field(init=False)
    flux_status: Path = field(init=False)

    def __post_init__(self) -> None:
        r = self.root
        self.pki = r / "pki"
        self.tokens = r / "pki" / "tokens.csv"
        self.etcd_data = r / "etcd"
        self.logs = r / "logs"
        self.pids = r / "pids"
        self.kubeconfigs = r / "kubeconfigs"
        self.serving = r / "serving-certs"
        self.kubeconfig = r / "kubeconfig"
        self.info = r / "cluster.json"
        self.lock = r / ".lock"
        self.charts = r / "charts"
        self.git_view = r / "git-view"
        self.flux_storage = r / "flux-artifacts"
        self.flux_status = r / "flux.json"


@dataclass(frozen=True)
class ClusterInfo:
    state_dir: Path
    kubeconfig: Path
    server: str
    ports: dict[str, int]
    start_seconds: float | None = None
    #: Flux runs as host processes (source, kustomize, helm, notification controllers).
    flux: bool = False
    #: The repository the local Git server serves, and its URL (smart HTTP on 127.0.0.1).
    git_repo: Path | None = None
    git_url: str | None = None
    #: Base URL of the local chart repository: <charts_url><HelmRepository name>/index.yaml.
    charts_url: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "state_dir": str(self.state_dir),
                "kubeconfig": str(self.kubeconfig),
                "server": self.server,
                "ports": self.ports,
                "start_seconds": self.start_seconds,
                "flux": self.flux,
                "git_repo": str(self.git_repo) if self.git_repo else None,
                "git_url": self.git_url,
                "charts_url": self.charts_url,
            },
            indent=2,
        )

    @classmethod
    def from_file(cls, path: Path) -> ClusterInfo | None:
        try:
            data = json.loads(path.read_text())
            return cls(
                state_dir=Path(data["state_dir"]),
                kubeconfig=Path(data["kubeconfig"]),
                server=str(data["server"]),
                ports={str(k): int(v) for k, v in data["ports"].items()},
                start_seconds=data.get("start_seconds"),
                flux=bool(data.get("flux", False)),
                git_repo=Path(data["git_repo"]) if data.get("git_repo") else None,
                git_url=data.get("git_url"),
                charts_url=data.get("charts_url"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    pid: int | None
    port: int | None
    log: str | None
    #: Why a part that should run does not (yet): e.g. a Flux controller waiting for its CRDs.
    detail: str = ""
