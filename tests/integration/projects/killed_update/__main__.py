"""killed-update: a ConfigMap through the Kubernetes provider, then a Python dynamic resource whose
create waits five minutes, so that a test kills `pulumi up` while both providers run.

Config: `kubeconfig` (path), `namespace` (an existing namespace), `started` (a file the dynamic
provider writes its pid to when the create begins)."""

import os
import time
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Waits(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        with open(props["started"], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(300)
        return CreateResult(id_="waited", outs=props)


class Waiting(Resource):
    """A dynamic resource's type is named after its class."""


config = pulumi.Config()
provider = k8s.Provider("cluster", kubeconfig=config.require("kubeconfig"))
before = k8s.core.v1.ConfigMap(
    "before",
    metadata=k8s.meta.v1.ObjectMetaArgs(namespace=config.require("namespace")),
    data={"k": "v"},
    opts=pulumi.ResourceOptions(provider=provider),
)
Waiting(
    Waits(), "waiting", {"started": config.require("started")}, pulumi.ResourceOptions(depends_on=[before])
)
