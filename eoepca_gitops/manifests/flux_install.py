"""Turns a Flux release's install manifest into the objects of one cluster's Flux, with its options.

Mirrors what `flux install` does with its flags (components, registry, pull secret, network
policy, watch-all-namespaces, cluster domain, toleration keys, log level) and adds per-controller
patches and size profiles. Pure: the release objects in, new dicts out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from eoepca_gitops.flux_apis import HELM_GROUP, KUSTOMIZE_GROUP, NOTIFICATION_GROUP, SOURCE_GROUP
from eoepca_gitops.model import defaults
from eoepca_gitops.model.stack import ControllerPatch, FluxConfig

__all__ = ["build_flux_install", "component_of"]

# CRD groups to the controller that serves them, for manifests without component labels (v0.x).
_CRD_OWNERS = {
    SOURCE_GROUP: "source-controller",
    KUSTOMIZE_GROUP: "kustomize-controller",
    HELM_GROUP: "helm-controller",
    NOTIFICATION_GROUP: "notification-controller",
}
_IMAGE_CRDS = {
    "imagepolicies": "image-reflector-controller",
    "imagerepositories": "image-reflector-controller",
    "imageupdateautomations": "image-automation-controller",
}
_SERVICE_OWNERS = {"webhook-receiver": "notification-controller"}
_ORDER = {"Namespace": 0, "CustomResourceDefinition": 1}
# The Pulumi provider holds each Service's create for 10 s after every change to its Endpoints,
# and everything after Flux waited for that (bench/results.md, scenario 2). The Deployments
# behind Flux's Services are awaited already; the Services need not be.
_SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


def component_of(obj: dict[str, Any]) -> str | None:
    """Which controller an object belongs to, or None for objects every install needs."""
    meta = obj.get("metadata", {})
    label = meta.get("labels", {}).get("app.kubernetes.io/component")
    if label:
        return str(label)
    name = str(meta.get("name", ""))
    if obj["kind"] == "CustomResourceDefinition":
        plural, _, group = name.partition(".")
        return _IMAGE_CRDS.get(plural) or _CRD_OWNERS.get(group)
    if obj["kind"] in ("Deployment", "ServiceAccount", "Service"):
        return _SERVICE_OWNERS.get(name, name)
    return None


def _set_arg(args: list[str], arg: str) -> list[str]:
    """Replace a --flag=value by flag name, or append it."""
    flag = arg.split("=", 1)[0]
    replaced = [arg if a.split("=", 1)[0] == flag else a for a in args]
    return replaced if arg in replaced else [*args, arg]


def _patch_container(container: dict[str, Any], patch: ControllerPatch) -> None:
    if patch.resources is not None:
        resources = container.setdefault("resources", {})
        for section, values in patch.resources.items():
            resources.setdefault(section, {}).update(values)
    for arg in patch.args:
        container["args"] = _set_arg(container.get("args", []), arg)


def _profile_patch(profile: str) -> ControllerPatch:
    spec = defaults.PROFILES[profile]
    return ControllerPatch(args=[f"--concurrent={spec['concurrent']}"], resources=spec["resources"])  # type: ignore[arg-type]


def _configure_deployment(obj: dict[str, Any], flux: FluxConfig, patches: Iterable[ControllerPatch]) -> None:
    pod = obj["spec"]["template"]["spec"]
    manager = pod["containers"][0]
    image = manager["image"]
    if flux.registry != defaults.FLUX_REGISTRY:
        manager["image"] = f"{flux.registry.rstrip('/')}/{image.rsplit('/', 1)[-1]}"
    args = manager.get("args", [])
    args = _set_arg(args, f"--watch-all-namespaces={str(flux.watch_all_namespaces).lower()}")
    args = _set_arg(args, f"--log-level={flux.log_level}")
    if flux.cluster_domain != defaults.CLUSTER_DOMAIN:
        args = [a.replace(f".{defaults.CLUSTER_DOMAIN}", f".{flux.cluster_domain}") for a in args]
    manager["args"] = args
    if flux.image_pull_secret:
        pod["imagePullSecrets"] = [{"name": flux.image_pull_secret}]
    tolerations = [{"key": key, "operator": "Exists"} for key in flux.toleration_keys]
    for patch in patches:
        _patch_container(manager, patch)
        if patch.node_selector:
            pod.setdefault("nodeSelector", {}).update(patch.node_selector)
        tolerations.extend(patch.tolerations)
    if tolerations:
        pod["tolerations"] = tolerations


def build_flux_install(release: Iterable[dict[str, Any]], flux: FluxConfig) -> list[dict[str, Any]]:
    """The Flux objects for a cluster: Namespace and CRDs first, then the rest in release order."""
    wanted = set(flux.controllers)
    out: list[dict[str, Any]] = []
    for original in release:
        component = component_of(original)
        if component is not None and component not in wanted:
            continue
        if original["kind"] == "NetworkPolicy" and not flux.network_policy:
            continue
        obj = copy.deepcopy(original)
        meta = obj["metadata"]
        if obj["kind"] == "Namespace":
            meta["name"] = flux.namespace
        elif meta.get("namespace") == defaults.FLUX_NAMESPACE:
            meta["namespace"] = flux.namespace
        for subject in obj.get("subjects", []):
            if subject.get("namespace") == defaults.FLUX_NAMESPACE:
                subject["namespace"] = flux.namespace
        if obj["kind"] == "Service":
            meta.setdefault("annotations", {}).update(_SKIP_AWAIT)
        if obj["kind"] == "Deployment":
            patches = []
            if flux.profile:
                patches.append(_profile_patch(flux.profile))
            if meta["name"] in flux.patches:
                patches.append(flux.patches[meta["name"]])
            _configure_deployment(obj, flux, patches)
        meta.pop("creationTimestamp", None)
        obj.pop("status", None)
        out.append(obj)
    return sorted(out, key=lambda o: _ORDER.get(o["kind"], 2))
