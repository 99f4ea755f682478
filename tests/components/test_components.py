"""The ComponentResources and the program under Pulumi mocks: every object is its own child resource."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tests.conftest import Recorder
from tests.helpers import FIXTURE_BLOCKS, REPO_ROOT, values


def _config(v: dict[str, Any], secrets: dict[str, str] | None = None) -> None:
    flat = {
        f"eoepca-gitops:{k}": json.dumps(val) if not isinstance(val, str) else val for k, val in v.items()
    }
    flat.update({f"eoepca-gitops:{k}": s for k, s in (secrets or {}).items()})
    pulumi.runtime.set_all_config(flat, [f"eoepca-gitops:{k}" for k in (secrets or {})])


def _project(tmp_path: Path) -> Path:
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "blocks").symlink_to(FIXTURE_BLOCKS)
    return tmp_path


def _run_program(project: Path) -> None:
    from components.program import run

    # The decorator drives the event loop until every registration has been sent to the mocks.
    pulumi.runtime.test(lambda: run(project))()  # type: ignore[no-untyped-call]


@pytest.mark.flux_manifests
def test_program_registers_every_object_under_its_component(mocks: Recorder, tmp_path: Path) -> None:
    v = values(
        git={
            "url": "ssh://git@example.org/gitops",
            "branch": "main",
            "auth": {"type": "ssh", "knownHosts": "kh"},
        },
        notifications={
            "providers": [{"name": "slack", "type": "slack", "channel": "ops", "addressSecret": "slackUrl"}],
            "alerts": [{"name": "all", "provider": "slack", "eventSources": [{"kind": "HelmRelease"}]}],
        },
    )
    _config(v, {"gitSshPrivateKey": "PRIVATE-KEY", "slackUrl": "https://hooks.example/T0"})
    _run_program(_project(tmp_path))

    by_type: dict[str, list[str]] = {}
    for r in mocks.resources:
        by_type.setdefault(r.typ, []).append(r.name)
    assert len(by_type["kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"]) == 11
    assert "Deployment/flux-system/source-controller" in by_type["kubernetes:apps/v1:Deployment"]
    assert by_type["kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease"] == ["HelmRelease/demo/eoepca-portal"]
    assert by_type["kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization"] == [
        "Kustomization/flux-system/portal"
    ]
    assert by_type["kubernetes:core/v1:Namespace"] == [
        "Namespace/flux-system",
        "Namespace/common",
        "Namespace/demo",
    ]
    assert by_type["kubernetes:notification.toolkit.fluxcd.io/v1beta3:Alert"] == ["Alert/flux-system/all"]
    assert sorted(by_type["kubernetes:core/v1:Secret"]) == [
        "Secret/flux-system/flux-system",
        "Secret/flux-system/slack-url",
    ]

    release = next(r for r in mocks.resources if r.name == "HelmRelease/demo/eoepca-portal")
    assert release.inputs["spec"]["values"] == {
        "ingress": {"host": "eoepca-portal.10-0-0-1.nip.io"},
        "publicIp": "10.0.0.1",
        "script": "echo ${HOME}",
    }
    assert release.inputs["spec"]["chart"]["spec"]["version"] == "1.0.11"
    kustomization = next(r for r in mocks.resources if r.name == "Kustomization/flux-system/portal")
    assert kustomization.inputs["spec"]["path"] == "./clusters/flux/portal"
    assert kustomization.inputs["spec"]["postBuild"]["substituteFrom"] == [
        {"kind": "ConfigMap", "name": "cluster-vars"}
    ]
    git = next(r for r in mocks.resources if r.name == "GitRepository/flux-system/flux-system")
    assert git.inputs["spec"]["ref"] == {"branch": "main"}
    assert git.inputs["spec"]["secretRef"] == {"name": "flux-system"}
    cluster_vars = next(r for r in mocks.resources if r.name == "ConfigMap/flux-system/cluster-vars")
    assert cluster_vars.inputs["data"] == {
        "cluster_name": "test",
        "domain": "10-0-0-1.nip.io",
        "public_ip": "10.0.0.1",
    }


def test_bad_config_registers_nothing(mocks: Recorder, tmp_path: Path) -> None:
    _config(values(cluster={"name": "t", "publicIp": "not-an-ip"}))
    with pytest.raises(pulumi.RunError, match=r"Pulumi\.test\.yaml: eoepca-gitops:cluster\.publicIp"):
        _run_program(_project(tmp_path))
    assert [r.typ for r in mocks.resources if r.typ.startswith("kubernetes:")] == []


def test_a_stack_without_git_url_registers_nothing(mocks: Recorder, tmp_path: Path) -> None:
    _config(values(git={"branch": "main"}))
    with pytest.raises(
        pulumi.RunError, match=r"^Pulumi\.test\.yaml: eoepca-gitops:git\.url: missing required key"
    ):
        _run_program(_project(tmp_path))
    assert mocks.resources == []


def test_product_package_imports_no_pulumi() -> None:
    """The CLI and the poller start fast: only components/ and the poller's automation import pulumi."""
    import subprocess
    import sys

    code = "import eoepca_gitops.cli.main, sys; print('pulumi' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert out.stdout.strip() == "False"
