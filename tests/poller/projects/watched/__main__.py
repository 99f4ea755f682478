"""ConfigMap `watched` in namespace `default`, its data from stack config.

Config: kubeconfig (path, required), data (JSON object of strings, required), namespace (optional),
slow (optional bool: add a LoadBalancer Service whose await never ends, to be killed mid-update),
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
cm = k8s.core.v1.ConfigMap(
    "watched",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="watched", namespace=namespace),
    data=data,
    opts=opts,
)
secret = cfg.get_secret("token")
if secret is not None:
    k8s.core.v1.Secret(
        "watched",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="watched", namespace=namespace),
        string_data={"token": secret},
        opts=opts,
    )
if cfg.get_bool("slow"):
    k8s.core.v1.Service(
        "slow",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="slow", namespace=namespace),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="LoadBalancer", ports=[k8s.core.v1.ServicePortArgs(port=80)], selector={"app": "none"}
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
        metadata=k8s.meta.v1.ObjectMetaArgs(name="after-pause", namespace=namespace),
        data=cm.metadata.name.apply(after),
        opts=opts,
    )
pulumi.export("configmap", cm.metadata.name)
