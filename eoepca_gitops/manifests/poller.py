"""The poller's in-cluster objects as plain dicts: Namespace, ServiceAccount, Secret, RBAC scoped to
the namespaces the stacks manage, Deployment running `eoepca-gitops poll`, Service for metrics, and
a NetworkPolicy letting in nothing but metrics scraping on its port.

Pure: no Pulumi import. Reads a validated PollerConfig (the loader fills in the repository, branch
and stacks from the stack); secret values are passed through untouched (the Poller component hands
in Pulumi secrets; they only ever land in the Secret's stringData, never in the Deployment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eoepca_gitops.model import defaults
from eoepca_gitops.model.poller import PollerConfig
from eoepca_gitops.model.types import duration_seconds

__all__ = [
    "GIT_CREDENTIALS_DIR",
    "cluster_rbac",
    "deployment",
    "env_secret",
    "env_secret_name",
    "git_secret_name",
    "lease_name",
    "managed_rbac",
    "network_policy",
    "own_rbac",
    "poller_args",
    "poller_objects",
    "service",
    "state_configmap",
]

_LABEL = "app.kubernetes.io/name"
#: Where the Git credentials Secret is mounted in the poller's container (read-only).
GIT_CREDENTIALS_DIR = "/etc/eoepca-gitops/git"
_HOME = f"{defaults.POLLER_STATE_DIR}/home"


def state_configmap(p: PollerConfig) -> str:
    return f"{p.name}-state"


def lease_name(p: PollerConfig) -> str:
    return p.name


def env_secret_name(p: PollerConfig) -> str:
    return f"{p.name}-env"


def git_secret_name(p: PollerConfig) -> str:
    return f"{p.name}-git"


def _meta(p: PollerConfig, name: str | None = None, namespace: str | None = "") -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name or p.name,
        "labels": {_LABEL: p.name, "app.kubernetes.io/part-of": "eoepca-gitops"},
    }
    ns = p.namespace if namespace == "" else namespace
    if ns is not None:
        meta["namespace"] = ns
    return meta


def poller_args(p: PollerConfig) -> list[str]:
    """The `eoepca-gitops` arguments the Deployment runs (a test feeds them to the command's parser)."""
    if not (p.git_url and p.branch and p.stacks):
        raise ValueError("the poller's gitUrl, branch and stacks are filled in by the loader")
    args = [
        "poll",
        "--repo", p.git_url,
        "--branch", p.branch,
        "--project-dir", p.project_dir,
    ]  # fmt: skip
    for stack in p.stacks:
        args += ["--stack", stack]
    args += [
        "--interval", p.interval,
        "--drift-interval", p.drift_interval,
        "--drift-mode", p.drift_mode.value,
        # In-cluster the state lives in a ConfigMap (the pod's disk does not survive it).
        "--state-configmap", state_configmap(p),
        "--work-dir", f"{defaults.POLLER_STATE_DIR}/work",
        # The pod IP (Kubernetes puts it in for $(POD_IP)): the kubelet's probes and a scraper
        # connect there, so nothing needs 0.0.0.0; the NetworkPolicy decides who gets through.
        "--listen", f"[$(POD_IP)]:{p.port}",
        "--grace", p.grace,
    ]  # fmt: skip
    if p.lease_enabled:
        args += ["--lease", lease_name(p)]
    if p.rollback.automatic:
        args += ["--rollback-after", p.rollback.deadline]
        # Its Alerts pass the roll-back on like Flux's own events (notification-controller's Service).
        args += [
            "--flux-events",
            f"http://notification-controller.{defaults.FLUX_NAMESPACE}.svc.cluster.local./",
        ]
    return args


def poller_objects(
    o: PollerConfig,
    secret_values: Mapping[str, Any],
    cluster_rules: Sequence[Mapping[str, Any]] = (),
    git_secret: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The objects in apply order.

    `secret_values` holds a value for each variable of `o.secret_env`; `cluster_rules` are extra
    cluster-wide RBAC rules (a ClusterRole), none by default; `git_secret` is the stack's Git
    credentials in the keys Flux's source Secret has (sources.git_auth_secret_data), none for a
    repository read without them.
    """
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(o, o.namespace, None)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(o)},
        env_secret(o, secret_values),
        *own_rbac(o),
        *managed_rbac(o),
        *cluster_rbac(o, cluster_rules),
    ]
    if git_secret:
        objs.append(_secret(o, git_secret_name(o), dict(git_secret)))
    return [*objs, deployment(o, git_secret), service(o), network_policy(o)]


def _secret(o: PollerConfig, name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(o, name),
        "type": "Opaque",
        "stringData": data,
    }


def env_secret(o: PollerConfig, secret_values: Mapping[str, Any]) -> dict[str, Any]:
    """The Secret the Deployment reads its environment from (`envFrom`): the backend's URL with the
    secrets, so the pod's spec names no state location."""
    values = dict(secret_values)
    secret_env = sorted(o.secret_env)
    if set(values) != set(secret_env):
        missing = sorted(set(secret_env) - set(values))
        extra = sorted(set(values) - set(secret_env))
        raise ValueError(f"secret values do not match secret_env (missing {missing}, unexpected {extra})")
    return _secret(
        o, env_secret_name(o), {"PULUMI_BACKEND_URL": o.backend_url, **{k: values[k] for k in secret_env}}
    )


def _rbac(
    o: PollerConfig, kind: str, name: str, namespace: str | None, rules: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A Role (or ClusterRole) and the binding granting it to the poller's ServiceAccount."""
    group = "rbac.authorization.k8s.io"
    subject = {"kind": "ServiceAccount", "name": o.name, "namespace": o.namespace}
    return [
        {"apiVersion": f"{group}/v1", "kind": kind, "metadata": _meta(o, name, namespace), "rules": rules},
        {
            "apiVersion": f"{group}/v1",
            "kind": f"{kind}Binding",
            "metadata": _meta(o, name, namespace),
            "roleRef": {"apiGroup": group, "kind": kind, "name": name},
            "subjects": [subject],
        },
    ]


def own_rbac(o: PollerConfig) -> list[dict[str, Any]]:
    """Its own namespace: the state ConfigMap and the Lease (create cannot be limited by name)."""
    verbs = ["get", "create", "update", "patch"]
    rules: list[dict[str, Any]] = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}]
    if o.lease_enabled:
        rules.append({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": list(verbs)})
    return _rbac(o, "Role", f"{o.name}-self", "", rules)


def managed_rbac(o: PollerConfig) -> list[dict[str, Any]]:
    """Everything in each namespace the stacks manage."""
    everything = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    return [
        obj
        for ns in sorted(set(o.managed_namespaces))
        for obj in _rbac(o, "Role", f"{o.name}-manage", ns, [dict(r) for r in everything])
    ]


def cluster_rbac(o: PollerConfig, cluster_rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The extra cluster-wide rules, none by default."""
    if not cluster_rules:
        return []
    return _rbac(o, "ClusterRole", f"{o.namespace}-{o.name}", None, [dict(r) for r in cluster_rules])


def service(o: PollerConfig) -> dict[str, Any]:
    """The Service in front of the metrics port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(o),
        "spec": {
            "selector": {_LABEL: o.name},
            "ports": [{"name": "metrics", "port": o.port, "targetPort": "metrics", "protocol": "TCP"}],
        },
    }


def _git_env(git_secret: Mapping[str, Any]) -> list[dict[str, Any]]:
    """How git reads the repository's credentials from the mounted Secret, never from the
    environment or an argument: an ssh key (the host checked against known_hosts when the stack
    gives it), or an https username and password that a credential helper reads from the files
    (`$$` is Kubernetes' escape of `$`: the shell sees `$(cat ...)`)."""
    d = GIT_CREDENTIALS_DIR
    if "identity" in git_secret:
        hosts = (
            f"-o UserKnownHostsFile={d}/known_hosts -o StrictHostKeyChecking=yes"
            if "known_hosts" in git_secret
            else "-o StrictHostKeyChecking=accept-new"
        )
        return [{"name": "GIT_SSH_COMMAND", "value": f"ssh -i {d}/identity -o IdentitiesOnly=yes {hosts}"}]
    if "password" in git_secret:
        helper = (
            f'!f() {{ test "$1" = get || exit 0; printf "username=%s\\npassword=%s\\n" '
            f'"$$(cat {d}/username)" "$$(cat {d}/password)"; }}; f'
        )
        return [
            {"name": "GIT_CONFIG_COUNT", "value": "1"},
            {"name": "GIT_CONFIG_KEY_0", "value": "credential.helper"},
            {"name": "GIT_CONFIG_VALUE_0", "value": helper},
        ]
    return []


def deployment(o: PollerConfig, git_secret: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Deployment running `eoepca-gitops poll` in the image (Containerfile): a read-only root file
    system with its work dir (HOME, PULUMI_HOME, the Git cache) and /tmp on emptyDirs, the image's
    non-root user, the backend and passphrase from its Secret (`envFrom`), the Git credentials
    mounted from theirs."""
    volumes: list[dict[str, Any]] = [{"name": "state", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
    if git_secret:
        # Group-readable by the pod's fsGroup, the user's group; ssh takes a key root owns as it is.
        volumes.append({"name": "git", "secret": {"secretName": git_secret_name(o), "defaultMode": 0o440}})
    labels = {_LABEL: o.name}
    uid = defaults.POLLER_UID
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(o),
        "spec": {
            "replicas": o.replicas,
            # Without the lease never two pollers at once: the old pod is gone before the new
            # one starts. With it, standbys wait for the lease, so a rolling update is safe.
            "strategy": (
                {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
                if o.lease_enabled
                else {"type": "Recreate"}
            ),
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": o.name,
                    "terminationGracePeriodSeconds": duration_seconds(o.grace) + 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": uid,
                        "runAsGroup": uid,
                        "fsGroup": uid,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container(o, git_secret)],
                    "volumes": volumes,
                },
            },
        },
    }


def _container(o: PollerConfig, git_secret: Mapping[str, Any] | None) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": _HOME},
        {"name": "PULUMI_HOME", "value": f"{_HOME}/.pulumi"},
        {"name": "TMPDIR", "value": "/tmp"},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]
    env += [{"name": k, "value": v} for k, v in sorted(o.env.items())]
    env += _git_env(git_secret or {})
    mounts: list[dict[str, Any]] = [
        {"name": "state", "mountPath": defaults.POLLER_STATE_DIR},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if git_secret:
        mounts.append({"name": "git", "mountPath": GIT_CREDENTIALS_DIR, "readOnly": True})
    return {
        "name": "poller",
        "image": o.image,
        "args": poller_args(o),
        "env": env,
        "envFrom": [{"secretRef": {"name": env_secret_name(o)}}],
        "ports": [{"name": "metrics", "containerPort": o.port, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}, "periodSeconds": 10},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "metrics"},
            "periodSeconds": 30,
            "failureThreshold": 5,
        },
        "resources": o.resources.model_dump(),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }


def network_policy(o: PollerConfig) -> dict[str, Any]:
    """Ingress to the poller's pods: the metrics port only, from the configured scrapers (default:
    pods of its own namespace). It serves nothing else (/healthz, /readyz are the kubelet's, which
    NetworkPolicies leave through); its egress (Git, the state backend, the API server) is open."""
    peers: list[dict[str, Any]] = []
    for peer in o.metrics_from:
        selectors: dict[str, Any] = {}
        if peer.namespace_labels is not None:
            selectors["namespaceSelector"] = {"matchLabels": dict(peer.namespace_labels)}
        if peer.pod_labels is not None:
            selectors["podSelector"] = {"matchLabels": dict(peer.pod_labels)}
        peers.append(selectors)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(o),
        "spec": {
            "podSelector": {"matchLabels": {_LABEL: o.name}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": peers or [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": o.port}]}
            ],
        },
    }
