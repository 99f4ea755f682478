"""What a block's update waits for (eoepca_gitops/manifests/awaited.py): the awaited objects of the
kinds the stack's `await` names, and a digest that moves with what Flux acts on, not otherwise."""

from __future__ import annotations

import copy
from typing import Any

from eoepca_gitops.manifests.awaited import awaited
from eoepca_gitops.model.stack import AwaitConfig
from tests.manifests.test_builders import build

BOTH = AwaitConfig(kustomizations=True, helm_releases=True)


def portal() -> list[dict[str, Any]]:
    return copy.deepcopy(build().blocks["portal"])


def base() -> list[dict[str, Any]]:
    return copy.deepcopy(build().blocks["base"])


def digests(objects: list[dict[str, Any]], config: AwaitConfig = BOTH) -> dict[str, str]:
    return {e["name"]: e["digest"] for e in awaited(objects, config) or []}


def test_the_awaited_kinds_in_the_block_s_order() -> None:
    entries = awaited(portal(), BOTH)
    assert entries is not None
    assert [(e["apiVersion"], e["kind"], e["namespace"], e["name"]) for e in entries] == [
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "portal"),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "demo", "eoepca-portal"),
    ]
    only = awaited(portal(), AwaitConfig(helm_releases=True))
    assert [e["kind"] for e in only or []] == ["HelmRelease"]


def test_no_awaited_kind_is_no_wait() -> None:
    assert awaited(portal(), AwaitConfig()) is None
    assert awaited(base(), BOTH) is None  # Helm repositories only


def test_a_suspended_object_is_not_waited_for_but_the_wait_stays() -> None:
    objects = portal()
    for o in objects:
        if o["kind"] in ("Kustomization", "HelmRelease"):
            o["spec"]["suspend"] = True
    assert awaited(objects, BOTH) == []


def test_the_digest_moves_with_the_spec_not_with_metadata() -> None:
    before = digests(portal())
    changed = portal()
    release = next(o for o in changed if o["kind"] == "HelmRelease")
    release["spec"]["values"]["replicaCount"] = 3
    after = digests(changed)
    assert after["eoepca-portal"] != before["eoepca-portal"] and after["portal"] == before["portal"]
    labelled = portal()
    for o in labelled:
        o["metadata"].setdefault("labels", {})["team"] = "x"
        o["metadata"].setdefault("annotations", {})["note"] = "y"
    assert digests(labelled) == before


def test_a_release_s_digest_follows_its_repository_in_the_block() -> None:
    repository: dict[str, Any] = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "eoepca", "namespace": "common"},
        "spec": {"url": "https://a.example/charts"},
    }
    objects = [repository, *portal()]
    before = digests(objects)
    repository["spec"]["url"] = "https://b.example/charts"
    after = digests(objects)
    assert after["eoepca-portal"] != before["eoepca-portal"] and after["portal"] == before["portal"]


def test_the_digest_is_the_same_from_one_run_to_the_next() -> None:
    assert digests(portal()) == digests(portal())
    assert all(len(d) == 16 for d in digests(portal()).values())
