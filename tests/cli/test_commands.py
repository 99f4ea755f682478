"""The render command, through typer's CliRunner, on a small fixture project (new-cluster:
tests/newcluster/test_new_cluster.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from eoepca_gitops.cli.common import load
from eoepca_gitops.cli.main import app
from tests.helpers import FIXTURES
from tests.outside_data import link_shared_flux

FIXTURE = FIXTURES / "project"
runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "a" / "b" / "c" / "project"
    shutil.copytree(FIXTURE, dest, symlinks=False)
    link_shared_flux(tmp_path)
    return dest


def render(project: Path, out: Path, *extra: str) -> dict[str, bytes]:
    result = runner.invoke(
        app, ["render", "--stack", "test", "--out", str(out), "--project", str(project), *extra]
    )
    assert result.exit_code == 0, result.output
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.yaml"))}


@pytest.mark.flux_manifests
def test_render_writes_one_file_per_object_deterministically(project: Path, tmp_path: Path) -> None:
    first = render(project, tmp_path / "r1", "--flux-layer")
    second = render(project, tmp_path / "r2", "--flux-layer")
    assert first == second
    assert "blocks/portal/HelmRelease_demo_eoepca-portal.yaml" in first
    assert "source/Secret_flux-system_flux-system.yaml" in first
    assert "flux-system/Deployment_flux-system_source-controller.yaml" in first
    deployment = yaml.safe_load(first["flux-system/Deployment_flux-system_source-controller.yaml"])
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "2Gi"
    secret = yaml.safe_load(first["source/Secret_flux-system_flux-system.yaml"])
    assert secret["stringData"] == {"identity": "<secret gitSshPrivateKey>"}
    assert b"AAAABBBB" not in b"".join(first.values())


@pytest.mark.flux_manifests
def test_render_flux_layer_substitutes_like_flux(project: Path, tmp_path: Path) -> None:
    files = render(project, tmp_path / "r", "--flux-layer")
    pvc = yaml.safe_load(files["flux-layer/portal/PersistentVolumeClaim_demo_portal-data.yaml"])
    assert pvc["metadata"]["labels"]["cluster"] == "test"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    ingress = yaml.safe_load(files["flux-layer/portal/Ingress_demo_portal.yaml"])
    assert ingress["spec"]["rules"][0]["host"] == "portal.10-0-0-1.nip.io"
    assert ingress["metadata"]["annotations"]["example.org/literal"] == "${not_a_var}"


@pytest.mark.flux_manifests
def test_render_unset_flux_variable_fails(project: Path, tmp_path: Path) -> None:
    pvc = project / "clusters/flux/portal/pvc.yaml"
    pvc.write_text(pvc.read_text().replace("${cluster_name}", "${nobody_sets_this}"))
    result = runner.invoke(
        app, ["render", "-s", "test", "-o", str(tmp_path / "r"), "--flux-layer", "--project", str(project)]
    )
    assert result.exit_code == 2
    assert "variable ${nobody_sets_this} is not set" in result.output


@pytest.mark.flux_manifests
def test_render_shows_what_the_stack_does_not_set_yet_and_preview_would_refuse(
    project: Path, tmp_path: Path
) -> None:
    """A stack file as import or new-cluster leave it: no Git URL, no key, a value a block uses."""
    stack = project / "Pulumi.test.yaml"
    text = stack.read_text().replace("    url: ssh://git@example.org/gitops\n", "")
    text = text.replace("  eoepca-gitops:gitSshPrivateKey:\n    secure: v1:AAAABBBBCCCC\n", "")
    overrides = "  eoepca-gitops:overrides:\n    portal:\n      releases:\n"
    overrides += "        eoepca-portal: {values: {storage: '${nfs_server}'}}\n"
    stack.write_text(text + overrides)
    result = runner.invoke(
        app, ["render", "-s", "test", "-o", str(tmp_path / "r"), "--project", str(project)]
    )
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note: ")]
    tail = " (pulumi preview refuses until it is set; render shows a placeholder)"
    assert notes == [
        "note: eoepca-gitops:git.url: missing required key: the URL of the Git repository holding this "
        "project's clusters/ folder, which Flux clones" + tail,
        "note: eoepca-gitops:gitSshPrivateKey: missing secret (named by git.auth.sshPrivateKeySecret); "
        "set it with `pulumi config set --secret gitSshPrivateKey ...`" + tail,
        "note: eoepca-gitops:cluster.nfs.server: missing: block portal (HelmRelease eoepca-portal) uses "
        "${nfs_server}; set cluster.nfs.server for this cluster" + tail,
    ]
    out = tmp_path / "r"
    source = yaml.safe_load((out / "source/GitRepository_flux-system_flux-system.yaml").read_text())
    assert source["spec"]["url"] == "<unset eoepca-gitops:git.url>"
    release = yaml.safe_load((out / "blocks/portal/HelmRelease_demo_eoepca-portal.yaml").read_text())
    assert release["spec"]["values"]["storage"] == "<unset eoepca-gitops:cluster.nfs.server>"


def test_render_bad_stack_is_one_clear_error(project: Path, tmp_path: Path) -> None:
    stack = project / "Pulumi.test.yaml"
    stack.write_text(stack.read_text().replace("publicIp: 10.0.0.1", "publicIp: 10.0.0"))
    result = runner.invoke(
        app, ["render", "-s", "test", "-o", str(tmp_path / "r"), "--project", str(project)]
    )
    assert result.exit_code == 2
    assert "Pulumi.test.yaml: eoepca-gitops:cluster.publicIp:" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.flux_manifests
def test_render_holds_every_object_up_and_diff_hold(project: Path, tmp_path: Path) -> None:
    """Buckets and the in-cluster poller too (render once left them out), each secret a placeholder."""
    stack = project / "Pulumi.test.yaml"
    raw = yaml.safe_load(stack.read_text())
    config = raw["config"]
    config["eoepca-gitops:buckets"] = [
        {
            "name": "manifests",
            "bucketName": "eoepca",
            "endpoint": "s3.example.org",
            "accessKeySecret": "bucketKeyId",
            "secretKeySecret": "bucketKey",
        }
    ]
    config["eoepca-gitops:poller"] = {
        "image": "registry.example/eoepca-gitops:1.0",
        "backendUrl": "s3://state",
    }
    for key in ("bucketKeyId", "bucketKey", "pollerPassphrase"):
        config[f"eoepca-gitops:{key}"] = {"secure": "v1:AAAA"}
    stack.write_text(yaml.safe_dump(raw))
    files = render(project, tmp_path / "r")
    assert len(files) == len(load("test", project).manifests.all())
    assert "buckets/manifests/Bucket_flux-system_manifests.yaml" in files
    assert "poller/Deployment_eoepca-gitops_eoepca-gitops-poller.yaml" in files
    secret = yaml.safe_load(files["buckets/manifests/Secret_flux-system_manifests-bucket.yaml"])
    assert secret["stringData"] == {"accesskey": "<secret bucketKeyId>", "secretkey": "<secret bucketKey>"}


UNREACHABLE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: here, context: {cluster: c, user: u}}]
current-context: here
"""


@pytest.mark.flux_manifests
@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["reconcile"], ["check"], ["events"]])
def test_a_stack_command_without_any_kubeconfig_is_one_error_line(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """No $KUBECONFIG, no ~/.kube/config, not in a pod: lightkube's ConfigError stays in the adapter."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    result = runner.invoke(app, [*command, "--stack", "test", "--project", str(project)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: stack test: no Kubernetes configuration: "), result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.flux_manifests
def test_status_of_a_stack_whose_cluster_cannot_be_reached_says_why_and_exits_2(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kubeconfig").write_text(UNREACHABLE_KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no pulumi either
    result = runner.invoke(app, ["status", "--stack", "test", "--project", str(project), "--json"])
    assert result.exit_code == 2, result.output
    shown = json.loads(result.stdout)
    assert shown["error"].startswith("the cluster does not answer: ")
    assert shown["stack"]["error"] == "pulumi is not on PATH (. scripts/env.sh puts it there)"


@pytest.mark.flux_manifests
def test_render_to_dash_writes_one_yaml_stream_to_stdout(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-o -` as `flux build` and `kustomize build`: the objects of the files, in their order, on
    stdout; no folder named `-`."""
    monkeypatch.chdir(tmp_path)
    files = render(project, tmp_path / "r", "--flux-layer")
    result = runner.invoke(
        app, ["render", "--stack", "test", "-o", "-", "--project", str(project), "--flux-layer"]
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "-").exists()
    assert [d for d in yaml.safe_load_all(result.stdout)] == [yaml.safe_load(f) for f in files.values()]
    assert result.stdout.count("\n---\n") == len(files) - 1
    assert result.stderr == f"rendered {len(files)} objects of stack test to stdout\n"


def test_version_is_the_package_s() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"eoepca-gitops {version('eoepca-gitops')}\n")


def test_shell_completion_knows_the_lazily_registered_commands_and_their_options() -> None:
    """What bash's completion function asks (`--show-completion bash` prints that function)."""
    script = runner.invoke(
        app, ["--show-completion", "bash"], env={"SHELL": "/bin/bash"}, prog_name="eoepca-gitops"
    )
    assert script.exit_code == 0 and "_EOEPCA_GITOPS_COMPLETE=complete_bash" in script.stdout
    for words, expected in (("eoepca-gitops ev", "events"), ("eoepca-gitops logs --con", "--controller")):
        cword = str(len(words.split()) - 1)
        asked = {"_EOEPCA_GITOPS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        result = runner.invoke(app, [], env=asked, prog_name="eoepca-gitops")
        assert result.stdout.split() == [expected], result.output
