"""Stand-in charts: versions picked from Helm ranges, the packaged chart, the repository index."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import jsonschema
import pytest
import yaml

from eoepca_gitops.devcluster.charts import (
    READY_AFTER,
    ChartRef,
    charts_of_project,
    package,
    pick_version,
    write_repository,
)
from eoepca_gitops.errors import GitopsError
from tests.helpers import REPO_ROOT


@pytest.mark.parametrize(
    ("spec", "picked"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.0.7", "1.0.7"),
        ("<4.5.0", "4.4.0"),
        ("~1.2", "1.2.1"),
        ("^2.1.0", "2.2.0"),
        (">=1.0.0 <2.0.0", "1.1.0"),
        ("1.x", "1.1.0"),
        (">1.2.3, <1.4", "1.3.0"),
        ("4.x || 5.x", "5.1.0"),
        ("!=1.2.0, >=1.1.0 <1.3.0", "1.2.1"),
    ],
)
def test_pick_version_satisfies_the_range(spec: str, picked: str) -> None:
    assert pick_version(spec) == picked


def test_a_range_nothing_satisfies_is_an_error() -> None:
    with pytest.raises(GitopsError, match="no version found"):
        pick_version(">2.0.0 <1.0.0")


def _files(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_a_stand_in_chart_uses_the_release_values() -> None:
    files = _files(package("login-service", "1.2.8"))
    assert yaml.safe_load(files["login-service/Chart.yaml"])["version"] == "1.2.8"
    template = files["login-service/templates/stand-in.yaml"]
    assert "toYaml .Values" in template and ".Values.replicaCount" in template
    assert "toYaml . | nindent 12" in template.split(".Values.securityContext")[1]  # verbatim
    assert not [f for f in files if "/crds/" in f]


def test_charts_whose_real_counterparts_install_crds_ship_them() -> None:
    files = _files(package("cert-manager", "1.16.3"))
    crds = {yaml.safe_load(text)["spec"]["names"]["kind"] for f, text in files.items() if "/crds/" in f}
    assert crds == {"ClusterIssuer", "Issuer", "Certificate"}
    assert "bitnami.com" in next(
        t for f, t in _files(package("sealed-secrets", "2.17.1")).items() if "/crds/" in f
    )


def test_repository_index_lists_each_chart_with_its_digest(tmp_path: Path) -> None:
    refs = [ChartRef("eoepca", "cheese", "1.0.1"), ChartRef("eoepca", "dummy", "1.0.1")]
    assert write_repository(refs, tmp_path, ["eoepca", "bitnami"]) == 2
    index = yaml.safe_load((tmp_path / "eoepca" / "index.yaml").read_text())
    entry = index["entries"]["cheese"][0]
    assert entry["urls"] == ["cheese-1.0.1.tgz"]
    assert (
        entry["digest"] == hashlib.sha256((tmp_path / "eoepca" / "cheese-1.0.1.tgz").read_bytes()).hexdigest()
    )
    # a repository no chart is taken from still answers (Flux fetches its index all the same)
    assert yaml.safe_load((tmp_path / "bitnami" / "index.yaml").read_text())["entries"] == {}


def test_every_chart_version_the_project_names_is_made() -> None:
    refs = {(r.repository, r.chart, r.version) for r in charts_of_project(REPO_ROOT)}
    assert ("eoepca", "login-service", "1.2.8") in refs
    assert ("nginx", "ingress-nginx", "4.4.0") in refs  # "<4.5.0" in the block
    assert ("jetstack", "cert-manager", "1.16.3") in refs


@pytest.mark.parametrize(
    ("spec", "picked"), [("<=1.3.0", "1.3.0"), ("<=2", "2.0.0"), (">=1.2.0, <=1.2.0", "1.2.0")]
)
def test_an_upper_bound_that_includes_itself_picks_it(spec: str, picked: str) -> None:
    assert pick_version(spec) == picked


def test_a_stand_in_chart_is_a_helm_v2_chart_and_its_crds_keep_any_field() -> None:
    files = _files(package("cert-manager", "1.16.3"))
    assert yaml.safe_load(files["cert-manager/Chart.yaml"]) == {
        "apiVersion": "v2",
        "appVersion": "1.16.3",
        "description": "Stand-in for the cert-manager chart (eoepca-gitops dev cluster)",
        "name": "cert-manager",
        "version": "1.16.3",
    }
    crd = yaml.safe_load(files["cert-manager/crds/clusterissuers.cert-manager.io.yaml"])
    assert crd["metadata"] == {"name": "clusterissuers.cert-manager.io"}
    assert crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] == {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }


def test_the_index_says_what_helm_reads(tmp_path: Path) -> None:
    write_repository([ChartRef("eoepca", "cheese", "1.0.1")], tmp_path)
    index = yaml.safe_load((tmp_path / "eoepca" / "index.yaml").read_text())
    assert (index["apiVersion"], index["generated"]) == ("v1", "1970-01-01T00:00:00Z")
    (entry,) = index["entries"]["cheese"]
    assert {k: v for k, v in entry.items() if k != "digest"} == {
        "apiVersion": "v2",
        "appVersion": "1.0.1",
        "created": "1970-01-01T00:00:00Z",
        "name": "cheese",
        "urls": ["cheese-1.0.1.tgz"],
        "version": "1.0.1",
    }
    assert sorted(p.name for p in (tmp_path / "eoepca").iterdir()) == ["cheese-1.0.1.tgz", "index.yaml"]


def test_a_stack_file_override_of_a_chart_version_is_made_too(tmp_path: Path) -> None:
    blocks = tmp_path / "clusters" / "blocks"
    blocks.mkdir(parents=True)
    (blocks / "apps.yaml").write_text(
        "name: apps\nhelmReleases:\n  - {name: web, namespace: apps, chart: web, version: 1.0.0,\n"
        "     sourceRef: {kind: HelmRepository, name: charts, namespace: apps}}\n"
        "helmRepositories:\n  - {name: charts, namespace: apps, url: https://charts.example.org}\n"
    )
    (tmp_path / "Pulumi.a.yaml").write_text(
        "config:\n  eoepca-gitops:overrides:\n"
        "    apps: {releases: {web: {version: 2.0.0}, other: {values: {}}}}\n"
    )
    (tmp_path / "Pulumi.b.yaml").write_text(
        "config:\n  eoepca-gitops:overrides:\n    apps: {releases: {web: {replicas: 2}}}\n"
    )
    assert charts_of_project(tmp_path) == [
        ChartRef("charts", "web", "1.0.0"),
        ChartRef("charts", "web", "2.0.0"),
    ]


def test_the_chart_repository_is_pythons_http_server_on_loopback(tmp_path: Path) -> None:
    import sys

    from eoepca_gitops.devcluster.charts import server_argv

    assert server_argv(tmp_path, 8181) == [
        sys.executable,
        "-m",
        "http.server",
        "8181",
        "--bind=127.0.0.1",
        f"--directory={tmp_path}",
    ]


def test_a_stand_in_chart_checks_its_values_against_a_schema() -> None:
    files = _files(package("login-service", "1.2.8"))
    schema = json.loads(files["login-service/values.schema.json"])
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid({"replicaCount": 2, "readyAfter": "1m30s", "anything": {"else": True}})
    assert not validator.is_valid({"replicaCount": "many"})
    assert not validator.is_valid({"replicaCount": -1})
    assert not validator.is_valid({"readyAfter": "soon"})


def test_ready_after_becomes_the_pod_annotation_kwok_delays_readiness_by() -> None:
    template = _files(package("login-service", "1.2.8"))["login-service/templates/stand-in.yaml"]
    assert f"{READY_AFTER}: {{{{ . | quote }}}}" in template and ".Values.readyAfter" in template
