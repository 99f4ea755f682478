"""`eoepca-gitops diff` with its Helm layer against the dev cluster's chart repository (real helm, the
stand-in charts served over HTTP): a chart version bump and a changed value show as field lines of
the rendered objects (a Deployment's image, its replicas), a version the repository does not have
fails the run prominently, and an unreachable repository is one note while the rest stands.

The charts are published into a folder of their own in the chart repository (the stack's
`charts.mirror` points at it), so the other tests of the session see the repository unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.devcluster import charts
from eoepca_gitops.devcluster.layout import StateLayout
from eoepca_gitops.devcluster.snapshot import snapshot_repository
from eoepca_gitops.devcluster.tools import find_binary, tools_bin_dir
from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "eoepca-gitops")
FOLDER = "diff-test"  # the chart repository's folder of this test
LOGIN = "user-management"


def _git(repo: Path, *args: str) -> None:
    who = ["-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "-C", str(repo), *who, *args], check=True, capture_output=True)


def _edit(project: Path, change: dict[str, object]) -> None:
    path = project / "Pulumi.local.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["config"].update(change)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def _releases(**releases: Any) -> dict[str, object]:
    return {"eoepca-gitops:overrides": {LOGIN: {"releases": releases}}}


@pytest.fixture(scope="module")
def project(dev_cluster: DevClusterHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_binary("helm") is None:
        pytest.fail(f"helm is not in {tools_bin_dir()}: build it with `scripts/tools.sh helm`", pytrace=False)
    assert dev_cluster.charts_url
    served = snapshot_repository(REPO_ROOT, tmp_path_factory.mktemp("diff-project"))
    _edit(served, {"eoepca-gitops:charts": {"mirror": f"{dev_cluster.charts_url}{FOLDER}"}})
    _git(served, "commit", "-qam", "base: charts from the test's folder")
    wanted = [*charts.charts_of_project(served), charts.ChartRef("eoepca", "login-service", "1.2.9")]
    charts.write_repository(
        wanted, StateLayout(dev_cluster.state_dir).charts / FOLDER, charts.repositories_of_project(served)
    )
    return served


def _diff(project: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EOEPCA_CACHE_DIR": str(tmp / "cache")}
    return subprocess.run(
        [CLI, "diff", "--stack", "local", "--project", str(project), "--format", "markdown", *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )


def test_a_chart_bump_and_a_value_show_as_rendered_field_lines(project: Path, tmp_path: Path) -> None:
    _edit(
        project,
        _releases(
            **{"um-login-service": {"version": "1.2.9"}, "um-pdp-engine": {"values": {"replicaCount": 3}}}
        ),
    )
    try:
        result = _diff(project, tmp_path)
    finally:
        _git(project, "checkout", "--", "Pulumi.local.yaml")
    assert result.returncode == 1, result.stderr
    md = result.stdout
    assert "**Helm layer** · `HelmRelease um/um-login-service`: login-service 1.2.8 -> 1.2.9" in md
    assert "-      - image: registry.invalid/eoepca-gitops/stand-in/login-service:1.2.8" in md
    assert "+      - image: registry.invalid/eoepca-gitops/stand-in/login-service:1.2.9" in md
    assert "**Helm layer** · `HelmRelease um/um-pdp-engine`: pdp-engine 1.1.12, values changed" in md
    assert "-  replicas: 1\n+  replicas: 3" in md
    assert "+      version: 1.2.9" in md  # and the HelmRelease itself, in the Pulumi layer
    cached = list((tmp_path / "cache" / "charts").glob("*/login-service-1.2.9.tgz"))
    assert len(cached) == 1, "each chart version fetched once into the cache"
    assert result.stderr.strip().endswith("1 of 1 stack(s) changed: local")


def test_a_version_the_repository_does_not_have_fails_the_run(project: Path, tmp_path: Path) -> None:
    _edit(project, _releases(**{"um-login-service": {"version": "9.9.9"}}))
    try:
        result = _diff(project, tmp_path)
    finally:
        _git(project, "checkout", "--", "Pulumi.local.yaml")
    assert result.returncode == 2, result.stderr
    assert "> [!CAUTION]" in result.stdout
    assert 'chart \\"login-service\\" version \\"9.9.9\\" not found' not in result.stdout
    assert 'version "9.9.9" not found' in result.stdout
    assert result.stderr.splitlines()[-1].startswith(
        "error: stack local: HelmRelease um/um-login-service: head:"
    )


def test_an_unreachable_repository_is_a_note_and_the_rest_stands(project: Path, tmp_path: Path) -> None:
    _edit(
        project,
        {
            "eoepca-gitops:charts": {"mirror": "http://127.0.0.1:9/nothing"},
            **_releases(**{"um-login-service": {"version": "1.2.9"}}),
        },
    )
    try:
        result = _diff(project, tmp_path, "--format", "text")
    finally:
        _git(project, "checkout", "--", "Pulumi.local.yaml")
    assert result.returncode == 1, result.stderr
    assert "  HelmRelease um/um-login-service: login-service 1.2.8 -> 1.2.9, from http" in result.stdout
    assert "    note: chart not fetched at head: " in result.stdout  # the base's repository answers
    assert "~ HelmRepository common/eoepca" in result.stdout  # the Pulumi layer stands
