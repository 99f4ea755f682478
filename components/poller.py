"""Poller: runs `eoepca-gitops watch` inside the cluster (Deployment, ServiceAccount, RBAC scoped
to the managed namespaces, Secret for backend credentials / passphrase / Git credentials, Service
for metrics). The objects come from components.manifests.poller; this class only registers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.manifests.poller import DEFAULT_PORT, PollerOptions, poller_objects
from components.objects import ObjectsComponent

__all__ = ["Poller", "PollerArgs", "PollerManifests"]

TYPE_TOKEN = "eoepca:gitops:Poller"


@dataclass(frozen=True)
class PollerArgs:
    image: str
    repo: str
    stacks: tuple[str, ...]
    namespace: str = "eoepca-gitops"
    create_namespace: bool = True
    branch: str = "main"
    project_dir: str = "."
    interval: str = "10s"
    drift_interval: str = "10m"
    drift_mode: str = "detect"
    managed_namespaces: tuple[str, ...] = ()
    cluster_rules: tuple[Mapping[str, Any], ...] = ()
    #: Plain environment (PULUMI_BACKEND_URL without credentials, AWS_REGION, ...).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Secret environment (PULUMI_CONFIG_PASSPHRASE, AWS_SECRET_ACCESS_KEY, GIT_PASSWORD, ...):
    #: Pulumi secrets or plain strings, wrapped as secrets either way; only in the Secret.
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    port: int = DEFAULT_PORT
    grace_seconds: int = 60
    replicas: int = 1
    lease: bool = False

    def options(self, name: str) -> PollerOptions:
        return PollerOptions(
            image=self.image,
            repo=self.repo,
            stacks=tuple(self.stacks),
            name=name,
            namespace=self.namespace,
            create_namespace=self.create_namespace,
            branch=self.branch,
            project_dir=self.project_dir,
            interval=self.interval,
            drift_interval=self.drift_interval,
            drift_mode=self.drift_mode,
            managed_namespaces=tuple(self.managed_namespaces),
            cluster_rules=tuple(self.cluster_rules),
            env=dict(self.env),
            secret_env=tuple(sorted(self.secrets)),
            port=self.port,
            grace_seconds=self.grace_seconds,
            replicas=self.replicas,
            lease=self.lease,
        )


@dataclass(frozen=True)
class PollerManifests:
    """Objects already built by components.manifests.stack (the program's `eoepca-gitops:poller`)."""

    options: PollerOptions
    objects: list[dict[str, Any]]


class Poller(ObjectsComponent):
    namespace: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    metrics_port: pulumi.Output[int]

    def __init__(
        self, name: str, args: PollerArgs | PollerManifests, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Checked before anything is registered: a bad argument fails the preview with its reason.
        if isinstance(args, PollerManifests):
            options, objects = args.options, args.objects
        else:
            options = args.options(name)
            secrets = {k: pulumi.Output.secret(v) for k, v in args.secrets.items()}
            objects = poller_objects(options, secrets)
        super().__init__(TYPE_TOKEN, name, objects, opts)
        self.namespace = pulumi.Output.from_input(options.namespace)
        self.deployment_name = pulumi.Output.from_input(options.name)
        self.service_name = pulumi.Output.from_input(options.name)
        self.metrics_port = pulumi.Output.from_input(options.port)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "deployment_name": self.deployment_name,
                "service_name": self.service_name,
                "metrics_port": self.metrics_port,
            }
        )
