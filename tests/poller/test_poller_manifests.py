"""The pure poller builder: defaults, one changed field at a time, RBAC scope, secrets placement,
and the Deployment's arguments as the `poll` command parses them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import ValidationError

from eoepca_gitops.cli.main import app
from eoepca_gitops.manifests.poller import poller_args, poller_objects
from eoepca_gitops.model import PollerConfig

BASE: dict[str, Any] = {
    "image": "registry.example/eoepca-gitops:1.0",
    "gitUrl": "https://git.example/cfg.git",
    "branch": "main",
    "stacks": ["creodias"],
    "backendUrl": "s3://state",
}
PASSPHRASE = {"PULUMI_CONFIG_PASSPHRASE": "s3cr3t-value"}


def config(**changes: Any) -> PollerConfig:
    return PollerConfig.model_validate({**BASE, **changes})


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    c: dict[str, Any] = by_kind(objs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    return c


def test_defaults() -> None:
    objs = poller_objects(config(), PASSPHRASE)
    assert [o["kind"] for o in objs] == [
        "Namespace", "ServiceAccount", "Secret", "Role", "RoleBinding", "Deployment", "Service",
        "NetworkPolicy",
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
    assert pod["terminationGracePeriodSeconds"] == 90
    assert c["image"] == BASE["image"]
    assert c["args"][:3] == ["poll", "--repo", "https://git.example/cfg.git"]
    assert c["args"][c["args"].index("--listen") + 1] == "[$(POD_IP)]:9464"
    assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in c["env"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "PULUMI_BACKEND_URL" not in {e["name"] for e in c["env"]}  # in the Secret
    svc = by_kind(objs, "Service")[0]
    assert svc["spec"]["ports"][0]["port"] == 9464
    assert poller_objects(config(), PASSPHRASE) == objs  # deterministic


def test_stacks_and_drift_mode_reach_the_args() -> None:
    c = config(stacks=["creodias", "minikube"], driftMode="correct", interval="30s")
    args = container(poller_objects(c, PASSPHRASE))["args"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "--stack"] == ["creodias", "minikube"]
    assert args[args.index("--drift-mode") + 1] == "correct"
    assert args[args.index("--interval") + 1] == "30s"


def test_rbac_scoped_to_managed_namespaces() -> None:
    c = config(managedNamespaces=["flux-system", "eoepca"])
    objs = poller_objects(c, PASSPHRASE)
    roles = [r for r in by_kind(objs, "Role") if not r["metadata"]["name"].endswith("-self")]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["eoepca", "flux-system"]
    bindings = by_kind(objs, "RoleBinding")
    assert len(bindings) == 3
    assert all(
        b["subjects"][0] == {"kind": "ServiceAccount", "name": c.name, "namespace": c.namespace}
        for b in bindings
    )
    assert not by_kind(objs, "ClusterRole")


def test_cluster_rules_make_a_cluster_role() -> None:
    rule = {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["*"]}
    objs = poller_objects(config(), PASSPHRASE, cluster_rules=(rule,))
    (cr,) = by_kind(objs, "ClusterRole")
    assert cr["rules"] == [rule]
    assert by_kind(objs, "ClusterRoleBinding")[0]["roleRef"]["name"] == cr["metadata"]["name"]


def test_secrets_only_in_the_secret() -> None:
    objs = poller_objects(config(), PASSPHRASE)
    (secret,) = by_kind(objs, "Secret")
    assert secret["stringData"] == {
        "PULUMI_BACKEND_URL": "s3://state",
        "PULUMI_CONFIG_PASSPHRASE": "s3cr3t-value",
    }
    dep = by_kind(objs, "Deployment")[0]
    assert "s3cr3t-value" not in json.dumps(dep)
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": ""}, "at least 1 character"),
        ({"namespace": "Bad_NS"}, "not a DNS label"),
        ({"driftMode": "fix"}, "'detect' or 'correct'"),
        ({"env": {"bad-name": "x"}}, "not an environment variable name"),
        ({"env": {"A": "1"}, "credentialSecrets": {"A": "aKey"}}, "given both in env and as a secret"),
        ({"env": {"PULUMI_CONFIG_PASSPHRASE": "x"}}, "given both in env and as a secret"),
        ({"port": 70000}, "less than 65536"),
        ({"interval": "1 minute"}, "not a Go duration"),
        ({"resources": {"limits": {"memory": "lots"}}}, "not a Kubernetes quantity"),
        ({"resources": {"limits": {"gpu": "1"}}}, "'cpu', 'memory' or 'ephemeral-storage'"),
    ],
)
def test_invalid_options(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(**change)


def test_secret_values_must_match() -> None:
    with pytest.raises(ValueError, match=r"missing \['TOKEN'\]"):
        poller_objects(config(credentialSecrets={"TOKEN": "tokenKey"}), PASSPHRASE)


# What every case shares: the arguments and the values `poll` parses them to.
COMMON_ARGS = ["--repo", "https://git.example/cfg.git", "--branch", "main", "--project-dir", "."]
TAIL_ARGS = ["--state-configmap", "eoepca-gitops-poller-state", "--work-dir", "/var/lib/eoepca-gitops/work"]
COMMON_PARAMS: dict[str, Any] = {
    "repo": "https://git.example/cfg.git",
    "branch": "main",
    "project_dir": ".",
    "state_configmap": "eoepca-gitops-poller-state",
    "work_dir": Path("/var/lib/eoepca-gitops/work"),
}


@pytest.mark.parametrize(
    ("changes", "args", "params"),
    [
        (
            {},
            [*COMMON_ARGS, "--stack", "creodias", "--interval", "10s", "--drift-interval", "10m"],
            {"stack": ["creodias"], "interval": 10.0, "drift_interval": 600.0, "drift_mode": "detect"},
        ),
        (
            {"interval": "1m0s", "driftInterval": "1h30m", "grace": "90s", "driftMode": "correct"},
            [*COMMON_ARGS, "--stack", "creodias", "--interval", "1m0s", "--drift-interval", "1h30m"],
            {"stack": ["creodias"], "interval": 60.0, "drift_interval": 5400.0, "drift_mode": "correct"},
        ),
        (
            {"interval": "250ms", "driftInterval": "0", "replicas": 3, "stacks": ["a", "b"]},
            [*COMMON_ARGS, "--stack", "a", "--stack", "b", "--interval", "250ms", "--drift-interval", "0"],
            {"stack": ["a", "b"], "interval": 0.25, "drift_interval": 0.0, "drift_mode": "detect"},
        ),
        (
            {"interval": "1.5h", "driftInterval": "2h45m0s", "lease": True, "port": 8080},
            [*COMMON_ARGS, "--stack", "creodias", "--interval", "1.5h", "--drift-interval", "2h45m0s"],
            {"stack": ["creodias"], "interval": 5400.0, "drift_interval": 9900.0, "drift_mode": "detect"},
        ),
    ],
)
def test_every_argument_the_deployment_passes_is_parsed_by_the_poll_command(
    changes: dict[str, Any], args: list[str], params: dict[str, Any]
) -> None:
    """The Deployment would crash-loop if `poll` refused an argument the model accepted."""
    p = config(**changes)
    lease = changes.get("replicas", 1) > 1 or changes.get("lease", False)
    grace = changes.get("grace", "60s")
    expected_args = [
        "poll",
        *args,
        "--drift-mode", params["drift_mode"],
        *TAIL_ARGS,
        "--listen", f"[$(POD_IP)]:{changes.get('port', 9464)}",
        "--grace", grace,
        *(["--lease", "eoepca-gitops-poller"] if lease else []),
    ]  # fmt: skip
    assert poller_args(p) == expected_args
    pod_ip = "10.244.0.7"  # what Kubernetes puts in for $(POD_IP)
    given = [a.replace("$(POD_IP)", pod_ip) for a in expected_args[1:]]
    group = typer.main.get_command(app)
    poll = group.get_command(typer.Context(group), "poll")  # type: ignore[attr-defined]
    ctx = poll.make_context("poll", given)  # parses and converts every option; no run
    expected = {
        **COMMON_PARAMS,
        **params,
        "listen": f"[10.244.0.7]:{changes.get('port', 9464)}",
        "grace": {"60s": 60.0, "90s": 90.0}[grace],
        "lease": "eoepca-gitops-poller" if lease else None,
    }
    assert {k: ctx.params[k] for k in expected} == expected


def test_network_policy_lets_in_metrics_scraping_only() -> None:
    (policy,) = by_kind(poller_objects(config(port=8080), PASSPHRASE), "NetworkPolicy")
    assert policy["metadata"]["namespace"] == "eoepca-gitops"
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "eoepca-gitops-poller"}}
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 8080}]}]
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}
    scrapers = [{"namespaceLabels": monitoring, "podLabels": {"app": "prometheus"}}]
    (policy,) = by_kind(poller_objects(config(metricsFrom=scrapers), PASSPHRASE), "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["from"] == [
        {
            "namespaceSelector": {"matchLabels": monitoring},
            "podSelector": {"matchLabels": {"app": "prometheus"}},
        }
    ]


def test_the_image_defaults_to_the_published_one_and_its_user() -> None:
    c = PollerConfig.model_validate({k: v for k, v in BASE.items() if k != "image"})
    pod = by_kind(poller_objects(c, PASSPHRASE), "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "ghcr.io/eoepca/eoepca-gitops:0.1.0"
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == security["runAsGroup"] == security["fsGroup"] == 65532
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}


def test_read_only_root_with_a_writable_work_dir() -> None:
    pod = by_kind(poller_objects(config(), PASSPHRASE), "Deployment")[0]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    writable = {m["mountPath"] for m in c["volumeMounts"] if m["name"] in empty}
    assert writable == {"/var/lib/eoepca-gitops", "/tmp"}
    env = {e["name"]: e.get("value") for e in c["env"]}
    for var in ("HOME", "PULUMI_HOME", "TMPDIR"):
        assert any(env[var].startswith(w) for w in writable), var
    work = c["args"][c["args"].index("--work-dir") + 1]
    assert work.startswith("/var/lib/eoepca-gitops/")


def test_resources_come_from_the_stack() -> None:
    default = container(poller_objects(config(), PASSPHRASE))["resources"]
    assert default == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    given = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    assert container(poller_objects(config(resources=given), PASSPHRASE))["resources"] == given
    only_limits = container(poller_objects(config(resources={"limits": {"memory": "3Gi"}}), PASSPHRASE))
    assert only_limits["resources"] == {"requests": default["requests"], "limits": {"memory": "3Gi"}}


SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-5c2e\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("git_secret", "env_names", "in_env"),
    [
        ({"identity": SSH_KEY, "known_hosts": "github.com ssh-ed25519 AAAA"}, ["GIT_SSH_COMMAND"],
         "-i /etc/eoepca-gitops/git/identity -o IdentitiesOnly=yes "
         "-o UserKnownHostsFile=/etc/eoepca-gitops/git/known_hosts -o StrictHostKeyChecking=yes"),
        ({"identity": SSH_KEY}, ["GIT_SSH_COMMAND"], "-o StrictHostKeyChecking=accept-new"),
        ({"username": "git", "password": "token-8d1f"},
         ["GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"],
         "$$(cat /etc/eoepca-gitops/git/password)"),
    ],
)  # fmt: skip
def test_git_credentials_are_mounted_from_their_secret(
    git_secret: dict[str, str], env_names: list[str], in_env: str
) -> None:
    objs = poller_objects(config(), PASSPHRASE, git_secret=git_secret)
    git = next(s for s in by_kind(objs, "Secret") if s["metadata"]["name"] == "eoepca-gitops-poller-git")
    assert git["stringData"] == git_secret
    pod = by_kind(objs, "Deployment")[0]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert {"name": "git", "mountPath": "/etc/eoepca-gitops/git", "readOnly": True} in c["volumeMounts"]
    assert {"name": "git", "secret": {"secretName": "eoepca-gitops-poller-git", "defaultMode": 0o440}} in pod[
        "volumes"
    ]
    git_env = [e for e in c["env"] if e["name"].startswith("GIT_")]
    assert [e["name"] for e in git_env] == env_names
    assert in_env in json.dumps(git_env)
    # the values themselves only in the Secret
    dep = json.dumps(by_kind(objs, "Deployment")[0])
    assert "key-5c2e" not in dep and "token-8d1f" not in dep


def test_the_credential_helper_hands_git_the_files(tmp_path: Path) -> None:
    """The https helper as git runs it (Kubernetes turns `$$` into `$`): the credentials from the files."""
    import subprocess

    objs = poller_objects(config(), PASSPHRASE, git_secret={"username": "git", "password": "token-8d1f"})
    env = {e["name"]: e["value"] for e in container(objs)["env"] if e["name"].startswith("GIT_CONFIG_")}
    helper = env["GIT_CONFIG_VALUE_0"].replace("$$", "$").replace("/etc/eoepca-gitops/git", str(tmp_path))
    (tmp_path / "username").write_text("git\n")
    (tmp_path / "password").write_text("token-8d1f\n")
    out = subprocess.run(
        ["sh", "-c", helper.removeprefix("!") + " get"], capture_output=True, text=True, check=True
    ).stdout
    assert out == "username=git\npassword=token-8d1f\n"
