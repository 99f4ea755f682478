"""Drift described from a refresh-preview step: object, field, both values, and who changed it."""

from __future__ import annotations

from typing import Any

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.manifests.drift import EXEMPT, EXEMPT_FIELDS, PATCH_FORCE, apply_drift_policy
from eoepca_gitops.model.blocks import DriftExemption
from eoepca_gitops.poller.drift import DriftItem, describe_step, field_owner, parse_path

PULUMI = {"manager": "pulumi-kubernetes-d0c00bec", "operation": "Apply", "time": "2026-11-30T05:00:00Z"}


def release(interval: str, labels: dict[str, str] | None = None, *managed: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "HelmRelease",
        "metadata": {"name": "x", "namespace": "um", "labels": labels or {}, "managedFields": list(managed)},
        "spec": {
            "interval": interval,
            "values": {"replicaCount": 1},
            "containers": [{"name": "manager", "image": "a:1"}],
        },
    }


def test_a_field_another_manager_changed_names_that_manager() -> None:
    live = release(
        "9m",
        None,
        {**PULUMI, "fieldsV1": {"f:spec": {"f:interval": {}}}},
        {"manager": "kubectl-patch", "operation": "Update", "fieldsV1": {"f:spec": {"f:interval": {}}}},
    )
    items = describe_step(
        "update",
        "HelmRelease/um/x",
        "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease",
        live,
        release("1m0s"),
        {"spec.interval": {}},
    )
    assert items == [
        DriftItem(
            "HelmRelease",
            "HelmRelease/um/x",
            "spec.interval",
            '"1m0s"',
            '"9m"',
            "kubectl-patch",
            "helm.toolkit.fluxcd.io/v2",
        )
    ]
    assert str(items[0]) == 'HelmRelease/um/x spec.interval: "9m" (by kubectl-patch), declared "1m0s"'


def test_list_items_and_quoted_keys_are_followed_in_managed_fields() -> None:
    live = release("1m", {"a.b/c": "z"})
    live["spec"]["containers"][0]["image"] = "a:2"
    owner_fields = {
        "f:metadata": {"f:labels": {"f:a.b/c": {}}},
        "f:spec": {"f:containers": {'k:{"name":"manager"}': {"f:image": {}}}},
    }
    managed = [{"manager": "other-tool", "operation": "Apply", "fieldsV1": owner_fields}]
    assert parse_path('metadata.labels["a.b/c"]') == ["metadata", "labels", "a.b/c"]
    assert field_owner(managed, parse_path('metadata.labels["a.b/c"]'), live) == "other-tool"
    assert field_owner(managed, parse_path("spec.containers[0].image"), live) == "other-tool"
    assert field_owner(managed, parse_path("spec.interval"), live) is None


def test_set_elements_indexes_and_unowned_paths_in_managed_fields() -> None:
    live = {"spec": {"finalizers": ["a", "b"], "args": ["--x", "--y"], "n": 1}}
    managed = [
        {**PULUMI, "fieldsV1": {"f:spec": {"f:n": {}}}},  # Pulumi's own: never named
        {"manager": "sets", "operation": "Apply", "fieldsV1": {"f:spec": {"f:finalizers": {'v:"b"': {}}}}},
        {"manager": "lists", "operation": "Update", "fieldsV1": {"f:spec": {"f:args": {"i:1": {}}}}},
    ]
    assert field_owner(managed, ["spec", "finalizers", 1], live) == "sets"
    assert field_owner(managed, ["spec", "finalizers", 0], live) is None
    assert field_owner(managed, ["spec", "args", 1], live) == "lists"
    assert field_owner(managed, ["spec", "args", 5], live) is None  # past the list's end
    assert field_owner(managed, ["spec", "n"], live) is None
    assert field_owner(managed, ["spec", "n", "deeper"], live) is None  # a leaf has no fields below


def test_a_removed_field_or_a_deleted_object_is_drift_too() -> None:
    live = release(
        "1m",
        None,
        {"manager": "kubectl-label", "operation": "Update", "time": "2026-11-30T06:00:00Z", "fieldsV1": {}},
        {"manager": "kubectl-patch", "operation": "Update", "time": "2026-11-30T05:30:00Z", "fieldsV1": {}},
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "subresource": "status",
            "time": "2026-11-30T06:01:00Z",
            "fieldsV1": {},
        },
    )
    declared = release("1m", {"app": "x"})
    (item,) = describe_step(
        "update",
        "HelmRelease/um/x",
        "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease",
        live,
        declared,
        {'metadata.labels["app"]': {}},
    )
    assert (item.declared, item.live, item.manager) == ('"x"', "(absent)", "kubectl-label?")
    (gone,) = describe_step(
        "create",
        "ConfigMap/flux-system/cluster-vars",
        "kubernetes:core/v1:ConfigMap",
        None,
        {"data": {}},
        None,
    )
    assert (gone.field, gone.live) == ("(object)", "deleted")


def test_secret_values_never_appear() -> None:
    live = {"kind": "Secret", "metadata": {"managedFields": []}, "stringData": {"password": "s3cr3t"}}
    (item,) = describe_step(
        "update",
        "Secret/a/b",
        "kubernetes:core/v1:Secret",
        live,
        {"stringData": {"password": "other"}},
        {"stringData.password": {}},
    )
    assert "s3cr3t" not in str(item) and "other" not in str(item)


def objects() -> list[dict[str, Any]]:
    return [
        {"kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}, "spec": {"replicas": 1, "x": 1}},
        {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "1"}},
    ]


def test_every_object_takes_its_declared_fields_back_unless_exempt() -> None:
    objs = objects()
    apply_drift_policy(
        objs, [DriftExemption(object="Deployment/n/d", fields=["spec.replicas"])], "Pulumi.t.yaml"
    )
    deployment, config_map = objs
    assert deployment["metadata"]["annotations"] == {PATCH_FORCE: "true", EXEMPT_FIELDS: "spec.replicas"}
    assert deployment["spec"] == {"x": 1}  # left to whoever scales it
    assert config_map["metadata"]["annotations"] == {PATCH_FORCE: "true"}
    whole = objects()
    apply_drift_policy(whole, [DriftExemption(object="ConfigMap/n/c")], "Pulumi.t.yaml")
    assert whole[1]["metadata"]["annotations"] == {EXEMPT: "true"}


@pytest.mark.parametrize(
    ("exemption", "words"),
    [
        (DriftExemption(object="Deployment/n/nope"), "declares no such object"),
        (DriftExemption(object="Deployment/n/d", fields=["spec.nope"]), "declares no field spec.nope"),
    ],
)
def test_an_exemption_of_nothing_is_refused(exemption: DriftExemption, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        apply_drift_policy(objects(), [exemption], "Pulumi.t.yaml")
    assert info.value.key == "eoepca-gitops:driftExempt"


def test_every_other_step_says_what_it_found() -> None:
    """An object someone deleted, one someone added under the stack's name, one replaced, a step
    with no field diff, long and escaped values, a drift nobody is on record for."""
    token = "kubernetes:apps/v1:Deployment"
    (added,) = describe_step("delete", "Deployment/n/d", token, {"spec": {}}, None, None)
    assert (added.field, added.declared, added.live, added.manager, added.api_version) == (
        "(object)",
        "absent",
        "present",
        "?",
        "apps/v1",
    )
    (replaced,) = describe_step("delete-replaced", "Deployment/n/d", token, {}, {}, None)
    assert replaced.live == "present"
    (recreated,) = describe_step("create-replacement", "Deployment/n/d", token, None, {}, None)
    assert recreated.live == "deleted"
    managed = {
        "metadata": {"managedFields": [{"manager": "kubectl-edit", "operation": "Update", "time": "1"}]}
    }
    (whole,) = describe_step("replace", "Deployment/n/d", token, managed, {}, {})
    assert (whole.field, whole.declared, whole.live, whole.manager) == (
        "(object)",
        "(as declared)",
        "(replace)",
        "kubectl-edit?",
    )
    assert describe_step("same", "Deployment/n/d", token, managed, {}, {}) == []
    assert describe_step("refresh", "Deployment/n/d", token, managed, {}, None) == []
    long = {"spec": {"values": {"x": "y" * 200}}}
    (item,) = describe_step("update", "Deployment/n/d", token, long, {"spec": {}}, {"spec.values": {}})
    assert item.live == '{"x": "' + "y" * 110 + "..." and len(item.live) == 120
    assert (item.declared, item.manager) == ("(absent)", "?")  # Kubernetes keeps no owner: nobody on record


def test_pulumi_paths_with_escaped_quotes_and_indexes() -> None:
    assert parse_path('metadata.annotations["a\\"b"].x[12]') == ["metadata", "annotations", 'a"b', "x", 12]
    assert parse_path("") == []


def test_values_are_shown_as_json_with_sorted_keys_up_to_120_characters() -> None:
    token = "kubernetes:v1:ConfigMap"
    live = {"data": {"b": "2", "a": "1"}, "x": "z" * 118}
    (item, long) = describe_step("update", "ConfigMap/n/c", token, live, {}, {"data": {}, "x": {}})
    assert item.live == '{"a": "1", "b": "2"}'
    assert long.live == '"' + "z" * 118 + '"'  # 120 characters: shown whole


def test_the_last_writer_is_the_newest_update_that_is_not_pulumis_nor_a_status_write() -> None:
    managed = [
        {"manager": "kubectl-edit", "operation": "Update", "time": "2026-11-30T05:00:00Z"},
        {"manager": "kubectl-patch", "operation": "Update", "time": "2026-11-30T07:00:00Z"},
        {"manager": "helm", "operation": "Update", "time": "2026-11-30T06:00:00Z"},
        {"manager": "pulumi-kubernetes-1", "operation": "Update", "time": "2026-11-30T09:00:00Z"},
        {"manager": "flux", "operation": "Apply", "time": "2026-11-30T10:00:00Z"},
        {"manager": "untimed", "operation": "Update"},  # `time` is optional: older than any given
    ]
    live = {"metadata": {"managedFields": managed}}
    (item,) = describe_step(
        "update", "ConfigMap/n/c", "kubernetes:v1:ConfigMap", live, {"data": {"k": "v"}}, {"data": {}}
    )
    assert item.manager == "kubectl-patch?"
    (whole,) = describe_step("replace", "ConfigMap/n/c", "kubernetes:v1:ConfigMap", live, {}, {})
    assert (whole.manager, whole.api_version) == ("kubectl-patch?", "v1")
    (gone,) = describe_step("create", "ConfigMap/n/c", "kubernetes:v1:ConfigMap", None, {}, None)
    assert (gone.declared, gone.live, gone.api_version) == ("present", "deleted", "v1")
