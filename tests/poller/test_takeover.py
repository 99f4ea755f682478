"""The entries the Kubernetes provider would take over before an update, and how they are kept."""

from __future__ import annotations

from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.poller.drift import DriftItem
from eoepca_gitops.poller.takeover import keep_others_fields, kept_entries, taken_over

ANNOTATE = {"manager": "kubectl-annotate", "operation": "Update", "fieldsV1": {"f:metadata": {}}}
PULUMI = {"manager": "pulumi-kubernetes-d0c00bec", "operation": "Apply", "fieldsV1": {"f:spec": {}}}


@pytest.mark.parametrize(
    ("manager", "operation", "subresource", "taken"),
    [
        ("kubectl-annotate", "Update", None, True),
        ("kubectl-edit", "Update", None, True),
        ("kubectl-client-side-apply", "Update", None, True),
        ("kubectl", "Apply", None, True),  # kubectl apply --server-side
        ("before-first-apply", "Update", None, True),
        ("kubectl", "Update", "scale", False),  # kubectl scale writes the scale subresource
        ("helm-controller", "Update", None, False),
        ("flux", "Update", None, False),
        ("other-tool", "Apply", None, False),
        ("pulumi-kubernetes-d0c00bec", "Apply", None, False),
    ],
)
def test_what_the_provider_takes_over(
    manager: str, operation: str, subresource: str | None, taken: bool
) -> None:
    entry = {
        "manager": manager,
        "operation": operation,
        **({"subresource": subresource} if subresource else {}),
    }
    assert taken_over(entry) is taken


def test_kept_entries_rename_only_what_would_be_taken() -> None:
    assert kept_entries([PULUMI, {"manager": "flux", "operation": "Update"}]) is None
    kept = kept_entries([PULUMI, ANNOTATE])
    assert kept == [PULUMI, {**ANNOTATE, "manager": "kept:kubectl-annotate"}]
    assert kept is not None and not any(taken_over(e) for e in kept)
    long = kept_entries([{**ANNOTATE, "manager": "kubectl-" + "x" * 200}])
    assert long is not None and len(long[0]["manager"]) == 128


class FakeAccess:
    def __init__(self, objects: dict[tuple[str, str, str], dict[str, Any]], fail: bool = False) -> None:
        self.objects = objects
        self.patches: list[tuple[str, str, str, list[dict[str, Any]]]] = []
        self.fail = fail

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, namespace, name))

    def json_patch(
        self, api_version: str, kind: str, namespace: str, name: str, ops: list[dict[str, Any]]
    ) -> None:
        if self.fail:
            raise GitopsError("the object changed")
        self.patches.append((kind, namespace, name, ops))


def item(obj: str, field: str = "spec.interval") -> DriftItem:
    kind = obj.split("/")[0]
    return DriftItem(kind, obj, field, "a", "b", "kubectl-patch", "helm.toolkit.fluxcd.io/v2")


def test_each_drifted_object_is_patched_once_with_a_resource_version_test() -> None:
    live = {"metadata": {"resourceVersion": "42", "managedFields": [PULUMI, ANNOTATE]}}
    access = FakeAccess({("HelmRelease", "um", "x"): live, ("HelmRelease", "um", "y"): {"metadata": {}}})
    notes = keep_others_fields(
        access,  # type: ignore[arg-type]
        [
            item("HelmRelease/um/x"),
            item("HelmRelease/um/x", "spec.suspend"),
            item("HelmRelease/um/y"),  # nothing to keep
            item("HelmRelease/um/gone", "(object)"),  # deleted: re-created, nothing to keep
        ],
    )
    assert notes == ["kept the fields of kubectl-annotate on HelmRelease/um/x out of the correction"]
    ((kind, namespace, name, ops),) = access.patches
    assert (kind, namespace, name) == ("HelmRelease", "um", "x")
    assert ops[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "42"}
    assert ops[1]["value"][1]["manager"] == "kept:kubectl-annotate"


def test_a_refused_patch_is_a_note_not_a_failure() -> None:
    live = {"metadata": {"resourceVersion": "42", "managedFields": [ANNOTATE]}}
    access = FakeAccess({("Namespace", "", "um"): live}, fail=True)
    drifted = DriftItem("Namespace", "Namespace/um", "metadata.labels", "a", "b", "kubectl-label", "v1")
    (note,) = keep_others_fields(access, [drifted])  # type: ignore[arg-type]
    assert note == "could not keep other managers' fields on Namespace/um: the object changed"


def test_the_patch_replaces_the_managed_fields_after_testing_the_version_read() -> None:
    live = {"metadata": {"resourceVersion": "7", "managedFields": [PULUMI, ANNOTATE]}}
    access = FakeAccess({("HelmRelease", "um", "x"): live})
    keep_others_fields(access, [item("HelmRelease/um/x")])  # type: ignore[arg-type]
    ((_, _, _, ops),) = access.patches
    assert ops == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "7"},
        {
            "op": "replace",
            "path": "/metadata/managedFields",
            "value": [PULUMI, {**ANNOTATE, "manager": "kept:kubectl-annotate"}],
        },
    ]


def test_one_object_that_changed_meanwhile_does_not_stop_the_others() -> None:
    live = {"metadata": {"resourceVersion": "1", "managedFields": [ANNOTATE]}}
    access = FakeAccess({("HelmRelease", "um", "x"): live, ("HelmRelease", "um", "y"): live})
    refused = {"x"}
    real = access.json_patch

    def json_patch(api_version: str, kind: str, namespace: str, name: str, ops: list[dict[str, Any]]) -> None:
        if name in refused:
            raise GitopsError("the object changed")
        real(api_version, kind, namespace, name, ops)

    access.json_patch = json_patch  # type: ignore[method-assign]
    notes = keep_others_fields(access, [item("HelmRelease/um/x"), item("HelmRelease/um/y")])  # type: ignore[arg-type]
    assert notes == [
        "could not keep other managers' fields on HelmRelease/um/x: the object changed",
        "kept the fields of kubectl-annotate on HelmRelease/um/y out of the correction",
    ]
    assert [p[2] for p in access.patches] == ["y"]
