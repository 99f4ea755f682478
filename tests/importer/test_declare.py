"""The import's declarations (importer/declare.py): a tree's HelmRelease, HelmRepository and Flux
Kustomization as the items of a block file, and the reason one stays a plain manifest."""

from __future__ import annotations

from typing import Any

import pytest

from eoepca_gitops.importer.declare import Unmodelled, kustomization_item, release_item, repository_item

CHART_SOURCE = {"kind": "HelmRepository", "name": "charts"}


def _release(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "apps", **metadata},
        "spec": spec,
    }


def _chart(**chart_spec: Any) -> dict[str, Any]:
    """A spec.chart of chart `web` 1.0.0 from the HelmRepository `charts`, with `chart_spec`."""
    return {"spec": {"chart": "web", "version": "1.0.0", "sourceRef": CHART_SOURCE, **chart_spec}}


def _repository(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": "apps", **metadata},
        "spec": spec,
    }


def _kustomization(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system", **metadata},
        "spec": {"path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}, **spec},
    }


# HelmRelease


def test_a_release_is_declared_with_its_chart_its_settings_and_metadata() -> None:
    release = _release(
        {
            "chart": _chart(interval="1h", valuesFiles=["values.yaml"], reconcileStrategy="Revision"),
            "interval": "5m",
            "values": {"replicas": 2},
            "dependsOn": [{"name": "db"}],
        },
        labels={"team": "web"},
        annotations={"note": "kept"},
    )
    assert release_item(release) == {
        "name": "web",
        "namespace": "apps",
        "labels": {"team": "web"},
        "annotations": {"note": "kept"},
        "chart": "web",
        "version": "1.0.0",
        "sourceRef": CHART_SOURCE,
        "chartInterval": "1h",
        "valuesFiles": ["values.yaml"],
        "reconcileStrategy": "Revision",
        "interval": "5m",
        "values": {"replicas": 2},
        "dependsOn": [{"name": "db"}],
    }


def test_a_chart_version_yaml_reads_as_a_number_is_declared_as_text() -> None:
    item = release_item(_release({"chart": _chart(version=2)}))
    assert item["version"] == "2"


def test_a_release_of_a_whole_chart_source_names_the_source_only() -> None:
    chart_ref = {"kind": "OCIRepository", "name": "redis-chart"}
    assert release_item(_release({"chartRef": chart_ref, "interval": "10m"})) == {
        "name": "web",
        "namespace": "apps",
        "sourceRef": chart_ref,
        "interval": "10m",
    }


def test_a_release_is_not_changed_by_its_declaration() -> None:
    release = _release({"chart": _chart(interval="1h"), "interval": "5m"})
    release_item(release)
    assert release == _release({"chart": _chart(interval="1h"), "interval": "5m"})


def test_a_release_with_metadata_the_block_does_not_say_is_unmodelled() -> None:
    release = _release({"chart": _chart()}, uid="1234", generation=3)
    with pytest.raises(Unmodelled, match=r"^metadata\.generation, metadata\.uid not modelled$"):
        release_item(release)


@pytest.mark.parametrize("spec", [{}, {"chart": None}, {"chart": {}}], ids=["no chart", "null", "empty"])
def test_a_release_without_a_chart_is_unmodelled(spec: dict[str, Any]) -> None:
    with pytest.raises(Unmodelled, match=r"^spec\.chart\.spec not modelled$"):
        release_item(_release(spec))


def test_a_release_chart_with_fields_beside_its_spec_is_unmodelled() -> None:
    chart = {**_chart(), "zeta": 1, "alpha": 2}
    with pytest.raises(Unmodelled, match=r"^spec\.chart\.alpha, spec\.chart\.zeta not modelled$"):
        release_item(_release({"chart": chart}))


@pytest.mark.parametrize("chart_spec", [None, {"chart": "web", "sourceRef": CHART_SOURCE}])
def test_a_release_without_a_chart_version_is_unmodelled(chart_spec: dict[str, Any] | None) -> None:
    with pytest.raises(Unmodelled, match=r"^no chart version \(the latest\) not modelled$"):
        release_item(_release({"chart": {"spec": chart_spec}}))


def test_a_chart_setting_the_block_does_not_say_is_unmodelled() -> None:
    with pytest.raises(Unmodelled, match=r"^spec\.chart\.spec\.valuesFile not modelled$"):
        release_item(_release({"chart": _chart(valuesFile="values.yaml")}))


def test_release_spec_fields_the_block_does_not_say_are_unmodelled() -> None:
    spec = {"chart": _chart(), "kubeConfig": {"secretRef": {"name": "k"}}, "chartInterval": "1h"}
    with pytest.raises(Unmodelled, match=r"^spec\.chartInterval, spec\.kubeConfig not modelled$"):
        release_item(_release(spec))


def test_a_release_with_both_chart_ref_and_chart_is_unmodelled() -> None:
    spec = {"chartRef": {"kind": "OCIRepository", "name": "redis"}, "chart": _chart()}
    with pytest.raises(Unmodelled, match=r"^spec\.chart not modelled$"):
        release_item(_release(spec))


def test_a_release_the_model_refuses_is_unmodelled_with_the_first_error_and_where() -> None:
    spec = {"chart": _chart(), "dependsOn": [{"namespace": "db"}]}
    with pytest.raises(Unmodelled, match=r"^dependsOn\.0\.name: Field required$"):
        release_item(_release(spec))


def test_a_release_chart_without_a_chart_name_is_unmodelled() -> None:
    chart = {"spec": {"version": "1.0.0", "sourceRef": CHART_SOURCE}}
    with pytest.raises(Unmodelled, match=r"^chart: Input should be a valid string$"):
        release_item(_release({"chart": chart}))


def test_a_release_chart_without_a_source_is_unmodelled() -> None:
    chart = {"spec": {"chart": "web", "version": "1.0.0"}}
    with pytest.raises(Unmodelled, match=r"^sourceRef: Input should be a valid dictionary"):
        release_item(_release({"chart": chart}))


# HelmRepository


def test_a_repository_is_declared_with_its_spec_and_metadata() -> None:
    spec = {"url": "oci://ghcr.io/acme", "type": "oci", "interval": "1h"}
    repository = _repository(spec, labels={"a": "b"})
    assert repository_item(repository) == {
        "name": "charts",
        "namespace": "apps",
        "labels": {"a": "b"},
        "url": "oci://ghcr.io/acme",
        "type": "oci",
        "interval": "1h",
    }


def test_repository_spec_fields_the_block_does_not_say_are_unmodelled() -> None:
    repository = _repository({"url": "https://charts.example.org", "suspend": True, "accessFrom": {}})
    with pytest.raises(Unmodelled, match=r"^spec\.accessFrom, spec\.suspend not modelled$"):
        repository_item(repository)


def test_a_repository_with_metadata_the_block_does_not_say_is_unmodelled() -> None:
    repository = _repository({"url": "https://charts.example.org"}, finalizers=["x"])
    with pytest.raises(Unmodelled, match=r"^metadata\.finalizers not modelled$"):
        repository_item(repository)


def test_a_repository_the_model_refuses_is_unmodelled() -> None:
    with pytest.raises(Unmodelled, match=r"^type: Input should be 'default' or 'oci'$"):
        repository_item(_repository({"url": "https://charts.example.org", "type": "git"}))


def test_a_repository_without_a_spec_is_unmodelled() -> None:
    with pytest.raises(Unmodelled, match=r"^url: Field required$"):
        repository_item({"kind": "HelmRepository", "metadata": {"name": "charts", "namespace": "apps"}})


# Kustomization


def test_a_kustomization_named_as_its_block_in_fluxs_namespace_says_its_path_only() -> None:
    obj = _kustomization({"dependsOn": [{"name": "infra"}], "postBuild": {"substitute": {"a": "b"}}})
    assert kustomization_item(obj, "apps", "flux-system", False, []) == ({"path": "apps"}, [])


def test_a_kustomization_named_otherwise_keeps_its_name() -> None:
    item, _ = kustomization_item(_kustomization({}), "apps-prod", "flux-system", False, [])
    assert item == {"path": "apps-prod", "name": "apps"}


def test_a_kustomization_without_a_namespace_is_in_fluxs() -> None:
    obj = _kustomization({})
    del obj["metadata"]["namespace"]
    assert kustomization_item(obj, "apps", "flux-system", False, []) == ({"path": "apps"}, [])


def test_a_kustomization_in_another_namespace_keeps_it_and_its_source_names_fluxs() -> None:
    obj = _kustomization({}, namespace="team-a")
    item, left_out = kustomization_item(obj, "team-a-apps", "flux-system", False, [])
    assert item == {
        "path": "team-a-apps",
        "name": "apps",
        "namespace": "team-a",
        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
    }
    assert left_out == []


def test_a_tenant_kustomization_whose_source_is_in_fluxs_namespace_says_no_source() -> None:
    source = {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}
    obj = _kustomization({"sourceRef": source}, namespace="team-a")
    item, _ = kustomization_item(obj, "apps", "flux-system", False, [])
    assert item == {"path": "apps", "namespace": "team-a"}


def test_a_kustomization_of_another_git_source_follows_the_stacks_and_says_so() -> None:
    obj = _kustomization({"sourceRef": {"kind": "GitRepository", "name": "fleet"}})
    item, left_out = kustomization_item(obj, "apps", "flux-system", False, [])
    assert item == {"path": "apps", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    assert left_out == ["spec.sourceRef.name fleet is the stack's flux-system"]


def test_a_kustomization_of_an_oci_source_keeps_its_kind() -> None:
    source = {"kind": "OCIRepository", "name": "flux-system"}
    obj = _kustomization({"sourceRef": source})
    item, left_out = kustomization_item(obj, "apps", "flux-system", False, [])
    assert item == {"path": "apps", "sourceRef": source}
    assert left_out == []


def test_a_kustomizations_modelled_fields_are_kept_and_the_others_left_out() -> None:
    spec = {"interval": "1h", "prune": False, "wait": True, "validation": "client", "force": True}
    item, left_out = kustomization_item(_kustomization(spec), "apps", "flux-system", False, [])
    assert item == {"path": "apps", "interval": "1h", "prune": False, "wait": True, "force": True}
    assert left_out == ["spec.validation not modelled, left out"]


def test_build_fields_are_kept_unless_applied_at_import() -> None:
    spec = {"targetNamespace": "web", "namePrefix": "dev-", "timeout": "5m"}
    kept, _ = kustomization_item(_kustomization(spec), "apps", "flux-system", False, [])
    assert kept == {"path": "apps", "targetNamespace": "web", "namePrefix": "dev-", "timeout": "5m"}
    baked, left_out = kustomization_item(_kustomization(spec), "apps", "flux-system", True, [])
    assert baked == {"path": "apps", "timeout": "5m"}
    assert left_out == ["spec.targetNamespace applied at import", "spec.namePrefix applied at import"]


def test_a_kustomizations_components_are_the_ones_given() -> None:
    obj = _kustomization({"components": ["../components/debug"]})
    item, left_out = kustomization_item(obj, "apps", "flux-system", True, ["debug"])
    assert item == {"path": "apps", "components": ["debug"]}
    assert left_out == []
