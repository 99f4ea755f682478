"""A drift check with nothing changed since the last clean one is answered without a preview
(eoepca_gitops/poller/unchanged.py); anything else, or any doubt, previews."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, cast

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess, ObjectRef
from eoepca_gitops.poller.unchanged import CleanCheck, SeenVersions

CM: ObjectRef = ("v1", "ConfigMap", "demo", "watched")
NS: ObjectRef = ("v1", "Namespace", "", "demo")


def _outputs(ref: ObjectRef, version: str | None) -> dict[str, Any]:
    api_version, kind, namespace, name = ref
    meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    if version is not None:
        meta["resourceVersion"] = version
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "data": {"k": "v"}}


class FakeCluster:
    def __init__(self, live: Mapping[ObjectRef, str], fail: bool = False) -> None:
        self.live = dict(live)
        self.fail = fail
        self.asked: list[list[ObjectRef]] = []
        self.closed = False

    def versions(self, objects: Iterable[ObjectRef]) -> dict[ObjectRef, str]:
        asked = list(objects)
        self.asked.append(asked)
        if self.fail:
            raise GitopsError("the cluster does not answer: refused")
        return {ref: self.live[ref] for ref in asked if ref in self.live}

    def __enter__(self) -> FakeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


def _as_access(cluster: FakeCluster) -> ClusterAccess:
    return cast(ClusterAccess, cluster)


def test_the_steps_objects_and_versions_are_seen_and_other_resources_ignored() -> None:
    seen = SeenVersions()
    seen.add("pulumi:providers:kubernetes", {"kubeconfig": "[secret]"})
    seen.add("eoepca-gitops:index:BuildingBlock", None)
    seen.add("kubernetes:core/v1:ConfigMap", _outputs(CM, "41"))
    seen.add("kubernetes:core/v1:Namespace", _outputs(NS, "7"))
    assert seen.complete
    assert seen.versions == {CM: "41", NS: "7"}


def test_an_object_shown_without_a_version_makes_the_record_incomplete() -> None:
    for outputs in (None, _outputs(CM, None), {"metadata": "[secret]"}):
        seen = SeenVersions()
        seen.add("kubernetes:core/v1:ConfigMap", outputs)
        assert not seen.complete


def test_same_tree_and_same_versions_is_still_clean(tmp_path: Path) -> None:
    cluster = FakeCluster({CM: "41", NS: "7"})
    check = CleanCheck(tmp_path, {CM: "41", NS: "7"})
    assert check.still_clean(tmp_path, lambda: _as_access(cluster))
    assert sorted(cluster.asked[0]) == sorted([CM, NS]) and cluster.closed


def test_a_changed_a_deleted_or_an_unreadable_object_is_not(tmp_path: Path) -> None:
    check = CleanCheck(tmp_path, {CM: "41", NS: "7"})
    for cluster in (
        FakeCluster({CM: "42", NS: "7"}),  # edited (its status too: any change)
        FakeCluster({NS: "7"}),  # deleted
        FakeCluster({CM: "41", NS: "7"}, fail=True),  # cannot tell
    ):
        assert not check.still_clean(tmp_path, partial(_as_access, cluster))


def test_another_commit_or_nothing_recorded_is_not_and_asks_nothing(tmp_path: Path) -> None:
    cluster = FakeCluster({CM: "41"})
    assert not CleanCheck(tmp_path, {CM: "41"}).still_clean(tmp_path / "other", lambda: _as_access(cluster))
    assert not CleanCheck(tmp_path, {}).still_clean(tmp_path, lambda: _as_access(cluster))
    assert cluster.asked == []


def test_no_cluster_configuration_is_not_clean(tmp_path: Path) -> None:
    def no_cluster() -> ClusterAccess:
        raise GitopsError("stack dev: no kubeconfig context")

    assert not CleanCheck(tmp_path, {CM: "41"}).still_clean(tmp_path, no_cluster)
