"""ConfigMap `watched` in namespace `default`, its data from stack config.

Every object carries `pulumi.com/patchForce`, as the product's do (eoepca_gitops.manifests.drift):
re-creating what a killed run created then takes its fields from the dead run's field manager.

Config: kubeconfig (path, required), data (JSON object of strings, required), namespace (optional),
service (optional: the type of a Service `slow`; a LoadBalancer's await never ends here, so a test
can kill the update mid-way),
fail (optional string: raise it as a validation error), pause (optional seconds: after the ConfigMap
is created, wait this long, then create ConfigMap `after-pause`, so a test can act mid-update).
"""

import json
import time

import pulumi
import pulumi_kubernetes as k8s

cfg = pulumi.Config()
if cfg.get("fail"):
    raise ValueError(f"invalid config: {cfg.get('fail')}")
data = json.loads(cfg.require("data"))
if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
    raise ValueError("invalid config: data must be a JSON object of strings")
namespace = cfg.get("namespace") or "default"
provider = k8s.Provider("cluster", kubeconfig=cfg.require("kubeconfig"))
opts = pulumi.ResourceOptions(provider=provider)


def meta(name: str) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(
        name=name, namespace=namespace, annotations={"pulumi.com/patchForce": "true"}
    )


cm = k8s.core.v1.ConfigMap(
    "watched",
    metadata=meta("watched"),
    data=data,
    opts=opts,
)
secret = cfg.get_secret("token")
if secret is not None:
    k8s.core.v1.Secret(
        "watched",
        metadata=meta("watched"),
        string_data={"token": secret},
        opts=opts,
    )
if cfg.get("service"):
    k8s.core.v1.Service(
        "slow",
        metadata=meta("slow"),
        spec=k8s.core.v1.ServiceSpecArgs(
            type=cfg.get("service"), ports=[k8s.core.v1.ServicePortArgs(port=80)], selector={"app": "none"}
        ),
        opts=pulumi.ResourceOptions(provider=provider, custom_timeouts=pulumi.CustomTimeouts(create="5m")),
    )
pause = cfg.get_float("pause") or 0.0
if pause:

    def after(name: str) -> dict[str, str]:
        time.sleep(pause)
        return {"after": name}

    k8s.core.v1.ConfigMap(
        "after-pause",
        metadata=meta("after-pause"),
        data=cm.metadata.name.apply(after),
        opts=opts,
    )
pulumi.export("configmap", cm.metadata.name)
