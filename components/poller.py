"""Poller: runs `eoepca-gitops poll` inside the cluster (Deployment, ServiceAccount, RBAC scoped
to the managed namespaces, Secret for backend credentials / passphrase / Git credentials, Service
for metrics). The objects come from eoepca_gitops.manifests.poller; this class only registers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.objects import ObjectsComponent
from eoepca_gitops.manifests.identity import COMPONENT_TYPES
from eoepca_gitops.model import PollerConfig

__all__ = ["Poller", "PollerArgs"]


@dataclass(frozen=True)
class PollerArgs:
    config: PollerConfig
    #: From eoepca_gitops.manifests.poller.poller_objects(config, secrets): Pulumi secrets may be
    #: given as the values; every Secret payload is registered as a Pulumi secret either way.
    objects: Sequence[dict[str, Any]]


class Poller(ObjectsComponent):
    namespace: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    metrics_port: pulumi.Output[int]

    def __init__(self, name: str, args: PollerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        config = args.config
        super().__init__(COMPONENT_TYPES["poller"], name, args.objects, opts)
        self.namespace = pulumi.Output.from_input(config.namespace)
        self.deployment_name = pulumi.Output.from_input(config.name)
        self.service_name = pulumi.Output.from_input(config.name)
        self.metrics_port = pulumi.Output.from_input(config.port)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "deployment_name": self.deployment_name,
                "service_name": self.service_name,
                "metrics_port": self.metrics_port,
            }
        )
