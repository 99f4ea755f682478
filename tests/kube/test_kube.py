"""The Kubernetes adapter (eoepca_gitops/kube/): no Kubernetes configuration is one GitopsError, never
lightkube's ConfigError and its traceback; one class per Flux kind and version, whoever asks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.errors import GitopsError, KubeApiError
from eoepca_gitops.kube.client import kube_client
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.kube.resources import flux_resource, resource

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: here, context: {cluster: c, user: u}}]
current-context: here
"""


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $KUBECONFIG, no ~/.kube/config, not in a pod."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_no_kubeconfig_is_one_gitops_error(nowhere: Path) -> None:
    with pytest.raises(GitopsError, match=r"^no Kubernetes configuration: ") as caught:
        kube_client()
    assert "\n" not in str(caught.value)
    with pytest.raises(GitopsError, match=r"^no Kubernetes configuration: .*absent"):
        kube_client(nowhere / "absent")


def test_a_context_the_kubeconfig_lacks_is_one_gitops_error(tmp_path: Path) -> None:
    (tmp_path / "config").write_text(KUBECONFIG)
    with kube_client(tmp_path / "config", "here"):
        pass
    with pytest.raises(GitopsError, match=r"^no Kubernetes configuration: .*elsewhere"):
        kube_client(tmp_path / "config", "elsewhere")


def test_a_stack_without_a_cluster_names_the_stack(nowhere: Path) -> None:
    class Config:
        kubeconfig: str | None = None
        kube_context: str | None = None

    class Stack:
        name = "local"
        config = Config()

    with pytest.raises(GitopsError, match=r"^stack local: no Kubernetes configuration: "):
        ClusterAccess.for_stack(Stack())


def test_status_of_a_state_configmap_without_kubeconfig_is_one_error_line(nowhere: Path) -> None:
    result = CliRunner().invoke(app, ["status", "--state-configmap", "poller-state"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: configmap poller-state: no Kubernetes configuration: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_one_class_per_flux_kind_and_version_whoever_asks() -> None:
    by_api_version = resource("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
    assert resource("kustomize.toolkit.fluxcd.io/v1", "Kustomization") is by_api_version
    assert (
        flux_resource("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations")
        is by_api_version
    )
    assert resource("kustomize.toolkit.fluxcd.io/v1beta2", "Kustomization") is not by_api_version


def test_a_kubernetes_kind_is_lightkubes_own_and_an_unknown_one_an_error() -> None:
    from lightkube.resources.core_v1 import ConfigMap

    assert resource("v1", "ConfigMap") is ConfigMap
    with pytest.raises(GitopsError, match=r"no Kubernetes API known for Gadget \(example.org/v1\)"):
        resource("example.org/v1", "Gadget")


def test_the_raw_api_error_is_in_the_tree_and_not_lightkubes() -> None:
    from lightkube import ApiError

    error = KubeApiError(403, "forbidden")
    assert isinstance(error, GitopsError) and not isinstance(error, ApiError)
    assert (str(error), error.status) == ("HTTP 403: forbidden", 403)
