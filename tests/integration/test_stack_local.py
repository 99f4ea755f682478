"""`pulumi up --stack local` of the real program into the dev cluster: every object of the EOEPCA
stack, with the real Flux CRDs validating each custom resource, then an exact preview of one
change, secrets kept out of state, and destroy."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import DevClusterHandle, MotoS3
from tests.integration.test_engine import kubectl_get, run

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SHARED_FLUX = REPO.parent / "shared" / "flux"
STACK = "local"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, dev_cluster: DevClusterHandle) -> Path:
    """A copy of the project whose local stack points at this session's cluster."""
    dest = tmp_path_factory.mktemp("project")
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, dest / name)
    for name in ("components", "clusters", ".venv"):
        (dest / name).symlink_to(REPO / name)
    stack = yaml.safe_load((REPO / f"Pulumi.{STACK}.yaml").read_text())
    stack["config"]["eoepca-gitops:flux"]["manifest"] = str(SHARED_FLUX)
    stack["config"]["eoepca-gitops:kubeconfig"] = str(dev_cluster.kubeconfig)
    stack.pop("encryptionsalt", None)  # the repo's salt is for the documented passphrase, not the tests'
    (dest / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(stack, sort_keys=False))
    return dest


@pytest.fixture(scope="module")
def env(
    project: Path, tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("state")
    env = {**tools_env, "PULUMI_BACKEND_URL": f"file://{state}"}
    run(["pulumi", "stack", "init", STACK], project, env)
    yield env
    run(["pulumi", "destroy", "--yes", "--stack", STACK], project, env, timeout=600)


def pulumi(project: Path, env: dict[str, str], *args: str) -> str:
    return run(["pulumi", *args, "--stack", STACK, "--non-interactive"], project, env, timeout=600)


def count(cluster: DevClusterHandle, resource: str) -> int:
    listed = kubectl_get(cluster, resource, "-A")
    assert listed is not None
    return len(listed["items"])


def test_up_preview_change_secrets_destroy(
    project: Path, env: dict[str, str], dev_cluster: DevClusterHandle
) -> None:
    pulumi(project, env, "up", "--yes", "--skip-preview")

    # Flux itself: controllers Available through the fake node, CRDs established.
    for name in ("source-controller", "kustomize-controller", "helm-controller", "notification-controller"):
        deployment = kubectl_get(dev_cluster, "deployment", name, "-n", "flux-system")
        assert deployment is not None and deployment["status"].get("availableReplicas") == 1, name
    assert count(dev_cluster, "customresourcedefinitions") == 11
    # Every EOEPCA object, accepted by the API server against the real Flux schemas.
    assert count(dev_cluster, "helmreleases.helm.toolkit.fluxcd.io") == 25
    assert count(dev_cluster, "helmrepositories.source.toolkit.fluxcd.io") == 11
    assert count(dev_cluster, "kustomizations.kustomize.toolkit.fluxcd.io") == 6
    portal = kubectl_get(dev_cluster, "helmrelease", "eoepca-portal", "-n", "demo")
    assert portal is not None
    assert "127-0-0-1.nip.io" in json.dumps(portal["spec"]["values"])
    cluster_vars = kubectl_get(dev_cluster, "configmap", "cluster-vars", "-n", "flux-system")
    assert cluster_vars is not None and cluster_vars["data"]["public_ip"] == "127.0.0.1"

    pulumi(project, env, "preview", "--expect-no-changes")

    # One value changed in the stack config: the preview shows exactly that one resource updated.
    run(
        [
            "pulumi",
            "config",
            "set",
            "--path",
            "--stack",
            STACK,
            "overrides.system-demo.releases.eoepca-portal.values.replicaCount",
            "3",
        ],
        project,
        env,
    )
    preview = json.loads(pulumi(project, env, "preview", "--json"))
    changed = [(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in preview["steps"] if s["op"] != "same"]
    assert changed == [("update", "HelmRelease/demo/eoepca-portal")]

    # A Git credential: a Pulumi secret, encrypted in state, never printed.
    stack_file = project / f"Pulumi.{STACK}.yaml"
    config = yaml.safe_load(stack_file.read_text())
    config["config"]["eoepca-gitops:git"]["auth"] = {"type": "https", "username": "reader"}
    stack_file.write_text(yaml.safe_dump(config, sort_keys=False))
    run(
        ["pulumi", "config", "set", "--secret", "--stack", STACK, "gitPassword", "token-1234567890"],
        project,
        env,
    )
    output = pulumi(project, env, "up", "--yes", "--skip-preview", "--diff")
    assert "token-1234567890" not in output
    exported = run(["pulumi", "stack", "export", "--stack", STACK], project, env)
    assert "token-1234567890" not in exported
    assert "token-1234567890" not in stack_file.read_text()
    secret = kubectl_get(dev_cluster, "secret", "flux-system", "-n", "flux-system")
    assert secret is not None and set(secret["data"]) == {"username", "password"}
    repo = kubectl_get(dev_cluster, "gitrepository", "flux-system", "-n", "flux-system")
    assert repo is not None and repo["spec"]["secretRef"] == {"name": "flux-system"}
    portal = kubectl_get(dev_cluster, "helmrelease", "eoepca-portal", "-n", "demo")
    assert portal is not None and portal["spec"]["values"]["replicaCount"] == 3

    pulumi(project, env, "destroy", "--yes", "--skip-preview")
    # Namespaces are deleted (Pulumi waits for the namespace controller), and with them everything in them.
    for gone in (
        ("namespace", "demo"),
        ("namespace", "flux-system"),
        ("crd", "helmreleases.helm.toolkit.fluxcd.io"),
    ):
        assert kubectl_get(dev_cluster, *gone) is None, gone


def test_bad_stack_config_changes_nothing(
    project: Path, env: dict[str, str], dev_cluster: DevClusterHandle
) -> None:
    stack_file = project / f"Pulumi.{STACK}.yaml"
    original = stack_file.read_text()
    stack_file.write_text(original.replace("publicIp: 127.0.0.1", "publicIp: 127.0.0"))
    try:
        proc = subprocess.run(
            ["pulumi", "up", "--yes", "--stack", STACK, "--non-interactive"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode != 0
        assert (
            f"Pulumi.{STACK}.yaml: eoepca-gitops:cluster.publicIp: Input is not a valid IPv4 address"
            in proc.stdout + proc.stderr
        )
        assert "Traceback" not in proc.stdout + proc.stderr
        assert kubectl_get(dev_cluster, "namespace", "flux-system") is None
        assert kubectl_get(dev_cluster, "crd", "helmreleases.helm.toolkit.fluxcd.io") is None
    finally:
        stack_file.write_text(original)


def test_bucket_source_on_moto_s3(
    project: Path, env: dict[str, str], dev_cluster: DevClusterHandle, moto_s3: MotoS3
) -> None:
    """A Bucket source whose credentials, read back from the cluster, open the real S3 endpoint."""
    import base64

    import boto3

    stack_file = project / f"Pulumi.{STACK}.yaml"
    original = stack_file.read_text()
    config = yaml.safe_load(original)
    config["config"]["eoepca-gitops:buckets"] = [
        {
            "name": "manifests",
            "bucketName": "gitops-manifests",
            "endpoint": f"127.0.0.1:{moto_s3.port}",
            "insecure": True,
            "region": "us-east-1",
            "accessKeySecret": "s3AccessKey",
            "secretKeySecret": "s3SecretKey",
        }
    ]
    config["config"]["eoepca-gitops:blocks"] = []
    config["config"].pop("eoepca-gitops:overrides", None)
    stack_file.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        for key, value in (("s3AccessKey", "testing"), ("s3SecretKey", "testing")):
            run(["pulumi", "config", "set", "--secret", "--stack", STACK, key, value], project, env)
        pulumi(project, env, "up", "--yes", "--skip-preview")
        bucket = kubectl_get(dev_cluster, "bucket", "manifests", "-n", "flux-system")
        assert bucket is not None and bucket["spec"]["endpoint"] == f"127.0.0.1:{moto_s3.port}"
        secret = kubectl_get(dev_cluster, "secret", "manifests-bucket", "-n", "flux-system")
        assert secret is not None
        creds = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        s3 = boto3.client(
            "s3",
            endpoint_url=moto_s3.endpoint,
            region_name="us-east-1",
            aws_access_key_id=creds["accesskey"],
            aws_secret_access_key=creds["secretkey"],
        )
        s3.create_bucket(Bucket="gitops-manifests")
        s3.put_object(Bucket="gitops-manifests", Key="apps/kustomization.yaml", Body=b"resources: []\n")
        listed = s3.list_objects_v2(Bucket=bucket["spec"]["bucketName"])
        assert [o["Key"] for o in listed["Contents"]] == ["apps/kustomization.yaml"]
        s3.close()
    finally:
        stack_file.write_text(original)
        pulumi(project, env, "destroy", "--yes", "--skip-preview")
