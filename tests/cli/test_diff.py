"""`eoepca-gitops diff` on a real two-commit Git repository, and the upgrade gate."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.errors import ConfigError
from eoepca_gitops.manifests.api_gate import check_api_removal, removed_api_objects
from eoepca_gitops.model.stack import FluxConfig
from tests.helpers import FIXTURES
from tests.outside_data import install_manifest, link_shared_flux

FIXTURE = FIXTURES / "project"
runner = CliRunner()
HR_V2BETA1 = {
    "apiVersion": "helm.toolkit.fluxcd.io/v2beta1",
    "kind": "HelmRelease",
    "metadata": {"name": "legacy", "namespace": "demo"},
    "spec": {
        "interval": "5m",
        "chart": {"spec": {"chart": "x", "sourceRef": {"kind": "HelmRepository", "name": "r"}}},
    },
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    project = tmp_path / "a" / "b" / "c" / "project"
    shutil.copytree(FIXTURE, project)
    link_shared_flux(tmp_path)
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "one")
    return project


def _diff(project: Path, *extra: str) -> tuple[int, str]:
    """(exit code, stdout + stderr); the Helm layer is tested in tests/review/test_helm_layer.py."""
    result = runner.invoke(app, ["diff", "--stack", "test", "--project", str(project), "--no-helm", *extra])
    return result.exit_code, result.stdout + result.stderr


def _commit(project: Path) -> None:
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-am", "two")


@pytest.mark.flux_manifests
def test_no_change_exits_0(repo: Path) -> None:
    code, out = _diff(repo)
    assert code == 0, out
    assert "pulumi layer: 0 added, 0 changed, 0 deleted" in out
    assert "flux layer: 0 added, 0 changed, 0 deleted" in out


@pytest.mark.flux_manifests
def test_changed_value_shows_in_both_layers(repo: Path) -> None:
    stack = repo / "Pulumi.test.yaml"
    stack.write_text(stack.read_text().replace("publicIp: 10.0.0.1", "publicIp: 10.0.0.2"))
    code, out = _diff(repo)
    assert code == 1, out
    assert "~ ConfigMap flux-system/cluster-vars" in out
    assert "~ Ingress demo/portal" in out  # host portal.10-0-0-2.nip.io, substituted by Flux
    _commit(repo)
    assert _diff(repo)[0] == 0
    code, out = _diff(repo, "--against", "HEAD~1")
    assert code == 1 and "~ Ingress demo/portal" in out


@pytest.mark.flux_manifests
def test_added_and_deleted_objects(repo: Path) -> None:
    folder = repo / "clusters/flux/portal"
    (folder / "ingress.yaml").unlink()
    (folder / "cm.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n", "namespace": "demo"}}
        )
    )
    (folder / "kustomization.yaml").write_text("resources: [pvc.yaml, cm.yaml]\n")
    code, out = _diff(repo)
    assert code == 1
    assert "flux layer: 1 added, 0 changed, 1 deleted" in out
    assert "+ ConfigMap demo/n" in out and "- Ingress demo/portal" in out


def test_bad_revision_exits_2(repo: Path) -> None:
    code, out = _diff(repo, "--against", "no-such-rev")
    assert code == 2 and "no-such-rev" in out


@pytest.mark.flux_manifests
def test_flux_upgrade_across_api_removal_is_refused(repo: Path) -> None:
    stack = repo / "Pulumi.test.yaml"
    stack.write_text(stack.read_text().replace("version: v2.9.3", "version: v0.24.0"))
    folder = repo / "clusters/flux/portal"
    (folder / "legacy.yaml").write_text(yaml.safe_dump(HR_V2BETA1))
    (folder / "kustomization.yaml").write_text("resources: [pvc.yaml, ingress.yaml, legacy.yaml]\n")
    _git(repo, "add", "-A")
    _commit(repo)
    stack.write_text(stack.read_text().replace("version: v0.24.0", "version: v2.9.3"))
    code, out = _diff(repo)
    assert code == 2, out
    assert "removed API: HelmRelease demo/legacy (helm.toolkit.fluxcd.io/v2beta1" in out
    assert "Pulumi.test.yaml: eoepca-gitops:flux.version:" in out
    stack.write_text(
        stack.read_text().replace("version: v2.9.3", "version: v2.9.3\n    allowApiRemoval: true")
    )
    # the gate lets the upgrade through; what Flux can then no longer apply still fails the check
    code, out = _diff(repo)
    assert code == 2 and "removed API: HelmRelease demo/legacy" in out
    assert out.splitlines()[-1] == (
        "error: stack test: flux layer, block portal: helm.toolkit.fluxcd.io/v2beta1 HelmRelease "
        "demo/legacy: apiVersion: Flux v2.9.3 serves HelmRelease as helm.toolkit.fluxcd.io/v2, "
        "not helm.toolkit.fluxcd.io/v2beta1"
    )
    code, out = _diff(repo, "--no-validate")
    assert code == 1 and "removed API: HelmRelease demo/legacy" in out


def _install(version: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(install_manifest(version).read_text()) if d]


@pytest.mark.flux_manifests
def test_gate_unit() -> None:
    new, old = _install("v2.9.3"), _install("v0.24.0")
    objects = {"portal": [HR_V2BETA1, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]}
    assert removed_api_objects(objects, old) == []
    found = removed_api_objects(objects, new)
    assert [str(f) for f in found] == [
        "HelmRelease demo/legacy (helm.toolkit.fluxcd.io/v2beta1, applied by portal)"
    ]
    with pytest.raises(ConfigError) as exc:
        check_api_removal(FluxConfig(version="v2.9.3"), new, objects, "Pulumi.x.yaml")
    assert exc.value.file == "Pulumi.x.yaml" and exc.value.key == "eoepca-gitops:flux.version"
    assert "allowApiRemoval" in exc.value.message
    assert check_api_removal(FluxConfig(version="v2.9.3", allow_api_removal=True), new, objects, "f") == found


@pytest.mark.flux_manifests
def test_flux_upgrade_is_named_with_the_objects_it_migrates(repo: Path) -> None:
    stack = repo / "Pulumi.test.yaml"
    stack.write_text(stack.read_text().replace("version: v2.9.3", "version: v0.24.0"))
    _commit(repo)
    stack.write_text(stack.read_text().replace("version: v0.24.0", "version: v2.9.3"))
    code, out = _diff(repo)
    assert code == 1, out
    assert out.splitlines()[1].startswith("flux upgrade: v0.24.0 -> v2.9.3: 4 object(s) ")
    assert "  migrate HelmRelease helm.toolkit.fluxcd.io/v2beta1 -> v2: " in out
    assert "  ~ HelmRelease demo/eoepca-portal (helm.toolkit.fluxcd.io/v2beta1 -> v2, in place)" in out
    assert "  - HelmRelease" not in out and "  + HelmRelease" not in out


def _run(project: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["diff", "--project", str(project), "--no-helm", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.flux_manifests
def test_stdout_holds_the_review_only_and_stderr_the_progress(repo: Path) -> None:
    code, out, err = _run(repo, "--stack", "test", "--format", "json")
    assert code == 0 and json.loads(out)["stacks"][0]["state"] == "unchanged"
    assert err == "0 of 1 stack(s) changed\n"


@pytest.mark.flux_manifests
def test_all_stacks_shows_a_stack_only_in_the_working_tree_as_new(repo: Path) -> None:
    shutil.copy(repo / "Pulumi.test.yaml", repo / "Pulumi.other.yaml")
    code, out, _ = _run(repo, "--all-stacks", "--format", "markdown")
    assert code == 1
    assert "| `other` | added |" in out and "No change in `test`." in out
    code, out, _ = _run(repo, "--stack", "test", "--stack", "other", "--format", "text")
    assert code == 1 and "stack other: HEAD -> working tree (a new stack)" in out


@pytest.mark.flux_manifests
def test_a_removed_stack_is_shown_as_deleted(repo: Path) -> None:
    (repo / "Pulumi.test.yaml").unlink()
    code, out, _ = _run(repo, "--all-stacks", "--format", "json")
    assert code == 1
    [stack] = json.loads(out)["stacks"]
    assert stack["state"] == "deleted"
    assert {o["change"] for o in stack["layers"]["pulumi"]["objects"]} == {"deleted"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name the stacks: --stack X (repeatable) or --all-stacks"),
        (("--stack", "test", "--all-stacks"), "name the stacks"),
        (("--stack", "nope"), "Pulumi.nope.yaml: no such stack file at either revision"),
        (("--stack", "test", "--max-chars", "10"), "--max-chars"),
    ],
)
def test_usage_errors_exit_2_with_one_line(repo: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = _run(repo, *args)
    assert code == 2 and message in err and err.count("error:") == 1


@pytest.mark.flux_manifests
def test_an_invalid_field_at_the_head_fails_the_diff_naming_it(repo: Path, tmp_path: Path) -> None:
    pvc = repo / "clusters/flux/portal/pvc.yaml"
    pvc.write_text(pvc.read_text().replace("accessModes:", "accesModes:"))
    code, out, err = _run(
        repo, "--stack", "test", "--format", "markdown", "--json-out", str(tmp_path / "d.json")
    )
    problem = (
        "stack test: flux layer, block portal: v1 PersistentVolumeClaim demo/portal-data: spec.accesModes: "
        "unknown field (did you mean 'accessModes'?)"
    )
    assert code == 2
    assert "> [!CAUTION]" in out and "spec.accesModes: unknown field" in out  # the failures, in the comment
    assert err.splitlines()[-1] == f"error: {problem}"
    assert json.loads((tmp_path / "d.json").read_text())["errors"] == [problem]


@pytest.mark.flux_manifests
def test_json_out_writes_the_json_of_the_same_run_beside_the_chosen_format(
    repo: Path, tmp_path: Path
) -> None:
    stack = repo / "Pulumi.test.yaml"
    stack.write_text(stack.read_text().replace("publicIp: 10.0.0.1", "publicIp: 10.0.0.2"))
    code, out, _ = _run(
        repo, "--stack", "test", "--format", "markdown", "--json-out", str(tmp_path / "d.json")
    )
    assert code == 1 and out.startswith("### eoepca-gitops diff: `HEAD`")
    assert (tmp_path / "d.json").read_text() == _run(repo, "--stack", "test", "--format", "json")[1]
