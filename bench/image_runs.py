"""Scenario 15: the poller's image — its size, a cold build here, and the poller's idle cost inside
the container (run as the Deployment's pod spec says: tests/container.py) next to the same poller
as a host process, idle in the same window on the same kind of stack."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.context import Bench
from bench.harness import CLI, log
from bench.poller_runs import IDLE_METHOD, event_counts, sample_idle
from bench.report import Result, Row, verdict
from eoepca_gitops.manifests.poller import poller_objects, state_configmap
from eoepca_gitops.model import PollerConfig
from tests.container import Pod, podman_run, runtime_flags
from tests.poller.harness import PROJECT_DIR, GitDaemon, GitRemote

REPO = Path(__file__).resolve().parents[1]
IMAGE_SH = str(REPO / "scripts" / "image.sh")
COLD_NAME = "localhost/eoepca-gitops-bench"


def _image(env: dict[str, str]) -> tuple[str, float]:
    """scripts/image.sh under `env`: the reference it prints and its wall time."""
    t = time.perf_counter()
    out = subprocess.run([IMAGE_SH], env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"scripts/image.sh failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1], time.perf_counter() - t


def _podman(*args: str) -> str:
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True).stdout.strip()


def _size_rows(ref: str) -> tuple[list[Row], float, float]:
    size = int(_podman("image", "inspect", "--format", "{{.Size}}", ref)) / 1e6
    # What a registry stores and a node pulls: the layers gzip-compressed (as `podman push` sends them).
    save = subprocess.Popen(["podman", "save", ref], stdout=subprocess.PIPE)
    gz = subprocess.run(["gzip", "-6"], stdin=save.stdout, capture_output=True, check=True)
    save.wait()
    packed = len(gz.stdout) / 1e6
    layers = json.loads(_podman("image", "inspect", ref))[0]["RootFS"]["Layers"]
    rows = [
        Row("image size, unpacked (podman image inspect)", None, value=f"{size:.0f}", unit="MB"),
        Row(f"image size, gzip-compressed ({len(layers)} layers)", None, value=f"{packed:.0f}", unit="MB"),
    ]
    return rows, size, packed


def _cold_build(b: Bench) -> tuple[float, float]:
    """A build under another name: the Debian base made with debootstrap and every layer anew."""
    env = {**os.environ, "EOEPCA_IMAGE_NAME": COLD_NAME, "EOEPCA_IMAGE_STATE": str(b.work / "image")}
    try:
        ref, cold = _image(env)
        log(f"15: cold build {cold:.0f} s ({ref})")
        _, warm = _image(env)
    finally:
        names = _podman("images", "--format", "{{.Repository}}:{{.Tag}}").splitlines()
        ours = [n for n in names if n.startswith(COLD_NAME)]
        if ours:
            subprocess.run(["podman", "rmi", "--force", *ours], capture_output=True)
    return cold, warm


def _pollers(b: Bench, ref: str) -> Pollers:
    """The same watched stack kept by a poller in the container and by one on the host, each with
    its own repository and backend."""
    kc = b.cluster.kubeconfig
    daemon = GitDaemon(b.work / "image-git")
    daemon.base.mkdir()
    backend = b.work / "image-host-backend"
    backend.mkdir()
    host_env = {**b.env, "PULUMI_BACKEND_URL": f"file://{backend}"}  # each stack `dev` in its own backend
    for who, env in (("container", b.env), ("host", host_env)):
        ns = f"bench-image-{who}"
        b.cluster.kubectl("create", "namespace", ns, ok=(0, 1))
        base = daemon.base / who
        base.mkdir()
        GitRemote(base, env).commit({"kubeconfig": str(kc), "namespace": ns, "data": {"k": "v"}}, "idle")
    daemon.start()
    config = PollerConfig.model_validate(
        {
            "image": ref,
            "gitUrl": daemon.url("container/config.git"),
            "branch": "main",
            "stacks": ["dev"],
            "projectDir": PROJECT_DIR,
            "namespace": "bench-image",
            "backendUrl": "file:///var/lib/eoepca-gitops",  # its emptyDir: the state dies with it here
        }
    )
    b.cluster.kubectl("create", "namespace", config.namespace, ok=(0, 1))
    objs = poller_objects(config, {"PULUMI_CONFIG_PASSPHRASE": b.env["PULUMI_CONFIG_PASSPHRASE"]})
    spec = next(o for o in objs if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    secrets = {o["metadata"]["name"]: o["stringData"] for o in objs if o["kind"] == "Secret"}
    readable = b.work / "kubeconfig"  # the pod's API access, readable by its group (see the test)
    readable.write_bytes(kc.read_bytes())
    os.chown(readable, 0, 65532)
    readable.chmod(0o440)
    args, env = podman_run(
        spec,
        Pod("bench-poller", config.namespace, "127.0.0.4"),
        secrets,
        b.work / "image-pods",
        extra_env={"KUBECONFIG": str(kc)},
        extra_mounts=[(readable, str(kc))],  # where the stack's config says the kubeconfig is
    )
    subprocess.run(["podman", "rm", "--force", "bench-poller"], capture_output=True)
    subprocess.run(args, env=env, check=True, capture_output=True)
    host_log = b.work / "image-host-poll.log"
    with host_log.open("ab") as out:
        host = subprocess.Popen(
            [CLI, "poll", "--repo", daemon.url("host/config.git"), "--branch", "main",
             "--project-dir", PROJECT_DIR, "--stack", "dev", "--state-file", str(b.work / "image-host.json"),
             "--work-dir", str(b.work / "image-host-work"), "--listen", "off"],
            env=host_env, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip
    cm = state_configmap(config)

    def container_synced() -> bool:
        _, proc = b.cluster.kubectl("-n", config.namespace, "get", "configmap", cm, "-o", "json", ok=(0, 1))
        data = json.loads(proc.stdout).get("data", {}) if proc.returncode == 0 else {}
        doc = json.loads(data.get("state.json", "{}"))
        return bool(doc.get("stacks", {}).get("dev", {}).get("phase") == "synced")

    def host_synced() -> bool:
        path = b.work / "image-host.json"
        return (
            path.exists() and json.loads(path.read_text())["stacks"].get("dev", {}).get("phase") == "synced"
        )

    return Pollers(daemon, host, lambda: container_synced() and host_synced())


@dataclass
class Pollers:
    daemon: GitDaemon
    host: subprocess.Popen[bytes]
    synced: Callable[[], bool]
    container: str = "bench-poller"

    def wait_synced(self, timeout: float = 300) -> dict[str, int]:
        """The PIDs of both pollers once each applied the stack."""
        deadline = time.monotonic() + timeout
        while not self.synced():
            if time.monotonic() > deadline:
                logs = subprocess.run(["podman", "logs", self.container], capture_output=True, text=True)
                raise TimeoutError(f"the pollers did not apply the stack:\n{logs.stderr[-2000:]}")
            time.sleep(1)
        pid = int(_podman(*runtime_flags()[0], "inspect", "--format", "{{.State.Pid}}", self.container))
        return {"container": pid, "host": self.host.pid}

    def stop(self) -> None:
        subprocess.run(
            ["podman", *runtime_flags()[0], "rm", "--force", "--time", "0", self.container],
            capture_output=True,
        )
        self.host.terminate()
        self.host.wait(timeout=120)
        self.daemon.stop()


def s15_image(b: Bench) -> Result:
    r = Result("15", "The poller's image: size, cold build, idle in the container")
    ref, present = _image(dict(os.environ))
    log(f"15: {ref} ready in {present:.1f} s")
    rows, size, packed = _size_rows(ref)
    cold, warm = _cold_build(b)
    rows += [
        Row("cold build: debootstrap base + every layer (`scripts/image.sh`, another name)", None,
            value=f"{cold:.0f}"),
        Row("the same build again, inputs unchanged (found by their hash)", None, value=f"{warm:.1f}"),
    ]  # fmt: skip
    pollers = _pollers(b, ref)
    try:
        pids = pollers.wait_synced()
        time.sleep(2)
        log(f"15: both pollers idle; sampling for {b.settings.idle_seconds:.0f} s")
        idle = sample_idle(pids, b.settings.idle_seconds)
        stats = _podman(
            *runtime_flags()[0], "stats", "--no-stream", "--format", "{{.MemUsage}}", "bench-poller"
        )
        logs = subprocess.run(["podman", "logs", "bench-poller"], capture_output=True, text=True).stderr
    finally:
        pollers.stop()
    c, h = idle["container"], idle["host"]
    vr, wr = verdict(c.rss.max <= 100, f"{c.rss.max:.0f} MB > 100 MB")
    vc, wc = verdict(c.cpu_percent <= 0.5, f"{c.cpu_percent:.2f} % > 0.5 %")
    rows += [
        Row("idle RSS in the container: tini + poller + children (every 1 s)", c.rss, unit="MB",
            ratio=c.rss.median / h.rss.median, goal="<= 100 MB", verdict=vr, reason=wr),
        Row("baseline: the same poller as a host process, same window", h.rss, unit="MB"),
        Row(f"idle CPU in the container over {c.seconds:.0f} s", None, value=f"{c.cpu_percent:.3f}",
            unit="% of a core", goal="<= 0.5 %", verdict=vc, reason=wc),
        Row("baseline: host process CPU", None, value=f"{h.cpu_percent:.3f}", unit="% of a core"),
        Row("the container's memory cgroup at the end (podman stats: RSS + page cache)", None, value=stats,
            unit=""),
    ]  # fmt: skip
    r.rows = rows
    r.headline = (
        f"{size:.0f} MB ({packed:.0f} MB compressed); cold build {cold:.0f} s; idle in the container "
        f"{c.rss.max:.0f} MB RSS ({c.rss.median / h.rss.median:.2f}x the host process), "
        f"{c.cpu_percent:.2f} % of a core"
    )
    r.notes = [
        f"{ref}; the cold build makes the Debian base with debootstrap and builds every layer under another "
        "name (EOEPCA_IMAGE_NAME), with the engine tools and pip's download cache warm (the tools are "
        "scripts/tools.sh's cache; their own cold build is scenario 13's figure).",
        "Idle: the tests' `watched` stack (one ConfigMap) from a `git daemon` on 127.0.0.1, `--interval 10s`,"
        " `--drift-interval 10m`; the container runs the pod spec the Poller component renders "
        "(tests/container.py: read-only root, user 65532, the state in a ConfigMap, a file backend in its "
        "emptyDir), the host process `eoepca-gitops poll` with a state file, both after applying the stack.",
        IDLE_METHOD + " The container's tree starts at its PID 1 (tini).",
        f"Child processes seen: container {c.children or 'none'}, host {h.children or 'none'}; "
        f"the container's last log events (up to 50): {event_counts(logs.splitlines()[-50:]) or 'none'}.",
    ]
    return r
