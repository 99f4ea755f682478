"""Driving a stack (`local` unless named) on a dev cluster, where the real Flux controllers run:
pulumi in the served repository, commits Flux fetches, kubectl, Helm release records, polling
with deadlines."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from eoepca_gitops.devcluster.git_server import remove_webhooks
from eoepca_gitops.project import stack_file_name
from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT
from tests.outside_data import flux_manifests

KUBECTL = Path(sys.executable).parent / "kubectl"
STACK = "local"
# The documented passphrase of the local stack (Pulumi.local.yaml's salt is for it).
PASSPHRASE = "local"
FLUX_KINDS = ("gitrepositories", "helmrepositories", "kustomizations", "helmreleases")
T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 180.0, every: float = 1.0) -> T:
    """Polls `check` until it returns a value other than None/False; fails naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)
        time.sleep(every)


@dataclass(frozen=True)
class HelmRecord:
    """One revision of a Helm release, as helm-controller stored it (the release Secret)."""

    name: str
    namespace: str
    revision: int
    status: str
    chart_version: str
    values: dict[str, Any]
    first_deployed: datetime
    last_deployed: datetime


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class LocalStack:
    cluster: DevClusterHandle
    project: Path
    env: dict[str, str]
    name: str = STACK

    # -- pulumi and the stack file ------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`eoepca-gitops ARGS` as an operator runs it in the project, with the stack's environment."""
        return subprocess.run(
            [str(Path(sys.executable).parent / "eoepca-gitops"), *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pulumi(
        self, *args: str, timeout: float = 900, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["pulumi", *args, "--stack", self.name, "--non-interactive"],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"pulumi {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}",
                pytrace=False,
            )
        return proc

    @property
    def stack_file(self) -> Path:
        return self.project / f"Pulumi.{self.name}.yaml"

    def edit_config(self, edit: Callable[[dict[str, Any]], None]) -> None:
        """Changes the `eoepca-gitops:*` keys of the stack file (without the prefix), keeping the salt."""
        raw = yaml.safe_load(self.stack_file.read_text())
        short = {k.split(":", 1)[1]: v for k, v in raw["config"].items() if k.startswith("eoepca-gitops:")}
        edit(short)
        others = {k: v for k, v in raw["config"].items() if not k.startswith("eoepca-gitops:")}
        raw["config"] = {**others, **{f"eoepca-gitops:{k}": v for k, v in short.items()}}
        self.stack_file.write_text(yaml.safe_dump(raw, sort_keys=False))

    def commit(self, message: str) -> str:
        """Commits everything changed in the served repository; returns the new revision."""
        env = {**self.env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
        env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
        for args in (["add", "-A"], ["commit", "-q", "--allow-empty", "-m", message]):
            subprocess.run(["git", "-C", str(self.project), *args], check=True, env=env, capture_output=True)
        out = subprocess.run(
            ["git", "-C", str(self.project), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        return out.stdout.strip()

    def restore_snapshot(self) -> str:
        """The served repository's files as its first commit (the snapshot) had them, no push webhook:
        what the next module reads of it. Files added since stay. Returns the new revision."""
        git = ["git", "-C", str(self.project)]
        root = subprocess.run([*git, "rev-list", "--max-parents=0", "HEAD"], capture_output=True, text=True)
        subprocess.run([*git, "checkout", root.stdout.split()[0], "--", "."], check=True, capture_output=True)
        remove_webhooks(self.project)
        return self.commit("as the snapshot had it")

    # -- the cluster ----------------------------------------------------------------------------------
    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(self.cluster.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)}: {proc.stderr}", pytrace=False)
        return proc

    def get(self, resource: str, name: str | None = None, namespace: str | None = None) -> Any:
        """The object (or, without a name, the list of items across namespaces); None when not found."""
        args = ["get", resource, *([name] if name else []), "-o", "json"]
        args += ["-n", namespace] if namespace else ([] if name else ["-A"])
        proc = self.kubectl(*args, check=False)
        if proc.returncode != 0:
            if "NotFound" in proc.stderr or "not found" in proc.stderr:
                return None
            pytest.fail(f"kubectl {' '.join(args)}: {proc.stderr}", pytrace=False)
        data = json.loads(proc.stdout)
        return data if name else data["items"]

    def reconcile(self, resource: str, name: str, namespace: str) -> None:
        """What `flux reconcile` does: ask the controller to reconcile now."""
        stamp = datetime.now(UTC).isoformat()
        self.kubectl(
            "annotate",
            "--overwrite",
            resource,
            name,
            "-n",
            namespace,
            f"reconcile.fluxcd.io/requestedAt={stamp}",
        )

    def helm_release(self, namespace: str, release: str) -> HelmRecord | None:
        """The latest revision of a Helm release, decoded from helm-controller's release Secrets."""
        proc = self.kubectl(
            "get", "secrets", "-n", namespace, "-l", f"owner=helm,name={release}", "-o", "json", check=False
        )
        items = json.loads(proc.stdout)["items"] if proc.returncode == 0 else []
        if not items:
            return None
        latest = max(items, key=lambda s: int(s["metadata"]["labels"]["version"]))
        # Helm stores base64(gzip(json)) in the Secret's data, which Kubernetes base64-encodes again.
        raw = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(latest["data"]["release"]))))
        return HelmRecord(
            name=raw["name"],
            namespace=raw["namespace"],
            revision=int(raw["version"]),
            status=raw["info"]["status"],
            chart_version=raw["chart"]["metadata"]["version"],
            values=raw.get("config") or {},
            first_deployed=_time(raw["info"]["first_deployed"]),
            last_deployed=_time(raw["info"]["last_deployed"]),
        )


def stack_env(tools_env: dict[str, str], state: Path) -> dict[str, str]:
    """What pulumi runs a test stack with: a file backend in `state`, the local stack's passphrase,
    this Python, the Flux release manifests the tests read."""
    return {
        **tools_env,
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_PYTHON_CMD": sys.executable,
        "EOEPCA_FLUX_MANIFESTS": str(flux_manifests()),
    }


def local_stack_file(cluster: DevClusterHandle) -> dict[str, Any]:
    """The committed Pulumi.local.yaml (not the served copy, which modules change) pointed at this
    session's cluster: its Git server (fetched every 5 s), chart repository and kubeconfig; the
    update's wait for Flux ends after 5 minutes."""
    assert cluster.git_url and cluster.charts_url
    raw: dict[str, Any] = yaml.safe_load((REPO_ROOT / stack_file_name(STACK)).read_text())
    config = raw["config"]
    config["eoepca-gitops:git"].update(url=cluster.git_url, interval="5s")
    config["eoepca-gitops:charts"]["mirror"] = str(cluster.charts_url).rstrip("/")
    config.pop("eoepca-gitops:kubeContext", None)
    config["eoepca-gitops:kubeconfig"] = str(cluster.kubeconfig)
    config["eoepca-gitops:await"]["timeout"] = "5m"
    return raw


def deploy_ready(cluster: DevClusterHandle, tools_env: dict[str, str], state: Path) -> LocalStack:
    """The local stack (local_stack_file), committed in the served repository, initialised on a file
    backend in `state`."""
    assert cluster.git_repo
    local = LocalStack(cluster, cluster.git_repo, stack_env(tools_env, state))
    local.stack_file.write_text(yaml.safe_dump(local_stack_file(cluster), sort_keys=False))
    local.commit("the local stack on the test cluster")
    subprocess.run(
        ["pulumi", "stack", "init", STACK], cwd=local.project, env=local.env, check=True, capture_output=True
    )
    return local


def ready(obj: dict[str, Any]) -> bool:
    """Ready=True for the object's current generation, as Flux reports it."""
    status = obj.get("status") or {}
    cond = {c["type"]: c for c in status.get("conditions", [])}.get("Ready", {})
    seen = cond.get("observedGeneration", status.get("observedGeneration", -1))
    return bool(seen >= obj["metadata"].get("generation", 0) and cond.get("status") == "True")


def ready_since(obj: dict[str, Any]) -> datetime:
    cond = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    return _time(cond["lastTransitionTime"])


def not_ready(stack: LocalStack) -> list[str]:
    """Every Flux source, Kustomization and HelmRelease that is not Ready, with its message."""
    out = []
    for kind in FLUX_KINDS:
        for obj in stack.get(kind) or []:
            if not ready(obj):
                conditions = (obj.get("status") or {}).get("conditions", [])
                message = next(
                    (c.get("message", "") for c in conditions if c["type"] == "Ready"), "no status"
                )
                out.append(
                    f"{obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}: {message}"
                )
    return out
