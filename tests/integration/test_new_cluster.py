"""A new cluster from each shipped stack, end to end, on the dev cluster with the real Flux
controllers: `eoepca-gitops new-cluster` writes the copy, then every command of its checklist runs
exactly as printed, in a shell, from the project folder (the repository the dev cluster's Git
server serves), with only the <BLANK>s filled in; `pulumi up` follows as printed, and every Flux
source, Kustomization and HelmRelease becomes Ready with the Git layer applied. A command that
fails as printed fails the test.

The answers are the dev cluster's: its Git server (no credentials), its chart repository, the
cluster values Pulumi.local.yaml has, files holding stand-in values for the Secrets, and no sealed
secrets (there is no sealed-secrets controller to open them). For creodias the checklist's choices
are taken as a new cluster needs them here: Flux on the current default (the dev cluster runs the
v2.9.3 controllers, creodias v0.24.0) and the prerequisites block it leaves out.

The copies run one after the other on the session's one dev cluster, each destroyed before the next.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT
from tests.integration.local_stack import LocalStack, not_ready, ready, wait_for
from tests.outside_data import flux_manifests

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]

BIN = Path(sys.executable).parent
# Checklist steps an operator of the dev cluster follows besides the required ones, and the option
# taken where a step offers several.
FOLLOWED = ("env", "git-url", "git-ref", "charts", "block:", "check", "commit", "up", "notify:")
SKIPPED = ("domain", "sealed")  # nip.io hosts do; no sealed-secrets controller opens sealed secrets
CHOSEN = {"git-auth": "none", "flux-version": "default"}
CACHE_VALUES = """\
global:
  storage:
    cache:
      type: S3
      endpoint_url: "http://127.0.0.1:9000"
      access_key_id: test-placeholder
      secret_access_key: test-placeholder
      region: local
      bucket: cache-bucket
"""


@pytest.fixture(scope="module")
def project(dev_cluster: DevClusterHandle) -> Path:
    assert dev_cluster.git_repo and dev_cluster.git_url and dev_cluster.charts_url
    return dev_cluster.git_repo


def answers(dev_cluster: DevClusterHandle, files: Path) -> dict[str, str]:
    """A value for each blank a checklist may hold, as the dev cluster has them."""
    local = yaml.safe_load((REPO_ROOT / "Pulumi.local.yaml").read_text())["config"]["eoepca-gitops:cluster"]
    files.mkdir(exist_ok=True)
    (files / "cache-values.yaml").write_text(CACHE_VALUES)
    for hook in ("slack", "slack-external"):
        (files / hook).write_text(f"http://127.0.0.1:9/hooks/{hook}")  # nothing listens: events are dropped
    return {
        "GIT_URL": str(dev_cluster.git_url),
        "GIT_BRANCH": "main",
        "CHART_MIRROR_URL": str(dev_cluster.charts_url).rstrip("/"),
        "NFS_SERVER": local["nfs"]["server"],
        "NFS_PATH": local["nfs"]["path"],
        "EO_DATA_ENDPOINT": local["eoData"]["endpoint"],
        "EO_DATA_REGION": local["eoData"]["region"],
        "EO_DATA_CATALOGUE": local["eoData"]["catalogue"],
        "OBJECT_STORE_ENDPOINT": local["objectStore"]["endpoint"],
        "OBJECT_STORE_REGION": local["objectStore"]["region"],
        "CACHE_ACCESS_SECRET_VALUES_YAML_FILE": str(files / "cache-values.yaml"),
        "SLACK_URL_ADDRESS_FILE": str(files / "slack"),
        "SLACK_URL_EXTERNAL_ADDRESS_FILE": str(files / "slack-external"),
    }


def to_run(step: dict[str, Any]) -> list[str]:
    """The commands of a step the dev cluster's operator follows (none for a step left out)."""
    if step["id"].startswith(SKIPPED):
        return []
    known = step["required"] or step["id"].startswith(FOLLOWED) or step["id"] in CHOSEN
    assert known, f"a step this test does not know: {step}"
    if "options" in step:
        (option,) = [o for o in step["options"] if o["id"] == CHOSEN[step["id"]]]
        return list(option["commands"])
    return list(step["commands"])


def run_as_printed(command: str, filled: dict[str, str], project: Path, env: dict[str, str]) -> None:
    """Runs a checklist command in a shell as printed, each <BLANK> replaced by its (quoted) value."""
    for blank, value in filled.items():
        command = command.replace(f"<{blank}>", shlex.quote(value))
    left = re.findall(r"<[A-Z0-9_]+>", command)
    assert not left, f"blanks without an answer: {left} in {command}"
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", command],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"as printed, `{command}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )


@pytest.fixture
def environment(
    dev_cluster: DevClusterHandle, tools_env: dict[str, str], tmp_path: Path
) -> Iterator[dict[str, str]]:
    """An operator's shell for the new cluster: the variables the checklist's first step names."""
    state = tmp_path / "state"
    state.mkdir()
    yield {
        **tools_env,
        "PATH": f"{BIN}:{tools_env['PATH']}",  # eoepca-gitops and kubectl, as scripts/env.sh puts them
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "the new cluster's own passphrase",
        "KUBECONFIG": str(dev_cluster.kubeconfig),
        "PULUMI_PYTHON_CMD": sys.executable,
        "EOEPCA_FLUX_MANIFESTS": str(flux_manifests()),
        **{
            f"GIT_{who}_{what}": v
            for who in ("AUTHOR", "COMMITTER")
            for what, v in (("NAME", "t"), ("EMAIL", "t@example.org"))
        },
    }


@pytest.mark.parametrize("source", ["creodias", "minikube", "local"])
def test_a_new_cluster_from_a_shipped_stack_by_its_checklist(
    source: str, project: Path, dev_cluster: DevClusterHandle, environment: dict[str, str], tmp_path: Path
) -> None:
    name = f"new-{source}"
    made = subprocess.run(
        [str(BIN / "eoepca-gitops"), "new-cluster", name, "--from", source, "--ip", "127.0.0.1", "--json"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    checklist = json.loads(made.stdout)
    filled = answers(dev_cluster, tmp_path / "files")
    stack = LocalStack(dev_cluster, project, environment, name)
    try:
        for step in checklist["steps"]:
            assert all(variable in environment for variable in step.get("env", ()))
            for command in to_run(step):
                run_as_printed(command, filled, project, environment)
        wait_for(f"Flux to report every object of {name} Ready", lambda: not_ready(stack) == [], timeout=600)
        (repo,) = stack.get("gitrepositories")
        revision = repo["status"]["artifact"]["revision"]
        assert stack.get("kustomizations")
        # Ready again after each interval's reconciliation (Flux shows Unknown while it runs one).
        wait_for(
            "every Kustomization Ready, the Git layer applied at the source's revision",
            lambda: all(
                ready(k) and (k.get("status") or {}).get("lastAppliedRevision") == revision
                for k in stack.get("kustomizations")
            ),
            timeout=120,
        )
        assert stack.get("pvc", "dummy-service-pep-pvc", "test") is not None  # from clusters/flux/system-test
        assert len(stack.get("helmreleases")) >= 25
        secret = stack.get("secret", "cache-access-secret", "rm")
        assert secret is not None and set(secret["data"]) == {"values.yaml"}
        if source == "creodias":
            assert stack.get("secret", "slack-url", "flux-system") is not None
            assert {hr["apiVersion"] for hr in stack.get("helmreleases")} == {"helm.toolkit.fluxcd.io/v2"}
    finally:
        stack.pulumi("destroy", "--yes", "--skip-preview", check=False)
        (project / f"Pulumi.{name}.yaml").unlink(missing_ok=True)
        stack.commit(f"without {name}")
