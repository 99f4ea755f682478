"""The poller's in-cluster objects as plain dicts: Namespace, ServiceAccount, Secret, RBAC scoped to
the namespaces the stacks manage, Deployment running `eoepca-gitops watch`, Service for metrics.

Pure: no Pulumi import. Secret values are passed through untouched (the Poller component hands in
Pulumi secrets; they only ever land in the Secret's stringData, never in the Deployment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_PORT", "STATE_DIR", "PollerOptions", "poller_objects"]

DEFAULT_PORT = 9464
STATE_DIR = "/var/lib/eoepca-gitops"
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL = "app.kubernetes.io/name"


@dataclass(frozen=True)
class PollerOptions:
    image: str
    repo: str
    stacks: tuple[str, ...]
    name: str = "eoepca-gitops-poller"
    namespace: str = "eoepca-gitops"
    create_namespace: bool = True
    branch: str = "main"
    project_dir: str = "."
    interval: str = "10s"
    drift_interval: str = "10m"
    drift_mode: str = "detect"
    #: Namespaces the stacks manage: a Role + RoleBinding with full rights in each.
    managed_namespaces: tuple[str, ...] = ()
    #: Extra cluster-wide rules (e.g. CRDs, Namespaces) for a ClusterRole; empty: no ClusterRole.
    cluster_rules: tuple[Mapping[str, Any], ...] = ()
    #: Non-secret environment (PULUMI_BACKEND_URL without credentials, AWS_REGION, ...).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Names of the variables the Secret holds (values are given to poller_objects).
    secret_env: tuple[str, ...] = ()
    port: int = DEFAULT_PORT
    grace_seconds: int = 60
    #: Replicas of the Deployment; more than one needs the lease.
    replicas: int = 1
    #: A coordination.k8s.io Lease in the poller's namespace: only its holder updates stacks.
    lease: bool = False
    cpu_request: str = "50m"
    memory_request: str = "128Mi"
    memory_limit: str = "512Mi"

    def __post_init__(self) -> None:
        if not self.image:
            raise ValueError("image is required (the poller image cannot be built here; pass its reference)")
        if not self.repo:
            raise ValueError("repo is required")
        if not self.stacks:
            raise ValueError("at least one stack is required")
        for label, value in (
            ("name", self.name),
            ("namespace", self.namespace),
            *(("managed_namespaces", ns) for ns in self.managed_namespaces),
        ):
            if not _DNS.match(value) or len(value) > 63:
                raise ValueError(f"{label}: {value!r} is not a valid Kubernetes name")
        if self.drift_mode not in ("detect", "correct"):
            raise ValueError(f"drift_mode must be detect or correct, got {self.drift_mode!r}")
        for key in (*self.env, *self.secret_env):
            if not _ENV_NAME.match(key):
                raise ValueError(f"environment variable name {key!r} is invalid")
        overlap = set(self.env) & set(self.secret_env)
        if overlap:
            raise ValueError(f"variables both plain and secret: {sorted(overlap)}")
        if not 0 < self.port < 65536:
            raise ValueError("port must be in 1..65535")
        if self.replicas < 1:
            raise ValueError("replicas must be >= 1")
        if self.replicas > 1 and not self.lease:
            raise ValueError("replicas > 1 needs lease=True (only the lease holder may update)")

    @property
    def state_configmap(self) -> str:
        return f"{self.name}-state"

    @property
    def lease_name(self) -> str:
        return self.name


def _meta(o: PollerOptions, name: str | None = None, namespace: str | None = "") -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name or o.name,
        "labels": {_LABEL: o.name, "app.kubernetes.io/part-of": "eoepca-gitops"},
    }
    ns = o.namespace if namespace == "" else namespace
    if ns is not None:
        meta["namespace"] = ns
    return meta


def _args(o: PollerOptions) -> list[str]:
    args = [
        "watch",
        "--repo", o.repo,
        "--branch", o.branch,
        "--project-dir", o.project_dir,
    ]  # fmt: skip
    for stack in o.stacks:
        args += ["--stack", stack]
    args += [
        "--interval", o.interval,
        "--drift-interval", o.drift_interval,
        "--drift-mode", o.drift_mode,
        # In-cluster the state lives in a ConfigMap (the pod's disk does not survive it).
        "--state-configmap", o.state_configmap,
        "--work-dir", f"{STATE_DIR}/work",
        "--listen", f"0.0.0.0:{o.port}",
        "--grace", f"{o.grace_seconds}s",
    ]  # fmt: skip
    if o.lease:
        args += ["--lease", o.lease_name]
    return args


def poller_objects(o: PollerOptions, secret_values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The objects in apply order. `secret_values` must hold exactly the keys of `o.secret_env`."""
    values = dict(secret_values or {})
    if set(values) != set(o.secret_env):
        missing = sorted(set(o.secret_env) - set(values))
        extra = sorted(set(values) - set(o.secret_env))
        raise ValueError(f"secret values do not match secret_env (missing {missing}, unexpected {extra})")
    objs: list[dict[str, Any]] = []
    if o.create_namespace:
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(o, o.namespace, None)})
    objs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(o)})
    secret_name = f"{o.name}-env"
    if o.secret_env:
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": _meta(o, secret_name),
                "type": "Opaque",
                "stringData": {k: values[k] for k in sorted(o.secret_env)},
            }
        )
    subject = [{"kind": "ServiceAccount", "name": o.name, "namespace": o.namespace}]
    # Its own namespace: the state ConfigMap and the Lease (create cannot be limited by name).
    own_rules: list[dict[str, Any]] = [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "update", "patch"]}
    ]
    if o.lease:
        own_rules.append(
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["get", "create", "update", "patch"],
            }
        )
    own = f"{o.name}-self"
    objs.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(o, own),
            "rules": own_rules,
        }
    )
    objs.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(o, own),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": own},
            "subjects": subject,
        }
    )
    for ns in sorted(set(o.managed_namespaces)):
        role = f"{o.name}-manage"
        objs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": _meta(o, role, ns),
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            }
        )
        objs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": _meta(o, role, ns),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                "subjects": subject,
            }
        )
    if o.cluster_rules:
        cluster_role = f"{o.namespace}-{o.name}"
        objs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": _meta(o, cluster_role, None),
                "rules": [dict(r) for r in o.cluster_rules],
            }
        )
        objs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": _meta(o, cluster_role, None),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": cluster_role,
                },
                "subjects": subject,
            }
        )
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": f"{STATE_DIR}/home"},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    env += [{"name": k, "value": v} for k, v in sorted(o.env.items())]
    container: dict[str, Any] = {
        "name": "poller",
        "image": o.image,
        "args": _args(o),
        "env": env,
        "ports": [{"name": "metrics", "containerPort": o.port, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}, "periodSeconds": 10},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "metrics"},
            "periodSeconds": 30,
            "failureThreshold": 5,
        },
        "resources": {
            "requests": {"cpu": o.cpu_request, "memory": o.memory_request},
            "limits": {"memory": o.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "state", "mountPath": STATE_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    if o.secret_env:
        container["envFrom"] = [{"secretRef": {"name": secret_name}}]
    labels = {_LABEL: o.name}
    objs.append(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(o),
            "spec": {
                "replicas": o.replicas,
                # Without the lease never two pollers at once: the old pod is gone before the new
                # one starts. With it, standbys wait for the lease, so a rolling update is safe.
                "strategy": (
                    {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
                    if o.lease
                    else {"type": "Recreate"}
                ),
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": o.name,
                        "terminationGracePeriodSeconds": o.grace_seconds + 30,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "fsGroup": 65532},
                        "containers": [container],
                        "volumes": [{"name": "state", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                    },
                },
            },
        }
    )
    objs.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(o),
            "spec": {
                "selector": labels,
                "ports": [{"name": "metrics", "port": o.port, "targetPort": "metrics", "protocol": "TCP"}],
            },
        }
    )
    return objs
