"""`render` validates what it writes; `validate` and `fetch-schemas`, through typer's CliRunner; and
every object every shipped stack renders is valid."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.cli.validate import stack_catalog, stack_objects
from eoepca_gitops.schemas import KUBERNETES_VERSION, kubernetes_openapi_dir, validate
from tests.helpers import FIXTURES, REPO_ROOT
from tests.outside_data import link_shared_flux

FIXTURE = FIXTURES / "project"
FULL_STACK = FIXTURES / "full-stack"
PVC = "flux-layer/portal/PersistentVolumeClaim_demo_portal-data.yaml"
runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, kubernetes_openapi: str) -> Path:
    dest = tmp_path / "a" / "b" / "c" / "project"
    shutil.copytree(FIXTURE, dest, symlinks=False)
    link_shared_flux(tmp_path)
    return dest


@pytest.mark.flux_manifests
@pytest.mark.parametrize("stack", ["creodias", "minikube", "local"])
def test_every_object_a_shipped_stack_renders_is_valid(stack: str, kubernetes_openapi: str) -> None:
    model, objects = stack_objects(stack, REPO_ROOT, flux_layer=True)
    found = validate(objects.items(), stack_catalog(model))
    assert [str(p) for p in found if not p.note] == []
    # what is left unvalidated: the two kinds of CRDs the clusters get from elsewhere
    assert {p.object for p in found if p.note} <= {
        "bitnami.com/v1alpha1 SealedSecret",
        "cert-manager.io/v1 ClusterIssuer",
    }


@pytest.mark.flux_manifests
def test_every_object_of_the_full_stack_fixture_is_valid(kubernetes_openapi: str) -> None:
    """Every builder at once (as tests/manifests/test_render_golden.py); no Git-layer folders to build."""
    model, objects = stack_objects("staging", FULL_STACK, flux_layer=False)
    assert {o["kind"] for o in objects.values()} >= {
        "Bucket",
        "Receiver",
        "Alert",
        "Provider",
        "Role",
        "Secret",
    }
    assert validate(objects.items(), stack_catalog(model)) == []


def misspell_the_pvc(project: Path) -> None:
    pvc = project / "clusters/flux/portal/pvc.yaml"
    pvc.write_text(
        pvc.read_text().replace("accessModes:", "accesModes:").replace("storage: ", "storage: 1 Gi #")
    )


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.flux_manifests
def test_render_refuses_an_invalid_object_naming_file_object_and_field(project: Path, tmp_path: Path) -> None:
    misspell_the_pvc(project)
    out = tmp_path / "out"
    argv = ["render", "-s", "test", "-o", str(out), "--flux-layer", "--project", str(project)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    where = f"error: {PVC}: v1 PersistentVolumeClaim demo/portal-data: spec."
    assert lines(result.output) == [
        f"{where}accesModes: unknown field (did you mean 'accessModes'?)",
        f"{where}resources.requests.storage: not a quantity (e.g. 512Mi, 1.5, 250m): string '1 Gi'",
    ]
    assert not out.exists()  # nothing written
    result = runner.invoke(app, [*argv, "--no-validate"])
    assert result.exit_code == 0, result.output
    assert (out / PVC).is_file()


@pytest.mark.flux_manifests
def test_render_writes_a_valid_stack_and_says_nothing_more(project: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["render", "-s", "test", "-o", str(tmp_path / "out"), "--flux-layer", "--project", str(project)]
    )
    assert result.exit_code == 0, result.output
    assert lines(result.output) == [f"rendered 42 objects of stack test into {tmp_path / 'out'}"]


@pytest.mark.flux_manifests
def test_validate_a_stack(project: Path) -> None:
    result = runner.invoke(app, ["validate", "-s", "test", "--flux-layer", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert lines(result.output) == [
        "validated 42 objects of stack test against Kubernetes v1.37.2, Flux v2.9.3: valid"
    ]
    misspell_the_pvc(project)
    result = runner.invoke(app, ["validate", "-s", "test", "--project", str(project)])
    assert result.exit_code == 0, result.output  # the Pulumi layer alone: the PVC is in the Git layer
    result = runner.invoke(app, ["validate", "-s", "test", "--flux-layer", "--project", str(project)])
    assert result.exit_code == 2
    assert lines(result.output)[0].endswith(": 2 problems")
    assert lines(result.output)[1].startswith(
        f"error: {PVC}: v1 PersistentVolumeClaim demo/portal-data: spec."
    )


@pytest.mark.flux_manifests
def test_validate_json(project: Path) -> None:
    misspell_the_pvc(project)
    result = runner.invoke(
        app, ["validate", "-s", "test", "--flux-layer", "--format", "json", "--project", str(project)]
    )
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["objects"] == 42 and report["notes"] == []
    assert report["schemas"] == ["Kubernetes v1.37.2", "Flux v2.9.3"]
    assert report["errors"][0] == {
        "source": PVC,
        "object": "v1 PersistentVolumeClaim demo/portal-data",
        "field": "spec.accesModes",
        "problem": "unknown field",
        "message": "unknown field (did you mean 'accessModes'?)",
        "note": False,
    }


@pytest.mark.flux_manifests
def test_validate_files_and_folders(project: Path, tmp_path: Path) -> None:
    """What the review script does with the Helm layer: objects written to a folder."""
    helm = tmp_path / "helm" / "um"
    helm.mkdir(parents=True)
    (helm / "all.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: um}\ndata: {replicas: 2}\n---\n"
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s}\n---\n"
    )
    (helm / "svc.yml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: 80}]}\n"
    )
    (helm / "notes.txt").write_text("not yaml: [")
    result = runner.invoke(app, ["validate", "-s", "test", str(tmp_path / "helm"), "--project", str(project)])
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"note: {helm}/all.yaml#2: bitnami.com/v1alpha1 SealedSecret: not validated: no schema in "
        "Kubernetes v1.37.2 or Flux v2.9.3 (1 object)",
        "validated 3 objects of stack test against Kubernetes v1.37.2, Flux v2.9.3: 1 problem",
        f"error: {helm}/all.yaml#1: v1 ConfigMap um/a: data.replicas: "
        "wrong type: expected string, got integer 2",
    ]
    result = runner.invoke(app, ["validate", "-s", "test", str(helm / "svc.yml"), "--project", str(project)])
    assert result.exit_code == 0, result.output


def test_validate_files_with_flux_layer_is_refused(project: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["validate", "-s", "test", "--flux-layer", str(tmp_path), "--project", str(project)]
    )
    assert result.exit_code == 2
    assert lines(result.output) == [
        "error: --flux-layer is for the stack's render; with FILE, the files are what is checked"
    ]


@pytest.mark.flux_manifests
def test_validate_a_file_that_is_not_yaml_is_one_error(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    result = runner.invoke(app, ["validate", "-s", "test", str(bad), "--project", str(project)])
    assert result.exit_code == 2
    assert len(lines(result.output)) == 1 and lines(result.output)[0].startswith(f"error: {bad}")


@pytest.fixture
def no_openapi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kubernetes_openapi: str) -> Path:
    real = kubernetes_openapi_dir()
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "gomodcache"))
    return real


@pytest.mark.flux_manifests
def test_render_without_the_kubernetes_openapi_names_what_to_run(
    no_openapi: Path, project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", "-s", "test", "-o", str(out), "--project", str(project)])
    assert result.exit_code == 2
    assert len(lines(result.output)) == 1
    assert lines(result.output)[0].startswith(f"error: no OpenAPI of Kubernetes {KUBERNETES_VERSION} in ")
    assert "run `eoepca-gitops fetch-schemas`" in result.output
    assert result.output.rstrip().endswith("; or render with --no-validate")
    assert not out.exists()


def test_fetch_schemas_from_the_go_module_cache(no_openapi: Path, tmp_path: Path) -> None:
    spec = tmp_path / "gomodcache" / f"k8s.io/kubernetes@{KUBERNETES_VERSION}" / "api/openapi-spec/v3"
    spec.mkdir(parents=True)
    shutil.copy(no_openapi / "api__v1_openapi.json", spec)
    result = runner.invoke(app, ["fetch-schemas"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "cache" / "openapi" / KUBERNETES_VERSION
    assert lines(result.output) == [
        f"cached the OpenAPI of Kubernetes {KUBERNETES_VERSION} in {folder} (1 documents)"
    ]
