"""The Kubernetes OpenAPI that validation reads against what the real kube-apiserver v1.37.2 (built
by scripts/tools.sh) serves: `fetch-schemas --kubeconfig` caches the latter from the dev cluster.
The k8s.io/kubernetes module's api/openapi-spec/v3 (the default source) holds the same schemas but
for the enums of built-in kinds, which Kubernetes leaves out of those files
(hack/update-openapi-spec.sh runs the server with OpenAPIEnums=false): served, they make
validation stricter (a Service port's protocol `tcp` is refused, as the API server refuses it);
the stacks validate the same with either."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.cli.validate import stack_catalog, stack_objects
from eoepca_gitops.fluxtree.kustomize import kubectl
from eoepca_gitops.schemas import KUBERNETES_VERSION, kubernetes_openapi_dir, validate
from eoepca_gitops.schemas.openapi import group_versions
from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.integration


def schemas(folder: Path, file: str) -> dict[str, Any]:
    return dict(json.loads((folder / file).read_text()).get("components", {}).get("schemas", {}))


def without_enums(schema: Any) -> Any:
    """The schema without its enums and descriptions (which list the enum values when served)."""
    if isinstance(schema, dict):
        return {k: without_enums(v) for k, v in schema.items() if k not in ("enum", "description")}
    if isinstance(schema, list):
        return [without_enums(v) for v in schema]
    return schema


WIDGETS = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.org"},
    "spec": {
        "group": "example.org",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


def kubectl_on(cluster: DevClusterHandle, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [kubectl(), "--kubeconfig", str(cluster.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@pytest.fixture
def widgets(dev_cluster: DevClusterHandle) -> Iterator[None]:
    """A CRD the cluster serves (the session's cluster: deleted afterwards)."""
    kubectl_on(dev_cluster, "apply", "-f", "-", stdin=json.dumps(WIDGETS))
    try:
        kubectl_on(dev_cluster, "wait", "--for", "condition=Established", "crd/widgets.example.org")
        deadline = time.monotonic() + 60
        while (
            "apis/example.org/v1"
            not in json.loads(kubectl_on(dev_cluster, "get", "--raw", "/openapi/v3"))["paths"]
        ):
            assert time.monotonic() < deadline, "the API server does not serve the CRD's OpenAPI"
            time.sleep(0.5)
        yield
    finally:
        kubectl_on(dev_cluster, "delete", "crd", "widgets.example.org")


def test_the_cache_from_the_api_server_matches_the_go_module(
    dev_cluster: DevClusterHandle,
    widgets: None,
    kubernetes_openapi: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = kubernetes_openapi_dir()  # filled from the Go module by the session fixture
    assert (module / "SOURCE").read_text().endswith("(Go module)\n")
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["fetch-schemas", "--kubeconfig", str(dev_cluster.kubeconfig)])
    assert result.exit_code == 0, result.output
    served = tmp_path / "openapi" / KUBERNETES_VERSION
    assert result.output.startswith(f"cached the OpenAPI of Kubernetes {KUBERNETES_VERSION} in {served} (")
    assert (served / "SOURCE").read_text().startswith(f"kube-apiserver {KUBERNETES_VERSION}")
    served_versions, module_versions = group_versions(served), group_versions(module)
    assert "example.org/v1" not in served_versions
    # what a default kube-apiserver serves is the module's set less the APIs it leaves off (alpha, beta)
    assert {"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"} <= set(
        served_versions
    )
    assert set(served_versions) <= set(module_versions)
    for api_version, file in served_versions.items():
        served_schemas, module_schemas = schemas(served, file), schemas(module, module_versions[api_version])
        assert without_enums(served_schemas) == without_enums(module_schemas), api_version
    port = schemas(served, "api__v1_openapi.json")["io.k8s.api.core.v1.ServicePort"]["properties"]
    assert port["protocol"]["enum"] == ["SCTP", "TCP", "UDP"]
    assert (
        "enum"
        not in schemas(module, "api__v1_openapi.json")["io.k8s.api.core.v1.ServicePort"]["properties"][
            "protocol"
        ]
    )


def test_validation_with_the_api_server_s_documents(
    dev_cluster: DevClusterHandle, kubernetes_openapi: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same problems for a misspelt field; the enums served add one for a value out of them."""
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
    service = next(path for path in objects if "/Service_" in path)
    ports = objects[service]["spec"]["ports"]
    broken[service] = {
        **objects[service],
        "spec": {**objects[service]["spec"], "ports": [{**ports[0], "protocol": "tcp"}]},
    }
    from_module = validate(broken.items(), stack_catalog(model))
    clean = validate(objects.items(), stack_catalog(model))
    assert clean and all(p.note for p in clean)
    assert [p.field for p in from_module if not p.note] == ["spec.template.spec.containers[0].imagee"]
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["fetch-schemas", "--kubeconfig", str(dev_cluster.kubeconfig)])
    assert result.exit_code == 0, result.output
    from_server = validate(broken.items(), stack_catalog(model))
    assert [(p.field, p.message) for p in from_server if not p.note] == [
        ("spec.template.spec.containers[0].imagee", "unknown field (did you mean 'image'?)"),
        ("spec.ports[0].protocol", "must be one of 'SCTP', 'TCP', 'UDP'; got string 'tcp'"),
    ]
    assert validate(objects.items(), stack_catalog(model)) == clean  # only notes: SealedSecret, ...
