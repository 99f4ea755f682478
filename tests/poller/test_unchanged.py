"""A drift check with nothing changed since the last clean one is answered without a preview
(eoepca_gitops/poller/unchanged.py); anything else, or any doubt, previews."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess, ObjectRef
from eoepca_gitops.poller.unchanged import Unchanged, fingerprint, object_ref

CM: ObjectRef = ("v1", "ConfigMap", "demo", "watched")
HR: ObjectRef = ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "demo", "portal")
CM_TOKEN, HR_TOKEN = "kubernetes:core/v1:ConfigMap", "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease"


def _obj(ref: ObjectRef, version: str = "1", **extra: Any) -> dict[str, Any]:
    api_version, kind, namespace, name = ref
    managed = [
        {"manager": "pulumi-kubernetes-1", "operation": "Apply", "time": "t0", "fieldsV1": {"f:spec": {}}},
        {"manager": "helm-controller", "operation": "Update", "subresource": "status", "time": "t0"},
    ]
    meta = {"name": name, "namespace": namespace, "resourceVersion": version, "managedFields": managed}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": {"x": 1}, **extra}


class FakeCluster:
    def __init__(self, live: Mapping[ObjectRef, dict[str, Any]], fail: bool = False) -> None:
        self.live = dict(live)
        self.fail = fail
        self.reads = 0

    def objects(self, objects: Iterable[ObjectRef]) -> dict[ObjectRef, dict[str, Any]]:
        self.reads += 1
        if self.fail:
            raise GitopsError("the cluster does not answer: refused")
        return {ref: self.live[ref] for ref in objects if ref in self.live}

    def __enter__(self) -> FakeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def access(self) -> ClusterAccess:
        return cast(ClusterAccess, self)


def _preview(record: Unchanged, tree: Path, cluster: FakeCluster, clean: bool = True) -> None:
    """What check_drift does around a refresh-preview whose steps show the cluster's objects."""
    record.before_preview(cluster.access)
    record.saw("pulumi:providers:kubernetes", {"kubeconfig": "[secret]"})
    for ref, obj in cluster.live.items():
        record.saw(HR_TOKEN if ref == HR else CM_TOKEN, obj)
    record.after_preview(tree, clean, cluster.access)


def test_status_version_and_status_writers_do_not_count_anything_else_does() -> None:
    base = _obj(HR, status={"conditions": [{"type": "Ready"}]})
    reconciled = copy.deepcopy(base)
    reconciled["status"] = {"conditions": [{"type": "Ready", "lastTransitionTime": "t1"}]}
    reconciled["metadata"]["resourceVersion"] = "2"
    reconciled["metadata"]["managedFields"][1]["time"] = "t1"
    assert fingerprint(reconciled) == fingerprint(base)
    edits: list[tuple[str, Any]] = [
        ("spec", {"x": 2}),
        ("metadata", {**base["metadata"], "labels": {"a": "b"}}),
        ("metadata", {**base["metadata"], "managedFields": [{"manager": "kubectl-patch"}]}),
    ]
    for key, value in edits:
        edited = {**copy.deepcopy(base), key: value}
        assert fingerprint(edited) != fingerprint(base)


def test_object_ref_from_a_steps_outputs() -> None:
    assert object_ref(_obj(CM)) == CM
    assert object_ref({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}) == (
        "v1",
        "Namespace",
        "",
        "demo",
    )
    assert object_ref(None) is None and object_ref({"metadata": "[secret]"}) is None


def test_the_second_clean_preview_is_kept_and_the_next_check_needs_none(tmp_path: Path) -> None:
    cluster, record = FakeCluster({CM: _obj(CM), HR: _obj(HR)}), Unchanged()
    _preview(record, tmp_path, cluster)  # the first preview only says which objects the stack has
    assert not record.still_clean(tmp_path, cluster.access)
    _preview(record, tmp_path, cluster)
    cluster.live[HR] = _obj(HR, version="9", status={"observedGeneration": 2})  # Flux reconciled it
    assert record.still_clean(tmp_path, cluster.access)


def test_a_changed_a_deleted_or_an_unreadable_object_or_another_commit_previews(tmp_path: Path) -> None:
    for change in ("edited", "deleted", "unreadable"):
        cluster, record = FakeCluster({CM: _obj(CM), HR: _obj(HR)}), Unchanged()
        _preview(record, tmp_path, cluster)
        _preview(record, tmp_path, cluster)
        if change == "edited":
            cluster.live[CM] = _obj(CM, data={"k": "edited"})
        elif change == "deleted":
            del cluster.live[CM]
        else:
            cluster.fail = True
        assert not record.still_clean(tmp_path, cluster.access)
    cluster, record = FakeCluster({CM: _obj(CM)}), Unchanged()
    _preview(record, tmp_path, cluster)
    _preview(record, tmp_path, cluster)
    assert not record.still_clean(tmp_path / "another-commit", cluster.access)


def test_nothing_is_kept_from_a_preview_that_found_drift_was_changed_during_or_showed_too_little(
    tmp_path: Path,
) -> None:
    cluster, record = FakeCluster({CM: _obj(CM)}), Unchanged()
    _preview(record, tmp_path, cluster)
    _preview(record, tmp_path, cluster, clean=False)
    assert not record.still_clean(tmp_path, cluster.access)

    class EditedDuring(FakeCluster):  # someone edits the object while the preview runs
        def objects(self, objects: Iterable[ObjectRef]) -> dict[ObjectRef, dict[str, Any]]:
            self.live[CM] = _obj(CM, data={"k": str(self.reads)})
            return super().objects(objects)

    during = EditedDuring({CM: _obj(CM)})
    _preview(record, tmp_path, during)
    _preview(record, tmp_path, during)
    assert record.clean is None
    record.before_preview(cluster.access)
    record.saw(CM_TOKEN, {"metadata": "[secret]"})
    record.after_preview(tmp_path, True, cluster.access)
    assert record.clean is None


def test_an_update_forgets_the_clean_check(tmp_path: Path) -> None:
    cluster, record = FakeCluster({CM: _obj(CM)}), Unchanged()
    _preview(record, tmp_path, cluster)
    _preview(record, tmp_path, cluster)
    record.forget()
    assert not record.still_clean(tmp_path, cluster.access)


def test_no_cluster_configuration_is_not_clean(tmp_path: Path) -> None:
    cluster, record = FakeCluster({CM: _obj(CM)}), Unchanged()
    _preview(record, tmp_path, cluster)
    _preview(record, tmp_path, cluster)

    def no_cluster() -> ClusterAccess:
        raise GitopsError("stack dev: no kubeconfig context")

    assert not record.still_clean(tmp_path, no_cluster)
