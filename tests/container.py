"""The poller image run with podman the way the kubelet runs the Deployment's pod: the arguments,
environment, mounts, user and security settings come from the pod spec the Poller component renders
(never written a second time), with what Kubernetes does in between — `$(VAR)` expansion in args and
env, fieldRef values, envFrom and Secret volumes from the Secrets' data, emptyDirs as fresh
world-writable folders. What only a cluster gives a pod (its service account's API access) comes in
as `extra_env` / `extra_mounts`. Shared by tests/integration/test_poller_image.py and bench scenario 14.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import REPO_ROOT

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def missing_podman() -> str | None:
    """Why the image cannot be run here, with what to do; None when it can."""
    if shutil.which("podman") is None:
        return "podman is not installed: `make image` installs podman, buildah and debootstrap (apt-get)"
    return None


def image_ref() -> str:
    """The reference `make image` gives the checkout's current inputs (scripts/image.sh ref)."""
    out = subprocess.run(
        [str(REPO_ROOT / "scripts" / "image.sh"), "ref"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def image_exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], capture_output=True).returncode == 0


def runtime_flags() -> tuple[list[str], list[str]]:
    """What this host needs besides podman's defaults, as (global flags, `run` flags): runc where
    crun refuses the host's cgroups (a hybrid hierarchy whose cgroup v2 side has controllers), and
    ulimits the runtime may set without CAP_SYS_RESOURCE (podman's defaults exceed this host's)."""
    global_flags: list[str] = []
    controllers = Path("/sys/fs/cgroup/unified/cgroup.controllers")
    if controllers.exists() and controllers.read_text().strip() and shutil.which("runc"):
        global_flags.append("--runtime=runc")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nofile = min(soft, hard) if resource.RLIM_INFINITY not in (soft, hard) else 65536
    # Processes and threads of the container's user: the poller, pulumi and its plugins need hundreds.
    return global_flags, [f"--ulimit=nofile={nofile}:{nofile}", "--ulimit=nproc=8192:8192"]


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' expansion of args and env values: `$(VAR)` of a defined variable, `$$` -> `$`."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _REF.sub(one, text)


@dataclass(frozen=True)
class Pod:
    """What the API server and kubelet fill in for one pod."""

    name: str
    namespace: str
    ip: str

    def field(self, path: str) -> str:
        return {"metadata.name": self.name, "metadata.namespace": self.namespace, "status.podIP": self.ip}[
            path
        ]


def container_env(
    spec: Mapping[str, Any], pod: Pod, secrets: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """The container's environment as the kubelet makes it: envFrom first, then env in order."""
    container = spec["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(secrets[source["secretRef"]["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
        else:
            env[var["name"]] = pod.field(var["valueFrom"]["fieldRef"]["fieldPath"])
    return env


def podman_run(
    spec: Mapping[str, Any],
    pod: Pod,
    secrets: Mapping[str, Mapping[str, str]],
    volumes_dir: Path,
    extra_env: Mapping[str, str] = {},
    extra_mounts: Sequence[tuple[Path, str]] = (),
) -> tuple[list[str], dict[str, str]]:
    """`podman run` arguments for the pod's one container on the host network, and the environment
    to run them in (the variables' values go through it, never on the command line)."""
    container = spec["containers"][0]
    env = {**container_env(spec, pod, secrets), **extra_env}
    pod_security = spec.get("securityContext", {})
    security = container.get("securityContext", {})
    uid = pod_security["runAsUser"]
    assert not (pod_security.get("runAsNonRoot") and uid == 0), "runAsNonRoot with user 0"
    global_flags, run_flags = runtime_flags()
    args = ["podman", *global_flags, "run", *run_flags, "--detach", "--name", pod.name, "--network=host"]
    args += [f"--user={uid}:{pod_security.get('runAsGroup', uid)}"]
    if "fsGroup" in pod_security:
        args.append(f"--group-add={pod_security['fsGroup']}")
    if security.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if security.get("allowPrivilegeEscalation") is False:
        args.append("--security-opt=no-new-privileges")
    args += [f"--cap-drop={c}" for c in security.get("capabilities", {}).get("drop", [])]
    if "memory" in container.get("resources", {}).get("limits", {}):
        args.append(f"--memory={container['resources']['limits']['memory'].replace('i', '').lower()}")
    args.append(f"--stop-timeout={spec.get('terminationGracePeriodSeconds', 30)}")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        host = volumes_dir / pod.name / mount["name"]
        host.mkdir(parents=True)
        if "emptyDir" in volume:
            host.chmod(0o777)  # as the kubelet makes an emptyDir
        else:
            mode = volume["secret"].get("defaultMode", 0o644)
            for key, value in secrets[volume["secret"]["secretName"]].items():
                (host / key).write_text(value)
                (host / key).chmod(mode)
                os.chown(host / key, 0, pod_security.get("fsGroup", 0))
        args.append(f"--volume={host}:{mount['mountPath']}{':ro' if mount.get('readOnly') else ''}")
    args += [f"--volume={host}:{target}:ro" for host, target in extra_mounts]
    args += [f"--env={name}" for name in env]
    args.append(container["image"])
    args += [expand(a, env) for a in container.get("args", [])]
    return args, {**os.environ, **env}
