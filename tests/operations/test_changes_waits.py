"""The waits of suspend/resume and undeploy (operations/changes.py): resume's `pulumi up` includes the
block's wait for Flux when the stack awaits it; undeploy waits for the controllers to stop with the
project's one wait loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.stack import StackManifests, build_stack
from eoepca_gitops.model import load_stack
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.operations import changes
from tests.helpers import FIXTURE_BLOCKS, values
from tests.readiness.fake_cluster import FakeClock, FakeCluster

AWAIT_URN = (
    "urn:pulumi:test::eoepca-gitops::eoepca:flux:BuildingBlock$pulumi-python:dynamic/eoepca:FluxAwait::portal"
)


def stack_and_manifests(**changes_: Any) -> tuple[Stack, StackManifests]:
    stack = load_stack("test", values(**changes_), set(), "Pulumi.test.yaml", FIXTURE_BLOCKS)
    install = load_install_manifest(stack.config.flux, file="Pulumi.test.yaml", project=FIXTURE_BLOCKS)
    return stack, build_stack(stack, install)


class Pulumi:
    calls: list[tuple[str, ...]] = []

    def __init__(self, stack: str, project: Path) -> None:
        pass

    def run(self, *args: str) -> str:
        Pulumi.calls.append(args)
        return ""


@pytest.fixture
def pulumi(monkeypatch: pytest.MonkeyPatch) -> type[Pulumi]:
    Pulumi.calls = []
    monkeypatch.setattr(changes, "PulumiCli", Pulumi)
    return Pulumi


def up_targets(pulumi: type[Pulumi]) -> list[str]:
    up = next(call for call in pulumi.calls if call[0] == "up")
    return [a.removeprefix("--target=") for a in up if a.startswith("--target=")]


def test_resume_updates_the_block_s_wait_too(pulumi: type[Pulumi], tmp_path: Path) -> None:
    stack, manifests = stack_and_manifests(**{"await": {"kustomizations": True, "helmReleases": True}})
    changes.set_suspended(stack, manifests, "portal", False, tmp_path, lambda *_: None, lambda _: None)  # type: ignore[arg-type]
    targets = up_targets(pulumi)
    assert targets[-1] == AWAIT_URN
    assert [t.rsplit("::", 1)[-1] for t in targets[:-1]] == [
        "Kustomization/flux-system/portal",
        "HelmRelease/demo/eoepca-portal",
    ]


def test_without_await_there_is_no_wait_to_update(pulumi: type[Pulumi], tmp_path: Path) -> None:
    stack, manifests = stack_and_manifests()
    changes.set_suspended(stack, manifests, "portal", True, tmp_path, lambda *_: None, lambda _: None)  # type: ignore[arg-type]
    assert AWAIT_URN not in up_targets(pulumi)


def deployment(name: str, replicas: int | None) -> dict[str, Any]:
    status = {} if replicas is None else {"replicas": replicas}
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": "flux-system"}, "status": status}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(changes, "time", fake)
    return fake


def controllers(manifests: StackManifests) -> list[str]:
    return [o["metadata"]["name"] for o in manifests.flux if o["kind"] == "Deployment"]


def test_undeploy_scales_the_controllers_down_and_waits_until_they_stopped(clock: FakeClock) -> None:
    _, manifests = stack_and_manifests()
    names = controllers(manifests)
    cluster = FakeCluster(*(deployment(n, 1) for n in names))
    said: list[str] = []
    for i, name in enumerate(names):  # each stops a second later than the one before
        clock.after(i + 1, lambda n=name: cluster.put(deployment(n, None)))  # type: ignore[misc]
    changes._stop_controllers(cluster, manifests, 60, said.append)  # type: ignore[arg-type]
    assert [(key[2], patch) for key, patch in cluster.patches] == [
        (n, {"spec": {"replicas": 0}}) for n in names
    ]
    assert clock.slept == [1.0] * len(names)
    assert said == [f"scaled {len(names)} Flux controllers to 0; waiting for them to stop"]


def test_a_controller_that_does_not_stop_times_out_naming_it(clock: FakeClock) -> None:
    _, manifests = stack_and_manifests()
    names = controllers(manifests)
    cluster = FakeCluster(*(deployment(n, 1 if n == "helm-controller" else 0) for n in names))
    with pytest.raises(GitopsError, match=r"^Deployment flux-system/helm-controller did not stop in 5 s$"):
        changes._stop_controllers(cluster, manifests, 5, lambda _: None)  # type: ignore[arg-type]
