"""The Flux install builder: start from the release defaults, change one option, check the objects."""

from __future__ import annotations

from typing import Any

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.flux_apis import api_versions
from eoepca_gitops.manifests.flux_install import build_flux_install, component_of
from eoepca_gitops.manifests.flux_release import load_install_manifest, manifest_path
from eoepca_gitops.model.stack import ControllerPatch, FluxConfig
from tests.outside_data import flux_manifests, install_manifest


def install(**options: Any) -> list[dict[str, Any]]:
    folder = flux_manifests()
    flux = FluxConfig(manifest=str(folder), **options)
    return build_flux_install(load_install_manifest(flux, file="Pulumi.t.yaml", project=folder), flux)


def deployments(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}


def manager(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    container: dict[str, Any] = deployments(objects)[name]["spec"]["template"]["spec"]["containers"][0]
    return container


@pytest.mark.flux_manifests
def test_defaults_install_four_controllers_namespace_and_crds_first() -> None:
    objects = install()
    assert sorted(deployments(objects)) == [
        "helm-controller",
        "kustomize-controller",
        "notification-controller",
        "source-controller",
    ]
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "Namespace"
    first_other = next(i for i, k in enumerate(kinds) if k not in ("Namespace", "CustomResourceDefinition"))
    assert "CustomResourceDefinition" not in kinds[first_other:]
    assert not any(component_of(o) == "image-reflector-controller" for o in objects)


@pytest.mark.flux_manifests
def test_services_skip_the_providers_await() -> None:
    services = [o for o in install() if o["kind"] == "Service"]
    assert services and all(s["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true" for s in services)


@pytest.mark.flux_manifests
def test_extra_components_add_image_controllers_and_their_crds() -> None:
    objects = install(components_extra=["image-reflector-controller", "image-automation-controller"])
    assert "image-automation-controller" in deployments(objects)
    assert any(o["metadata"]["name"] == "imagepolicies.image.toolkit.fluxcd.io" for o in objects)


@pytest.mark.flux_manifests
def test_registry_pull_secret_log_level_watch_and_domain() -> None:
    objects = install(
        registry="registry.local/flux",
        image_pull_secret="regcred",
        log_level="debug",
        watch_all_namespaces=False,
        cluster_domain="k8s.internal",
    )
    source = manager(objects, "source-controller")
    assert source["image"].startswith("registry.local/flux/source-controller:")
    assert "--log-level=debug" in source["args"] and "--log-level=info" not in source["args"]
    assert "--watch-all-namespaces=false" in source["args"]
    assert any(a.endswith(".svc.k8s.internal.") for a in source["args"])
    pod = deployments(objects)["source-controller"]["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]


@pytest.mark.flux_manifests
def test_network_policy_off_and_toleration_keys() -> None:
    objects = install(network_policy=False, toleration_keys=["dedicated"])
    assert not [o for o in objects if o["kind"] == "NetworkPolicy"]
    pod = deployments(objects)["helm-controller"]["spec"]["template"]["spec"]
    assert {"key": "dedicated", "operator": "Exists"} in pod["tolerations"]


@pytest.mark.flux_manifests
def test_per_controller_patch_like_eoepca_memory_patch() -> None:
    patch = ControllerPatch(
        resources={"limits": {"memory": "2Gi"}, "requests": {"memory": "500Mi"}},
        args=["--concurrent=8"],
        node_selector={"pool": "system"},
    )
    objects = install(patches={"source-controller": patch})
    source = manager(objects, "source-controller")
    assert source["resources"]["limits"] == {"cpu": "1000m", "memory": "2Gi"}
    assert source["resources"]["requests"]["memory"] == "500Mi"
    assert "--concurrent=8" in source["args"]
    assert (
        deployments(objects)["source-controller"]["spec"]["template"]["spec"]["nodeSelector"]["pool"]
        == "system"
    )
    assert manager(objects, "helm-controller")["resources"]["limits"]["memory"] == "1Gi"


@pytest.mark.flux_manifests
def test_profile_then_patch_wins() -> None:
    objects = install(profile="large", patches={"helm-controller": ControllerPatch(args=["--concurrent=2"])})
    assert "--concurrent=20" in manager(objects, "source-controller")["args"]
    helm = manager(objects, "helm-controller")["args"]
    assert "--concurrent=2" in helm and "--concurrent=20" not in helm


@pytest.mark.flux_manifests
def test_release_objects_are_not_mutated() -> None:
    flux = FluxConfig(manifest=str(flux_manifests()))
    release = load_install_manifest(flux, file="f", project=flux_manifests())
    before = repr(release)
    build_flux_install(release, FluxConfig(manifest=str(flux_manifests()), log_level="debug"))
    assert repr(release) == before


@pytest.mark.flux_manifests
def test_v0_24_manifest_without_component_labels() -> None:
    objects = install(version="v0.24.0")
    assert sorted(deployments(objects)) == [
        "helm-controller",
        "kustomize-controller",
        "notification-controller",
        "source-controller",
    ]
    apis = api_versions(objects)
    assert apis["HelmRelease"] == "helm.toolkit.fluxcd.io/v2beta1"
    assert apis["Kustomization"] == "kustomize.toolkit.fluxcd.io/v1beta2"
    assert api_versions(install())["GitRepository"] == "source.toolkit.fluxcd.io/v1"


def test_missing_version_names_the_key(tmp_path: Any) -> None:
    with pytest.raises(ConfigError) as info:
        install(version="v9.9.9")
    assert info.value.key == "eoepca-gitops:flux.version"
    assert "no install manifest for Flux v9.9.9" in info.value.message


@pytest.mark.flux_manifests
def test_version_mismatch_in_local_file() -> None:
    flux = FluxConfig(manifest=str(install_manifest("v0.24.0")), version="v2.9.3")
    with pytest.raises(ConfigError, match=r"is Flux v0\.24\.0, not v2\.9\.3"):
        load_install_manifest(flux, file="f", project=flux_manifests())


@pytest.mark.flux_manifests
def test_a_mirror_folder_stands_in_for_the_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("EOEPCA_FLUX_MANIFESTS", str(flux_manifests()))
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path))
    path = manifest_path(FluxConfig(version="v0.24.0"), file="f", project=tmp_path)
    assert path == install_manifest("v0.24.0")
    monkeypatch.setenv("EOEPCA_FLUX_MANIFESTS", str(tmp_path / "empty"))
    (tmp_path / "flux" / "v0.24.0").mkdir(parents=True)
    (tmp_path / "flux" / "v0.24.0" / "install.yaml").write_text("# Flux Version: v0.24.0\n")
    cached = manifest_path(FluxConfig(version="v0.24.0"), file="f", project=tmp_path)
    assert cached == tmp_path / "flux" / "v0.24.0" / "install.yaml"


@pytest.mark.flux_manifests
def test_the_release_manifests_timestamps_and_status_are_left_out() -> None:
    # v0.24.0's manifest gives its CRDs `creationTimestamp: null` and a status; kept, every preview
    # would show them as changes.
    objects = install(version="v0.24.0")
    kept = [o["metadata"]["name"] for o in objects if "creationTimestamp" in o["metadata"] or "status" in o]
    assert kept == []


def test_an_objects_component_label_names_its_controller() -> None:
    labelled = {
        "kind": "ConfigMap",
        "metadata": {"name": "x", "labels": {"app.kubernetes.io/component": "helm-controller"}},
    }
    assert component_of(labelled) == "helm-controller"
    assert component_of({"kind": "ConfigMap", "metadata": {"name": "x"}}) is None


def test_a_crd_without_a_component_label_belongs_to_the_controller_of_its_group() -> None:
    crd = {"kind": "CustomResourceDefinition", "metadata": {"name": "helmreleases.helm.toolkit.fluxcd.io"}}
    assert component_of(crd) == "helm-controller"


def test_a_node_selector_patch_on_a_deployment_without_one_sets_it() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "helm-controller", "namespace": "flux-system"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "manager", "image": "ghcr.io/fluxcd/helm-controller:v1", "args": []}
                    ]
                }
            }
        },
    }
    flux = FluxConfig(
        manifest="flux",
        patches={"helm-controller": ControllerPatch(node_selector={"pool": "infra"})},
    )
    (built,) = build_flux_install([deployment], flux)
    assert built["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "infra"}


@pytest.mark.flux_manifests
def test_another_namespace_holds_every_namespaced_object_and_binding_subject() -> None:
    objects = install(namespace="gitops")
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "CustomResourceDefinition"}
    assert namespaces == {"gitops", None}
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"] == ["gitops"]
    subjects = [s for o in objects if o["kind"] == "ClusterRoleBinding" for s in o["subjects"]]
    assert subjects and {s["namespace"] for s in subjects} == {"gitops"}
