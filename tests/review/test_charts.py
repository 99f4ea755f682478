"""Charts fetched with helm and cached (a script stands in for helm here; the real helm against a
chart repository: tests/integration/test_diff_helm.py)."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

from eoepca_gitops.review.charts import ChartMissing, ChartUnavailable, Helm, cache_dir, fetch
from eoepca_gitops.review.helm_layer import HelmRenderer
from eoepca_gitops.review.releases import ChartSource, ReleaseInput

REPO = ChartSource("repository", "https://charts.example.org/", "login-service", "1.2.8")


def _helm(tmp_path: Path, body: str) -> Helm:
    """A `helm` that runs `body` (sh), with its arguments logged to calls.log."""
    script = tmp_path / "helm"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/calls.log\n{body}\n')
    script.chmod(0o755)
    return Helm(script, tmp_path / "home")


# `helm pull ... --destination DIR` writes DIR/<chart>-<version>.tgz
PULL = 'while [ "$1" != "--destination" ]; do shift; done; echo chart > "$2/login-service-1.2.9.tgz"'


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path / "cache"))
    return cache_dir()


def test_a_pulled_chart_is_cached_by_url_chart_and_version(tmp_path: Path, cache: Path) -> None:
    helm = _helm(tmp_path, PULL)
    first = fetch(helm, ChartSource("repository", REPO.url, REPO.chart, "~1.2"), tmp_path)
    assert first.name == "login-service-1.2.9.tgz" and first.parent.parent == cache
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[0].startswith(
        "pull login-service --repo https://charts.example.org/ --version ~1.2 --destination "
    )
    # an exact version in the cache is never asked for again; a constraint always is
    assert fetch(helm, ChartSource("repository", REPO.url, REPO.chart, "1.2.9"), tmp_path) == first
    assert fetch(helm, ChartSource("repository", REPO.url, REPO.chart, "v1.2.9"), tmp_path) == first
    assert len((tmp_path / "calls.log").read_text().splitlines()) == 1
    other = fetch(
        helm, ChartSource("repository", "https://mirror.example.org/eoepca/", REPO.chart, "1.2.9"), tmp_path
    )
    assert other != first and len((tmp_path / "calls.log").read_text().splitlines()) == 2


def test_an_oci_chart_is_pulled_by_reference(tmp_path: Path) -> None:
    fetch(
        _helm(tmp_path, PULL), ChartSource("oci", "oci://ghcr.io/eoepca/", "login-service", "1.2.9"), tmp_path
    )
    assert (
        (tmp_path / "calls.log")
        .read_text()
        .startswith("pull oci://ghcr.io/eoepca/login-service --version 1.2.9 ")
    )


def test_helm_runs_with_homes_of_its_own(tmp_path: Path) -> None:
    helm = _helm(tmp_path, "")
    assert {helm.env[k] for k in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")} == {
        str(tmp_path / "home" / d) for d in ("cache", "config", "data")
    }


@pytest.mark.parametrize(
    ("stderr", "error"),
    [
        ('Error: chart "login-service" version "9.9.9" not found in https://x.org/ repository', ChartMissing),
        ('Error: chart "nope" not found in https://charts.example.org/ repository', ChartMissing),
        (
            'Error: looks like "https://u:s3cr3t@charts.example.org/" is not a valid chart repository or '
            "cannot be reached: dial tcp: lookup charts.example.org: no such host",
            ChartUnavailable,
        ),
    ],
)
def test_missing_and_unavailable_are_told_apart(tmp_path: Path, stderr: str, error: type[Exception]) -> None:
    helm = _helm(tmp_path, f"echo '{stderr}' >&2; exit 1")
    with pytest.raises(error) as exc:
        fetch(helm, REPO, tmp_path)
    assert not str(exc.value).startswith("Error:") and "s3cr3t" not in str(exc.value)


def test_a_chart_folder_of_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "charts" / "x").mkdir(parents=True)
    (project / "charts" / "x" / "Chart.yaml").write_text("name: x\n")
    helm = _helm(tmp_path, "exit 1")
    assert (
        fetch(helm, ChartSource("folder", "./charts/x", "", "*"), project)
        == (project / "charts" / "x").resolve()
    )
    with pytest.raises(ChartMissing, match=r"no Chart\.yaml in \./charts "):
        fetch(helm, ChartSource("folder", "./charts", "", "*"), project)
    with pytest.raises(ChartUnavailable, match="leads outside"):
        fetch(helm, ChartSource("folder", "../../etc", "", "*"), project)


def _chart(cache: Path) -> Path:
    """A packaged chart in the cache, as `helm pull` leaves it, with a values file of its own."""
    entry = cache / "x" / "login-service-1.2.8.tgz"
    entry.parent.mkdir(parents=True)
    with tarfile.open(entry, "w:gz") as tar:
        for name, text in (
            ("Chart.yaml", "name: login-service\n"),
            ("values-prod.yaml", "replicaCount: 5\n"),
        ):
            info = tarfile.TarInfo(f"login-service/{name}")
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    return entry


def test_helm_template_gets_the_release_as_helm_controller_gives_it(tmp_path: Path) -> None:
    # template: its arguments and every --values file into a log, one ConfigMap out
    helm = _helm(
        tmp_path,
        'for a in "$@"; do case "$a" in *.yaml) cat "$a" >> ' + str(tmp_path) + "/values.log;; esac; done\n"
        "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: x}\\n---\\n# empty\\n'",
    )
    release = ReleaseInput("um-login-service", "um", REPO, {"replicaCount": 2}, ("values-prod.yaml",), True)
    with mock.patch("eoepca_gitops.review.helm_layer.fetch", return_value=_chart(tmp_path / "c")):
        objects = HelmRenderer(helm).render(release, tmp_path, upgrade=False)
        HelmRenderer(helm).render(replace(release, include_crds=False), tmp_path, upgrade=True)
    assert objects == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]
    install, upgrade = (tmp_path / "calls.log").read_text().splitlines()
    chart = tmp_path / "c" / "x" / "login-service-1.2.8.tgz"
    assert install.startswith(f"template um-login-service {chart} --namespace um --skip-tests --values ")
    assert install.endswith(" --include-crds") and "--is-upgrade" not in install
    assert upgrade.endswith(" --is-upgrade") and "--include-crds" not in upgrade
    # the chart's values file first, then the release's values
    assert (tmp_path / "values.log").read_text().startswith("replicaCount: 5\nreplicaCount: 2\n")
