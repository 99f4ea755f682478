"""`pulumi up` ends as soon as Flux's answer is final, failing with Flux's own reason (issue 31), on
the dev cluster with the real Flux controllers.

Each case is a block of its own (tests/integration/await_cases.py), written into the served
repository's clusters/blocks/ and enabled beside system-common on a stack of its own (`await`, a
copy of the local stack), so one case's failure leaves the next case's cluster as it was. The await timeout
is 5 minutes: a failure reported with Flux's message (not the timeout's) is one that did not wait
for it. How long each took is measured by the bench (python -m bench --only 16), not here.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DevClusterHandle
from tests.integration.await_cases import DEPENDENCY, enable, old_program, remove_blocks, write_blocks
from tests.integration.local_stack import LocalStack, local_stack_file, ready, stack_env

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]

STACK = "await"
AWAIT = "pulumi-python:dynamic/eoepca:FluxAwait"


@pytest.fixture(scope="module")
def stack(
    dev_cluster: DevClusterHandle, tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """Stack `await` in the served repository: the local stack's settings pointed at this cluster,
    system-common alone, and the cases' blocks beside the project's."""
    assert dev_cluster.git_repo and dev_cluster.git_url and dev_cluster.charts_url
    project = dev_cluster.git_repo
    env = stack_env(tools_env, tmp_path_factory.mktemp("await-state"))
    raw = local_stack_file(dev_cluster)
    config = raw["config"]
    config["eoepca-gitops:blocks"] = ["system-common"]
    (project / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    write_blocks(project)
    local = LocalStack(dev_cluster, project, env, name=STACK)
    local.commit("the await cases' stack and blocks")
    subprocess.run(["pulumi", "stack", "init", STACK], cwd=project, env=env, check=True, capture_output=True)
    yield local
    local.pulumi("destroy", "--yes", "--skip-preview", check=False)
    remove_blocks(project)
    (project / f"Pulumi.{STACK}.yaml").unlink()
    local.commit("the await cases are done")


def use(stack: LocalStack, name: str) -> None:
    """Only system-common and case `name` (await_cases.enable)."""
    stack.edit_config(lambda c: enable(c, name))


def up(stack: LocalStack) -> subprocess.CompletedProcess[str]:
    return stack.pulumi("up", "--yes", "--skip-preview", check=False)


def failure(proc: subprocess.CompletedProcess[str]) -> str:
    """The update's failure as `pulumi up` shows it: the wait's one-line error."""
    assert proc.returncode != 0, proc.stdout
    lines = [ln.strip() for ln in proc.stdout.splitlines() if "FluxNotReady: " in ln]
    assert lines, proc.stdout
    assert "Traceback" not in proc.stdout
    print(proc.stdout)  # what an operator sees (pytest -s)
    return lines[-1]


def test_an_existing_stack_keeps_its_objects_and_gains_the_waits(stack: LocalStack, tmp_path: Path) -> None:
    """A stack `pulumi up`ed by the project before this change (objects with pulumi.com/waitFor):
    the next `pulumi up` updates its Flux objects in place and creates the waits; nothing else."""
    old = old_program(tmp_path / "old")
    use(stack, "await-slow")
    write_blocks(old)
    (old / f"Pulumi.{STACK}.yaml").write_text(stack.stack_file.read_text())
    before = subprocess.run(
        ["pulumi", "up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive"],
        cwd=old, env=stack.env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert before.returncode == 0, before.stdout + before.stderr
    slow = stack.get("helmrelease", "slow", "await-slow")
    assert slow["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"

    preview = json.loads(stack.pulumi("preview", "--json").stdout)
    steps = [(s["op"], s["urn"].split("::")[-2].split("$")[-1], s["urn"].rsplit("::", 1)[-1])
             for s in preview["steps"] if s["op"] != "same"]  # fmt: skip
    assert not [s for s in steps if s[0] not in ("update", "create")], steps
    assert ("create", AWAIT, "await-slow") in steps
    updated = {name for op, _, name in steps if op == "update"}
    assert "HelmRelease/await-slow/slow" in updated
    # What changes on an updated Flux object: only the provider's annotations go.
    for s in preview["steps"]:
        if s["op"] == "update" and s["urn"].endswith("HelmRelease/await-slow/slow"):
            assert set(s.get("diffReasons") or []) <= {"metadata"}, s.get("diffReasons")

    stack.pulumi("up", "--yes", "--skip-preview")
    after = stack.get("helmrelease", "slow", "await-slow")
    assert after["metadata"]["uid"] == slow["metadata"]["uid"]  # the same object: no replace
    assert "pulumi.com/waitFor" not in (after["metadata"].get("annotations") or {})
    stack.pulumi("preview", "--expect-no-changes")


def test_a_release_that_takes_a_while_still_succeeds(stack: LocalStack) -> None:
    def slower(c: dict[str, Any]) -> None:
        c["overrides"] = {"await-slow": {"releases": {"slow": {"values": {"replicaCount": 2}}}}}

    stack.edit_config(slower)
    proc = up(stack)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    slow = stack.get("helmrelease", "slow", "await-slow")
    assert ready(slow)
    record = stack.helm_release("await-slow", "slow")
    assert record is not None and (record.status, record.values["replicaCount"]) == ("deployed", 2)
    # The wait showed what it waited for on its row while the new pod was not Ready yet.
    assert f"{AWAIT} await-slow updating" in proc.stdout
    assert "HelmRelease await-slow/slow: " in proc.stdout


def test_a_chart_version_that_does_not_exist_fails_with_flux_s_message(stack: LocalStack) -> None:
    use(stack, "await-version")
    line = failure(up(stack))
    assert "FluxNotReady: block await-version: Flux reports HelmRelease await-version/app failed: " in line
    assert (
        "SourceNotReady: HelmChart 'common/await-version-app' is not ready: invalid chart reference" in line
    )
    assert "no 'eoepca-portal' chart with version matching '9.9.9' found" in line


def test_values_that_fail_the_chart_s_schema_fail_with_flux_s_message(stack: LocalStack) -> None:
    use(stack, "await-schema")
    line = failure(up(stack))
    assert "FluxNotReady: block await-schema: Flux reports HelmRelease await-schema/app failed: " in line
    assert "InstallFailed: " in line and "schema" in line and "replicaCount" in line


def test_a_kustomization_whose_path_is_not_in_git_fails_with_flux_s_message(stack: LocalStack) -> None:
    use(stack, "await-path")
    line = failure(up(stack))
    assert (
        "FluxNotReady: block await-path: Flux reports Kustomization flux-system/await-path failed: " in line
    )
    assert "ArtifactFailed: kustomization path not found" in line and "await-path-is-not-in-git" in line


def test_a_release_whose_dependency_failed_fails_naming_it(stack: LocalStack) -> None:
    manifest = stack.project.parent / "await-dep.yaml"
    manifest.write_text(yaml.safe_dump(DEPENDENCY))
    stack.kubectl("apply", "-f", str(manifest))
    try:
        use(stack, "await-dependency")
        line = failure(up(stack))
    finally:
        stack.kubectl("delete", "-f", str(manifest), "--wait=false")
    assert "Flux reports HelmRelease await-dependency/app failed: DependencyNotReady: " in line
    assert "dependency HelmRelease common/await-dep failed: SourceNotReady: " in line
    assert "version matching '9.9.9'" in line


def test_what_never_settles_fails_at_the_timeout_saying_what_it_waited_for(stack: LocalStack) -> None:
    def short(c: dict[str, Any]) -> None:
        c["blocks"] = ["system-common", "await-slow"]
        c["overrides"] = {"await-slow": {"releases": {"slow": {"values": {"readyAfter": "10m"}}}}}
        c["await"]["timeout"] = "15s"

    stack.edit_config(short)
    line = failure(up(stack))
    assert "FluxNotReady: block await-slow: not Ready within await.timeout (15s): " in line
    assert "HelmRelease await-slow/slow was waiting: " in line
