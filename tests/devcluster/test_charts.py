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

ROOT = Path(__file__).resolve().parents[2]


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
    refs = {(r.repository, r.chart, r.version) for r in charts_of_project(ROOT)}
    assert ("eoepca", "login-service", "1.2.8") in refs
    assert ("nginx", "ingress-nginx", "4.4.0") in refs  # "<4.5.0" in the block
    assert ("jetstack", "cert-manager", "1.16.3") in refs


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
