"""The Kubernetes OpenAPI that validation reads is what the real kube-apiserver v1.37.2 (built by
scripts/tools.sh) serves: `fetch-schemas --kubeconfig` caches it from the dev cluster, its
documents hold the same schemas as the k8s.io/kubernetes module's api/openapi-spec/v3 (the way the
cache is filled by default), and validating the creodias stack gives the same answer with either."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.cli.validate import stack_catalog, stack_objects
from eoepca_gitops.fluxtree.kustomize import kubectl
from eoepca_gitops.schemas import KUBERNETES_VERSION, kubernetes_openapi_dir, validate
from eoepca_gitops.schemas.openapi import group_versions
from tests.conftest import REPO_ROOT, DevClusterHandle

pytestmark = pytest.mark.integration


def schemas(folder: Path, file: str) -> dict[str, object]:
    return dict(json.loads((folder / file).read_text())["components"]["schemas"])


def test_the_cache_from_the_api_server_matches_the_go_module(
    dev_cluster: DevClusterHandle, kubernetes_openapi: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = kubernetes_openapi_dir()  # filled from the Go module by the session fixture
    assert (module / "SOURCE").read_text().endswith("(Go module)\n")
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["fetch-schemas", "--kubeconfig", str(dev_cluster.kubeconfig)])
    assert result.exit_code == 0, result.output
    served = tmp_path / "openapi" / KUBERNETES_VERSION
    assert result.output.startswith(f"cached the OpenAPI of Kubernetes {KUBERNETES_VERSION} in {served} (")
    assert (served / "SOURCE").read_text().startswith(f"kube-apiserver {KUBERNETES_VERSION}")

    crds = subprocess.run(
        [kubectl(), "--kubeconfig", str(dev_cluster.kubeconfig), "get", "crd", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    custom = {
        f"{c['spec']['group']}/{v['name']}"
        for c in json.loads(crds.stdout)["items"]
        for v in c["spec"]["versions"]
    }
    served_versions, module_versions = group_versions(served), group_versions(module)
    assert custom and not custom & set(served_versions)  # the cluster's CRDs are not cached as built-in kinds
    # what a default kube-apiserver serves is the module's set less the APIs it leaves off (alpha, beta)
    assert {"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"} <= set(
        served_versions
    )
    assert set(served_versions) <= set(module_versions)
    for api_version, file in served_versions.items():
        assert schemas(served, file) == schemas(module, module_versions[api_version]), api_version


def test_validation_is_the_same_with_the_api_server_s_documents(
    dev_cluster: DevClusterHandle, kubernetes_openapi: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, objects = stack_objects("creodias", REPO_ROOT, flux_layer=True)
    broken = {**objects}
    deployment = next(path for path in objects if "/Deployment_" in path)
    container = broken[deployment]["spec"]["template"]["spec"]["containers"][0]
    broken[deployment] = {
        **objects[deployment],
        "spec": {
            **objects[deployment]["spec"],
            "template": {"spec": {"containers": [{**container, "imagee": container["image"]}]}},
        },
    }
    from_module = validate(broken.items(), stack_catalog(model, REPO_ROOT))
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["fetch-schemas", "--kubeconfig", str(dev_cluster.kubeconfig)])
    assert result.exit_code == 0, result.output
    from_server = validate(broken.items(), stack_catalog(model, REPO_ROOT))
    assert from_server == from_module
    assert [p.field for p in from_server if not p.note] == ["spec.template.spec.containers[0].imagee"]
