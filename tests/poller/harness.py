"""Real parts for the reconcile integration tests: a bare Git repository with a commit helper,
`git daemon` on 127.0.0.1, a `poll` process, kubectl, and polling with deadlines."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from eoepca_gitops.devcluster.ports import free_port
from eoepca_gitops.poller.state import StackState, StateStore
from tests.helpers import REPO_ROOT

PROJECT = Path(__file__).parent / "projects" / "watched"
PROJECT_DIR = "infra"  # the project folder inside the test repository
T = TypeVar("T")


def applied(rev: str) -> Callable[[StackState], bool]:
    """A stack state that has `rev` applied and nothing pending."""
    return lambda s: s.applied_revision == rev and s.phase == "synced"


def wait_for(what: str, fn: Callable[[], T | None], timeout: float, every: float = 0.25) -> T:
    """Polls `fn` until it returns something truthy; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def git(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    out = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **(env or {}), "GIT_TERMINAL_PROMPT": "0"},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


@dataclass
class GitRemote:
    """A bare repository (the remote) and a clone that commits and pushes the test project."""

    base: Path
    env: Mapping[str, str]
    stack: str = "dev"
    name: str = "config.git"
    bare: Path = field(init=False)
    clone: Path = field(init=False)

    def __post_init__(self) -> None:
        self.bare = self.base / self.name
        self.clone = self.base / "clone"
        git("init", "--bare", "-b", "main", str(self.bare))
        git("init", "-b", "main", str(self.clone))
        for k, v in (("user.name", "test"), ("user.email", "test@example.invalid")):
            git("config", k, v, cwd=self.clone)
        proj = self.clone / PROJECT_DIR
        shutil.copytree(PROJECT, proj, ignore=shutil.ignore_patterns("__pycache__"))
        # The stack's encryption salt is created once, as a user does with `pulumi stack init`.
        subprocess.run(
            ["pulumi", "stack", "init", self.stack, "--secrets-provider", "passphrase", "--non-interactive"],
            cwd=proj,
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
            timeout=120,
        )
        git("remote", "add", "origin", str(self.bare), cwd=self.clone)

    @property
    def url(self) -> str:
        return str(self.bare)

    def set_secret(self, key: str, value: str) -> None:
        subprocess.run(
            ["pulumi", "config", "set", "--secret", "--stack", self.stack, key, value],
            cwd=self.clone / PROJECT_DIR,
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
            timeout=120,
        )

    def commit(self, config: Mapping[str, Any], message: str = "change", push: bool = True) -> str:
        """Writes `watched:<key>` values into Pulumi.<stack>.yaml (keeping the salt and secrets)."""
        import yaml

        path = self.clone / PROJECT_DIR / f"Pulumi.{self.stack}.yaml"
        doc = yaml.safe_load(path.read_text()) or {}
        # keep the secrets (the only mapping values)
        cfg: dict[str, Any] = {k: v for k, v in (doc.get("config") or {}).items() if isinstance(v, dict)}
        for key, value in config.items():
            cfg[f"watched:{key}"] = json.dumps(value) if isinstance(value, dict) else value
        doc["config"] = cfg
        path.write_text(yaml.safe_dump(doc, sort_keys=True))
        git("add", "-A", cwd=self.clone)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.clone)
        if push:
            self.push()
        return git("rev-parse", "HEAD", cwd=self.clone)

    def push(self) -> None:
        git("push", "-q", "origin", "HEAD:main", cwd=self.clone)


class GitDaemon:
    """`git daemon` serving `base` read-only on 127.0.0.1; stop() and start() simulate an outage."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                f"--base-path={self.base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_for("git daemon to listen", up, timeout=15, every=0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@dataclass
class PollerProcess:
    """One `eoepca-gitops poll` process in its own session (so a kill takes its pulumi children)."""

    args: list[str]
    env: dict[str, str]
    state_file: Path
    log_file: Path
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self) -> PollerProcess:
        self.port = free_port()
        cmd = [
            sys.executable,
            "-c",
            "from eoepca_gitops.cli.main import app; app()",
            "poll",
            *self.args,
            "--state-file",
            str(self.state_file),
            "--listen",
            f"127.0.0.1:{self.port}",
        ]
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        return self

    def state(self, stack: str = "dev") -> StackState:
        if not self.state_file.exists():
            return StackState(stack=stack)
        return StateStore.read(self.state_file).get(stack) or StackState(stack=stack)

    def wait_state(
        self, what: str, pred: Callable[[StackState], bool], timeout: float = 120, stack: str = "dev"
    ) -> StackState:
        def check() -> StackState | None:
            assert self.proc is not None and self.proc.poll() is None, f"poll exited:\n{self.logs()}"
            s = self.state(stack)
            return s if pred(s) else None

        try:
            return wait_for(what, check, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- poll log tail ---\n{self.logs()[-4000:]}") from None

    def http(self, path: str) -> tuple[int, str]:
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def logs(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def terminate(self, timeout: float = 90) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        """SIGKILL to the whole session: the runner and the pulumi processes it started."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
    return subprocess.run(
        [exe, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def configmap_data(kubeconfig: Path, namespace: str, name: str = "watched") -> dict[str, str] | None:
    r = kubectl(kubeconfig, "-n", namespace, "get", "configmap", name, "-o", "json", check=False)
    if r.returncode != 0:
        return None
    data: dict[str, str] = json.loads(r.stdout).get("data") or {}
    return data


def stack_history(env: Mapping[str, str], project: Path, stack: str = "dev") -> list[dict[str, Any]]:
    r = subprocess.run(
        ["pulumi", "stack", "history", "--stack", stack, "--json", "--show-secrets=false"],
        cwd=project,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out: list[dict[str, Any]] = json.loads(r.stdout or "[]")
    return out
