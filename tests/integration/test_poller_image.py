"""The poller image (`make image`) run with podman as the Deployment the Poller component renders,
against the dev cluster: two containers of one pod spec on the host network, the stack's state in
moto's S3, its passphrase and S3 keys from the stack's secrets through the poller's Secret, the
repository from the dev cluster's Git server.

As an operator would: a first `pulumi up` by hand installs the poller (namespace, RBAC, Secret,
Deployment: with this image it passes a server-side dry run); then the two containers take the
Lease, one updates and exposes /metrics and /healthz, a commit to the stack is applied, the leader
killed is replaced by the standby, and the standby stops cleanly on SIGTERM. The podman arguments are
derived from the rendered pod spec (tests/container.py), and `podman inspect` shows the containers ran
with its args, environment and mounts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.manifests.poller import poller_objects, state_configmap
from eoepca_gitops.manifests.stack import POLLER_CLUSTER_RULES
from eoepca_gitops.project import load_stack_file
from tests.conftest import DevClusterHandle, MotoS3
from tests.container import Pod, image_exists, image_ref, missing_podman, podman_run, runtime_flags
from tests.helpers import REPO_ROOT
from tests.integration.local_stack import LocalStack, wait_for
from tests.outside_data import flux_manifests

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]

NAME = "image"
PASSPHRASE = "image-passphrase-5e0c"
SECRETS = {"pollerPassphrase": PASSPHRASE, "pollerS3KeyId": "testing", "pollerS3Key": "testing-9a3f"}
FLUX_IN_CONTAINER = "/opt/flux-manifests"
KUBECONFIG_IN_CONTAINER = "/etc/eoepca-gitops/kubeconfig"


@pytest.fixture(scope="module")
def image() -> str:
    if why := missing_podman():
        pytest.fail(why, pytrace=False)
    ref = image_ref()
    if not image_exists(ref):
        pytest.fail(
            f"the poller image {ref} (this checkout's inputs) is not built: run `make image`", pytrace=False
        )
    return ref


@pytest.fixture(scope="module")
def stack(
    image: str,
    dev_cluster: DevClusterHandle,
    tools_env: dict[str, str],
    moto_s3: MotoS3,
) -> Iterator[LocalStack]:
    """The local stack's settings without Flux (the dev cluster's other stacks own it): the poller
    alone, which keeps this very stack, with the image under test."""
    assert dev_cluster.git_repo and dev_cluster.git_url
    project = dev_cluster.git_repo
    # the local stack as committed: the served copy holds what other modules of the session set
    # (this session's kubeconfig path, their blocks' overrides), which the pod cannot use
    raw = yaml.safe_load((REPO_ROOT / "Pulumi.local.yaml").read_text())
    config = {k: v for k, v in raw["config"].items() if k.startswith("eoepca-gitops:")}
    config["eoepca-gitops:cluster"]["name"] = NAME
    config["eoepca-gitops:git"]["url"] = dev_cluster.git_url
    config["eoepca-gitops:flux"] = {"version": "v2.9.3", "enabled": False}
    config["eoepca-gitops:blocks"] = []
    config["eoepca-gitops:poller"] = {
        "image": image,
        "replicas": 2,
        "interval": "2s",
        "driftInterval": "0",
        "grace": "20s",
        "backendUrl": moto_s3.backend_url(NAME),
        "credentialSecrets": {"AWS_ACCESS_KEY_ID": "pollerS3KeyId", "AWS_SECRET_ACCESS_KEY": "pollerS3Key"},
        # No internet in the pod either: the Flux release manifests come from a folder.
        "env": {"EOEPCA_FLUX_MANIFESTS": FLUX_IN_CONTAINER, "MARKER": "first"},
    }
    (project / f"Pulumi.{NAME}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    env = {
        **tools_env,
        **moto_s3.aws_env,
        "PULUMI_BACKEND_URL": moto_s3.backend_url(NAME),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_PYTHON_CMD": sys.executable,
        "EOEPCA_FLUX_MANIFESTS": str(flux_manifests()),
        "KUBECONFIG": str(dev_cluster.kubeconfig),
    }
    local = LocalStack(dev_cluster, project, env, NAME)
    subprocess.run(["pulumi", "stack", "init", NAME], cwd=project, env=env, check=True, capture_output=True)
    for key, value in SECRETS.items():
        local.pulumi("config", "set", "--secret", key, value)
    yield local
    local.pulumi("destroy", "--yes", "--skip-preview", check=False)


def rendered(stack: LocalStack, namespace: str | None = None) -> list[dict[str, Any]]:
    """The poller's objects as the program builds them (secrets from the values the test set)."""
    poller = load_poller(stack)
    if namespace:
        poller = poller.model_copy(update={"namespace": namespace})
    env_values = {env: SECRETS[key] for env, key in poller.secret_env.items()}
    return poller_objects(poller, env_values, cluster_rules=POLLER_CLUSTER_RULES)


class Container:
    def __init__(
        self, name: str, stack: LocalStack, objs: list[dict[str, Any]], ip: str, tmp: Path, kubeconfig: Path
    ) -> None:
        dep = next(o for o in objs if o["kind"] == "Deployment")
        self.spec: dict[str, Any] = dep["spec"]["template"]["spec"]
        self.name, self.ip = name, ip
        secrets = {o["metadata"]["name"]: o["stringData"] for o in objs if o["kind"] == "Secret"}
        self.pod = Pod(name, dep["metadata"]["namespace"], ip)
        self.args, self.env = podman_run(
            self.spec,
            self.pod,
            secrets,
            tmp,
            extra_env={"KUBECONFIG": KUBECONFIG_IN_CONTAINER},
            extra_mounts=[(kubeconfig, KUBECONFIG_IN_CONTAINER), (flux_manifests(), FLUX_IN_CONTAINER)],
        )
        subprocess.run(["podman", "rm", "--force", name], capture_output=True)
        started = subprocess.run(self.args, env=self.env, capture_output=True, text=True)
        assert started.returncode == 0, f"podman run {name}: {started.stderr}"

    def podman(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        out = subprocess.run(
            ["podman", *runtime_flags()[0], *args], capture_output=True, text=True, timeout=timeout
        )
        if check and out.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {out.stderr}")
        return out.stdout

    def logs(self) -> str:
        out = subprocess.run(["podman", "logs", self.name], capture_output=True, text=True)
        return out.stdout + out.stderr

    def get(self, path: str) -> tuple[int, str]:
        port = self.spec["containers"][0]["ports"][0]["containerPort"]
        try:
            with urllib.request.urlopen(f"http://{self.ip}:{port}{path}", timeout=5) as resp:
                return resp.status, resp.read().decode()
        except OSError as exc:
            return 0, str(exc)

    def exit_code(self) -> int:
        return int(self.podman("wait", self.name, timeout=180).strip())


def state(stack: LocalStack, namespace: str, name: str) -> dict[str, Any]:
    proc = stack.kubectl("-n", namespace, "get", "configmap", name, "-o", "json", check=False)
    if proc.returncode != 0:
        return {}
    doc = json.loads(json.loads(proc.stdout).get("data", {}).get("state.json", "{}"))
    return dict(doc.get("stacks", {}).get(NAME, {}))


def test_the_image_runs_the_deployment_the_component_renders(
    stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = stack.commit("the image stack")
    # The operator's first `pulumi up` installs the poller; from then on it keeps the stack.
    stack.pulumi("up", "--yes", "--skip-preview", timeout=600)
    objs = rendered(stack)
    namespace = next(o for o in objs if o["kind"] == "Deployment")["metadata"]["namespace"]
    # A fresh install of the same objects (in a namespace of its own) passes the API server's checks.
    fresh = rendered(stack, namespace="image-dry-run")
    stack.kubectl("create", "namespace", "image-dry-run")
    manifest = tmp_path_factory.mktemp("rendered") / "poller.yaml"
    manifest.write_text(yaml.safe_dump_all(fresh))
    try:
        dry = stack.kubectl("apply", "--server-side", "--dry-run=server", "-f", str(manifest))
    finally:
        stack.kubectl("delete", "namespace", "image-dry-run", "--wait=false")
    assert dry.stdout.count("serverside-applied (server dry run)") == len(fresh), dry.stdout
    live = json.loads(stack.kubectl("-n", namespace, "get", "deployment", "-o", "json").stdout)["items"]
    assert live[0]["spec"]["template"]["spec"]["containers"][0]["image"] == stack_image(objs)

    tmp = tmp_path_factory.mktemp("pods")
    # The API access a service account token gives a pod: the dev cluster's kubeconfig, readable by
    # the pod's group as a projected token is.
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_bytes(stack.cluster.kubeconfig.read_bytes())
    os.chown(kubeconfig, 0, 65532)
    kubeconfig.chmod(0o440)
    pods = [
        Container(f"poller-{n}", stack, objs, ip, tmp, kubeconfig)
        for n, ip in (("a", "127.0.0.2"), ("b", "127.0.0.3"))
    ]
    try:
        run_and_check(stack, objs, pods, namespace, first)
    finally:
        for pod in pods:
            print(f"--- {pod.name}\n{pod.logs()[-4000:]}")
            pod.podman("rm", "--force", "--time", "0", pod.name, check=False)
    assert PASSPHRASE not in "".join(p.logs() for p in pods)


def stack_image(objs: list[dict[str, Any]]) -> str:
    dep = next(o for o in objs if o["kind"] == "Deployment")
    return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


def run_and_check(
    stack: LocalStack, objs: list[dict[str, Any]], pods: list[Container], namespace: str, first: str
) -> None:
    cm = state_configmap(load_poller(stack))
    # The containers ran what the pod spec says: its args (expanded as Kubernetes does), env, mounts.
    for pod in pods:
        inspect = json.loads(pod.podman("inspect", pod.name))[0]
        container = pod.spec["containers"][0]
        assert inspect["Config"]["Cmd"] == [a.replace("$(POD_IP)", pod.ip) for a in container["args"]]
        names = {e.split("=", 1)[0] for e in inspect["Config"]["Env"]}
        assert {e["name"] for e in container["env"]} <= names
        assert {"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "AWS_SECRET_ACCESS_KEY"} <= names
        mounts = {m["Destination"] for m in inspect["Mounts"]}
        assert {m["mountPath"] for m in container["volumeMounts"]} <= mounts
        assert inspect["HostConfig"]["ReadonlyRootfs"] is True
        assert inspect["Config"]["User"] == "65532:65532"

    def synced(rev: str) -> bool:
        s = state(stack, namespace, cm)
        return s.get("applied_revision") == rev and s.get("phase") == "synced"

    wait_for(f"one container to apply {first[:12]}", lambda: synced(first), timeout=300)
    leaders = [p for p in pods if '"event": "leader-elected"' in p.logs()]
    assert len(leaders) == 1, [p.logs()[-2000:] for p in pods]
    leader, standby = leaders[0], next(p for p in pods if p is not leaders[0])
    assert '"event": "waiting-for-lease"' in standby.logs()
    lease = json.loads(stack.kubectl("-n", namespace, "get", "lease", "-o", "json").stdout)["items"][0]
    assert lease["spec"]["holderIdentity"] == leader.name
    for pod in pods:
        assert pod.get("/healthz")[0] == 200, pod.name
    status, metrics = leader.get("/metrics")
    applied = [ln for ln in metrics.splitlines() if ln.startswith("eoepca_gitops_applied_revision_info{")]
    assert status == 200 and any(f'revision="{first}"' in ln and f'stack="{NAME}"' in ln for ln in applied)

    # A commit to the stack: the leader applies it (the Deployment's env changes on the cluster).
    stack.edit_config(lambda c: c["poller"]["env"].update(MARKER="second"))
    second = stack.commit("second")
    wait_for(f"the leader to apply {second[:12]}", lambda: synced(second), timeout=300)
    assert marker(stack, namespace) == "second"

    # The leader is killed (no hand-back): the standby takes the Lease when it runs out and applies.
    leader.podman("kill", "--signal", "KILL", leader.name)
    stack.edit_config(lambda c: c["poller"]["env"].update(MARKER="third"))
    third = stack.commit("third")
    wait_for(f"the standby to take over and apply {third[:12]}", lambda: synced(third), timeout=300)
    assert '"event": "leader-elected"' in standby.logs()
    assert marker(stack, namespace) == "third"

    # SIGTERM: it stops cleanly, hands the Lease back, and exits 0.
    standby.podman("kill", "--signal", "TERM", standby.name)
    assert standby.exit_code() == 0, standby.logs()[-3000:]
    assert '"event": "leader-released"' in standby.logs()


def load_poller(stack: LocalStack) -> Any:
    poller = load_stack_file(stack.stack_file, stack.project / "clusters" / "blocks").config.poller
    assert poller is not None
    return poller


def marker(stack: LocalStack, namespace: str) -> str | None:
    dep = json.loads(stack.kubectl("-n", namespace, "get", "deployment", "-o", "json").stdout)["items"][0]
    env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
    return next((e.get("value") for e in env if e["name"] == "MARKER"), None)
