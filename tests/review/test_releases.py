"""What Helm renders for a HelmRelease: source, release name and namespace, values, CRDs."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from eoepca_gitops.fluxtree import key
from eoepca_gitops.review.releases import ChartSource, merged, release_input, release_name

REPO: dict[str, Any] = {
    "apiVersion": "source.toolkit.fluxcd.io/v1",
    "kind": "HelmRepository",
    "metadata": {"name": "eoepca", "namespace": "common"},
    "spec": {"url": "https://charts.example.org/"},
}
HR: dict[str, Any] = {
    "apiVersion": "helm.toolkit.fluxcd.io/v2",
    "kind": "HelmRelease",
    "metadata": {"name": "um-login-service", "namespace": "um"},
    "spec": {
        "chart": {
            "spec": {
                "chart": "login-service",
                "version": "1.2.8",
                "sourceRef": {"kind": "HelmRepository", "name": "eoepca", "namespace": "common"},
            }
        },
        "values": {"global": {"domain": "auth.example.org"}, "replicaCount": 2},
    },
}


def _hr(**spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(HR)
    out["spec"].update(spec)
    return out


def _objects(*objs: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {key(o): o for o in (REPO, *objs)}


def test_a_chart_from_a_helm_repository() -> None:
    found = release_input(HR, _objects(), upgrade=False)
    assert found.source == ChartSource("repository", "https://charts.example.org/", "login-service", "1.2.8")
    assert (found.name, found.namespace) == ("um-login-service", "um")
    assert found.values == HR["spec"]["values"] and found.include_crds and found.notes == ()
    assert found.chart_label == "login-service 1.2.8"


def test_an_oci_repository_and_a_version_left_out() -> None:
    oci = copy.deepcopy(REPO)
    oci["spec"] = {"url": "oci://ghcr.io/eoepca/charts", "type": "oci"}
    hr = copy.deepcopy(HR)
    del hr["spec"]["chart"]["spec"]["version"]
    found = release_input(hr, {key(oci): oci}, upgrade=False)
    assert found.source == ChartSource("oci", "oci://ghcr.io/eoepca/charts", "login-service", "*")


def test_a_chart_in_the_stacks_own_git_repository_is_a_folder() -> None:
    hr = _hr(
        chart={
            "spec": {
                "chart": "./charts/x",
                "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"},
            }
        }
    )
    git = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {"url": "https://g/x"},
    }
    found = release_input(hr, _objects(git), upgrade=False)
    assert found.source == ChartSource("folder", "./charts/x", "", "*")


@pytest.mark.parametrize(
    ("spec", "note"),
    [
        (
            {"chartRef": {"kind": "OCIRepository", "name": "o"}},
            "chart from OCIRepository um/o (spec.chartRef)",
        ),
        (
            {"chart": {"spec": {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "nope"}}}},
            "its HelmRepository um/nope is neither in the stack nor in its Git layer",
        ),
        (
            {
                "chart": {
                    "spec": {
                        "chart": "c",
                        "sourceRef": {"kind": "Bucket", "name": "eoepca", "namespace": "common"},
                    }
                }
            },
            "its Bucket common/eoepca is neither",
        ),
    ],
)
def test_what_is_not_fetched_is_said(spec: dict[str, Any], note: str) -> None:
    hr = copy.deepcopy(HR)
    hr["spec"] = {**{k: v for k, v in hr["spec"].items() if k != "chart"}, **spec}
    found = release_input(hr, _objects(), upgrade=False)
    assert found.source is None and found.notes[0].startswith(note)


def test_release_name_rules() -> None:
    assert release_name(HR) == "um-login-service"
    assert release_name(_hr(targetNamespace="auth")) == "auth-um-login-service"
    assert release_name(_hr(releaseName="login", targetNamespace="auth")) == "login"
    long = release_name(_hr(releaseName="x" * 60))
    assert len(long) == 53 and long.startswith("x" * 40 + "-")  # helm-controller's ShortenName
    assert release_input(_hr(targetNamespace="auth"), _objects(), upgrade=False).namespace == "auth"


def test_values_from_configmaps_and_secrets_then_the_releases_own() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "base", "namespace": "um"},
        "data": {"values.yaml": "replicaCount: 1\nglobal: {domain: x, ip: 1.2.3.4}\n"},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pw", "namespace": "um"},
        "data": {"pw": base64.b64encode(b"s3cr3t").decode()},
    }
    hr = _hr(
        valuesFrom=[
            {"kind": "ConfigMap", "name": "base"},
            {"kind": "Secret", "name": "pw", "valuesKey": "pw", "targetPath": "auth.password"},
            {"kind": "Secret", "name": "gone", "optional": True},
            {"kind": "ConfigMap", "name": "cluster-only"},
        ]
    )
    found = release_input(hr, _objects(cm, secret), upgrade=False)
    assert found.values == {
        "replicaCount": 2,
        "global": {"domain": "auth.example.org", "ip": "1.2.3.4"},
        "auth": {"password": "s3cr3t"},
    }
    assert found.notes == (
        "values from values.yaml of ConfigMap um/cluster-only are not in the stack or its Git layer: "
        "rendered without them",
    )


def test_crds_follow_the_install_and_upgrade_policies() -> None:
    assert release_input(HR, _objects(), upgrade=False).include_crds
    assert not release_input(HR, _objects(), upgrade=True).include_crds
    assert release_input(_hr(upgrade={"crds": "CreateReplace"}), _objects(), upgrade=True).include_crds
    assert not release_input(_hr(install={"crds": "Skip"}), _objects(), upgrade=False).include_crds


def test_post_renderers_are_noted() -> None:
    found = release_input(_hr(postRenderers=[{"kustomize": {}}]), _objects(), upgrade=False)
    assert found.notes == ("its post-renderers (spec.postRenderers) are not applied here",)


def test_merged_maps_deeply_and_replaces_the_rest() -> None:
    assert merged({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "d": {"e": 1}}) == {
        "a": {"b": 1, "c": [2]},
        "d": {"e": 1},
    }
