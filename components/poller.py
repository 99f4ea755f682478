"""Poller: runs `eoepca-gitops watch` inside the cluster (Deployment, ServiceAccount, RBAC scoped
to the managed namespaces, Secret for backend credentials / passphrase / Git credentials, Service
for metrics). The objects come from components.manifests.poller; this class only registers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.manifests.poller import PollerOptions
from components.objects import ObjectsComponent

__all__ = ["Poller", "PollerArgs"]

TYPE_TOKEN = "eoepca:gitops:Poller"


@dataclass(frozen=True)
class PollerArgs:
    options: PollerOptions
    #: From components.manifests.poller.poller_objects(options, secrets): Pulumi secrets may be
    #: given as the values; every Secret payload is registered as a Pulumi secret either way.
    objects: Sequence[dict[str, Any]]


class Poller(ObjectsComponent):
    namespace: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    metrics_port: pulumi.Output[int]

    def __init__(self, name: str, args: PollerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        options = args.options
        super().__init__(TYPE_TOKEN, name, args.objects, opts)
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
