"""engine-smoke: a Namespace, a ConfigMap and a Deployment through an explicit Kubernetes provider.

Config: `kubeconfig` (path or contents), `namespace` (name of the namespace to create)."""

import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
namespace_name = config.require("namespace")
provider = k8s.Provider("dev-cluster", kubeconfig=config.require("kubeconfig"))
opts = pulumi.ResourceOptions(provider=provider)

namespace = k8s.core.v1.Namespace(
    "namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace_name), opts=opts
)
config_map = k8s.core.v1.ConfigMap(
    "config",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="smoke-config", namespace=namespace.metadata.name),
    data={"greeting": "hello from the real engine"},
    opts=opts,
)
labels = {"app": "smoke"}
deployment = k8s.apps.v1.Deployment(
    "web",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="smoke-web", namespace=namespace.metadata.name),
    spec=k8s.apps.v1.DeploymentSpecArgs(
        replicas=2,
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
            spec=k8s.core.v1.PodSpecArgs(
                containers=[
                    k8s.core.v1.ContainerArgs(
                        name="web",
                        image="registry.k8s.io/pause:3.10",
                        env=[
                            k8s.core.v1.EnvVarArgs(
                                name="GREETING",
                                value_from=k8s.core.v1.EnvVarSourceArgs(
                                    config_map_key_ref=k8s.core.v1.ConfigMapKeySelectorArgs(
                                        name=config_map.metadata.name, key="greeting"
                                    )
                                ),
                            )
                        ],
                    )
                ]
            ),
        ),
    ),
    opts=opts,
)

pulumi.export("namespace", namespace.metadata.name)
pulumi.export("config_map", config_map.metadata.name)
pulumi.export("deployment", deployment.metadata.name)
pulumi.export("ready_replicas", deployment.status.ready_replicas)
