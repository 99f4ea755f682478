"""The pure poller builder: defaults, one changed field at a time, RBAC scope, secrets placement."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from components.manifests.poller import PollerOptions, poller_objects

BASE = PollerOptions(
    image="registry.example/eoepca-gitops:1.0", repo="https://git.example/cfg.git", stacks=("creodias",)
)


def by_kind(objs: list[dict], kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [o for o in objs if o["kind"] == kind]


def test_defaults() -> None:
    objs = poller_objects(BASE)
    assert [o["kind"] for o in objs] == [
        "Namespace", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service"
    ]  # fmt: skip
    (own,) = by_kind(objs, "Role")  # its own namespace: the state ConfigMap only (no lease)
    assert own["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "update", "patch"]}
    ]
    dep = by_kind(objs, "Deployment")[0]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"] == {"type": "Recreate"}
    assert pod["serviceAccountName"] == "eoepca-gitops-poller"
    assert c["image"] == BASE.image
    assert c["args"][:3] == ["watch", "--repo", "https://git.example/cfg.git"]
    assert c["args"][c["args"].index("--listen") + 1] == "0.0.0.0:9464"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "envFrom" not in c
    svc = by_kind(objs, "Service")[0]
    assert svc["spec"]["ports"][0]["port"] == 9464
    assert poller_objects(BASE) == objs  # deterministic


def test_stacks_and_drift_mode_reach_the_args() -> None:
    o = replace(BASE, stacks=("creodias", "minikube"), drift_mode="correct", interval="30s")
    args = by_kind(poller_objects(o), "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "--stack"] == ["creodias", "minikube"]
    assert args[args.index("--drift-mode") + 1] == "correct"
    assert args[args.index("--interval") + 1] == "30s"


def test_rbac_scoped_to_managed_namespaces() -> None:
    o = replace(BASE, managed_namespaces=("flux-system", "eoepca"))
    objs = poller_objects(o)
    roles = [r for r in by_kind(objs, "Role") if not r["metadata"]["name"].endswith("-self")]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["eoepca", "flux-system"]
    bindings = by_kind(objs, "RoleBinding")
    assert len(bindings) == 3
    assert all(
        b["subjects"][0] == {"kind": "ServiceAccount", "name": o.name, "namespace": o.namespace}
        for b in bindings
    )
    assert not by_kind(objs, "ClusterRole")


def test_cluster_rules_make_a_cluster_role() -> None:
    rule = {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["*"]}
    objs = poller_objects(replace(BASE, cluster_rules=(rule,)))
    (cr,) = by_kind(objs, "ClusterRole")
    assert cr["rules"] == [rule]
    assert by_kind(objs, "ClusterRoleBinding")[0]["roleRef"]["name"] == cr["metadata"]["name"]


def test_secrets_only_in_the_secret() -> None:
    o = replace(BASE, secret_env=("PULUMI_CONFIG_PASSPHRASE",), env={"PULUMI_BACKEND_URL": "s3://state"})
    objs = poller_objects(o, {"PULUMI_CONFIG_PASSPHRASE": "s3cr3t-value"})
    (secret,) = by_kind(objs, "Secret")
    assert secret["stringData"] == {"PULUMI_CONFIG_PASSPHRASE": "s3cr3t-value"}
    dep = by_kind(objs, "Deployment")[0]
    assert "s3cr3t-value" not in json.dumps(dep)
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    assert {"name": "PULUMI_BACKEND_URL", "value": "s3://state"} in c["env"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": ""}, "image is required"),
        ({"stacks": ()}, "at least one stack"),
        ({"namespace": "Bad_NS"}, "not a valid Kubernetes name"),
        ({"drift_mode": "fix"}, "drift_mode must be detect or correct"),
        ({"env": {"bad-name": "x"}}, "environment variable name"),
        ({"env": {"A": "1"}, "secret_env": ("A",)}, "both plain and secret"),
    ],
)
def test_invalid_options(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BASE, **change)  # type: ignore[arg-type]


def test_secret_values_must_match() -> None:
    with pytest.raises(ValueError, match=r"missing \['TOKEN'\]"):
        poller_objects(replace(BASE, secret_env=("TOKEN",)), {})
