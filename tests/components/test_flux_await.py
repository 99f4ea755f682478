"""A block's wait for Flux (components/flux_await.py): what the program registers (Pulumi mocks), when
the wait runs again (diff), what create and update wait for and how they fail (a fake cluster), and
the progress it sends to the engine (a real gRPC Engine service in this process)."""

from __future__ import annotations

import sys
import traceback
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

import components.flux_await as flux_await
from components.flux_await import EngineStatus, FluxAwaitProvider, FluxNotReady, changed
from eoepca_gitops.manifests.identity import AWAIT_TYPE, await_urn
from tests.components.test_components import _config, _project, _run_program
from tests.conftest import Recorder
from tests.helpers import values
from tests.readiness.fake_cluster import FakeCluster
from tests.readiness.fake_cluster import condition as c
from tests.readiness.fake_cluster import flux_object as o

ON = {"kustomizations": True, "helmReleases": True, "timeout": "5m"}


def waits(mocks: Recorder) -> list[Any]:
    return [r for r in mocks.resources if r.typ == AWAIT_TYPE]


# -- what the program registers --------------------------------------------------------------------


def test_a_block_with_awaited_objects_gets_one_wait(mocks: Recorder, tmp_path: Path) -> None:
    _config(values(**{"await": ON}))
    _run_program(_project(tmp_path))
    (wait,) = waits(mocks)  # portal; base has neither Kustomization nor HelmRelease
    assert wait.name == "portal"
    inputs = wait.inputs
    assert [(e["kind"], e["namespace"], e["name"]) for e in inputs["objects"]] == [
        ("Kustomization", "flux-system", "portal"),
        ("HelmRelease", "demo", "eoepca-portal"),
    ]
    assert all(len(e["digest"]) == 16 for e in inputs["objects"])
    assert (inputs["block"], inputs["timeout"], inputs["timeoutText"]) == ("portal", 300.0, "5m")
    assert inputs["apis"]["HelmChart"] == "source.toolkit.fluxcd.io/v1"
    assert inputs["logUrn"] == await_urn("test", "eoepca-gitops", "portal")
    assert inputs["logUrn"].endswith(
        "::eoepca:flux:BuildingBlock$pulumi-python:dynamic/eoepca:FluxAwait::portal"
    )
    # The Flux objects themselves carry no await of the provider's.
    release = next(r for r in mocks.resources if r.name == "HelmRelease/demo/eoepca-portal")
    assert "pulumi.com/waitFor" not in release.inputs["metadata"]["annotations"]


def test_a_stack_without_await_waits_for_nothing(mocks: Recorder, tmp_path: Path) -> None:
    _config(values())
    _run_program(_project(tmp_path))
    assert waits(mocks) == []


def test_only_the_awaited_kinds(mocks: Recorder, tmp_path: Path) -> None:
    _config(values(**{"await": {"helmReleases": True}}))
    _run_program(_project(tmp_path))
    (wait,) = waits(mocks)
    assert [e["kind"] for e in wait.inputs["objects"]] == ["HelmRelease"]


def test_a_stack_with_flux_undeployed_waits_for_nothing(mocks: Recorder, tmp_path: Path) -> None:
    v = values(**{"await": ON})
    v["flux"] = {**v["flux"], "enabled": False}
    _config(v)
    _run_program(_project(tmp_path))
    assert waits(mocks) == []


# -- when it runs again ----------------------------------------------------------------------------


def entry(name: str, digest: str = "d1", kind: str = "HelmRelease") -> dict[str, str]:
    return {"apiVersion": "helm/v2", "kind": kind, "namespace": "ns", "name": name, "digest": digest}


def props(*entries: dict[str, str], **extra: Any) -> dict[str, Any]:
    base = {"block": "portal", "objects": list(entries), "apis": {}, "timeout": 0.0, "timeoutText": "0s"}
    return {**base, "kubeconfig": None, "context": None, "logUrn": "urn:x", **extra}


def test_the_wait_runs_again_when_an_awaited_object_changes_and_only_then() -> None:
    diff = FluxAwaitProvider().diff
    same = props(entry("a"), entry("b"))
    assert (
        diff("portal", same, props(entry("a"), entry("b"), timeout=600.0, kubeconfig="/k")).changes is False
    )
    assert diff("portal", same, props(entry("b"), entry("a"))).changes is False  # order is not a change
    assert diff("portal", same, props(entry("a"), entry("b", "d2"))).changes is True
    assert diff("portal", same, props(entry("a"))).changes is True  # b suspended: no longer awaited
    assert diff("portal", same, props(entry("a"), entry("b"), entry("c"))).changes is True
    result = diff("portal", same, props(entry("a", "d2")))
    assert (result.replaces, result.delete_before_replace) == ([], False)


def test_an_update_waits_for_the_changed_objects() -> None:
    olds, news = props(entry("a"), entry("b")), props(entry("a"), entry("b", "d2"), entry("c"))
    assert [e["name"] for e in changed(olds, news)] == ["b", "c"]
    assert changed(news, props(entry("a"))) == []


# -- what create and update wait for ---------------------------------------------------------------


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    """The cluster the provider reads, and no engine to report progress to."""
    fake = FakeCluster()

    class Client:
        def __enter__(self) -> Client:
            return self

        def __exit__(self, *_: object) -> None:
            pass

    monkeypatch.setattr(flux_await, "kube_client", lambda *a, **k: Client())
    monkeypatch.setattr(flux_await, "ClusterAccess", lambda _client: fake)
    monkeypatch.setattr(sys, "argv", ["pulumi-resource-pulumi-python"])
    monkeypatch.setattr(sys, "tracebacklimit", 1000, raising=False)
    return fake


def test_create_returns_once_every_object_is_ready(cluster: FakeCluster) -> None:
    cluster.put(o("HelmRelease", "a", "ns", c("Ready", "True", "InstallSucceeded")))
    out = FluxAwaitProvider().create(props(entry("a")))
    assert out.id == "portal" and (out.outs or {})["objects"] == [entry("a")]
    assert cluster.reads == [("helm/v2", "HelmRelease", "ns", "a")]


def test_update_reads_only_what_changed(cluster: FakeCluster) -> None:
    cluster.put(o("HelmRelease", "b", "ns", c("Ready", "True", "UpgradeSucceeded")))
    FluxAwaitProvider().update("portal", props(entry("a"), entry("b")), props(entry("a"), entry("b", "d2")))
    assert cluster.reads == [("helm/v2", "HelmRelease", "ns", "b")]


def test_an_update_with_nothing_changed_to_wait_for_reads_nothing(cluster: FakeCluster) -> None:
    FluxAwaitProvider().update("portal", props(entry("a")), props())
    assert cluster.reads == []


def test_a_failure_fails_the_update_with_one_line_naming_the_block(cluster: FakeCluster) -> None:
    schema = "values don't meet the specifications of the schema"
    cluster.put(o("HelmRelease", "a", "ns", c("Ready", "False", "InstallFailed", schema)))
    with pytest.raises(FluxNotReady) as caught:
        FluxAwaitProvider().create(props(entry("a"), timeout=600.0))
    message = f"block portal: Flux reports HelmRelease ns/a failed: InstallFailed: {schema}"
    assert str(caught.value) == message
    # As the engine shows it: the dynamic provider formats the exception it caught, with no frames.
    assert traceback.format_exception(caught.value) == [f"FluxNotReady: {message}\n"]


def test_what_does_not_settle_fails_at_the_timeout(cluster: FakeCluster) -> None:
    cluster.put(o("HelmRelease", "a", "ns", c("Ready", "Unknown", "Progressing", "Running 'install' action")))
    with pytest.raises(
        FluxNotReady, match=r"not Ready within await.timeout \(0s\): HelmRelease ns/a was waiting: "
    ):
        FluxAwaitProvider().create(props(entry("a")))


def test_credentials_never_show(cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", "pul-0123456789abcdef")
    message = "pull https://reader:hunter22@git.example/x.git with pul-0123456789abcdef"
    cluster.put(o("Kustomization", "a", "ns", c("Ready", "False", "BuildFailed", message)))
    with pytest.raises(FluxNotReady) as caught:
        FluxAwaitProvider().create(props(entry("a", kind="Kustomization")))
    assert "hunter22" not in str(caught.value) and "pul-0123456789abcdef" not in str(caught.value)
    assert "https://***@git.example/x.git with ***" in str(caught.value)


def test_no_kubernetes_configuration_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "tracebacklimit", 1000, raising=False)
    with pytest.raises(FluxNotReady, match=r"^block portal: no Kubernetes configuration: "):
        FluxAwaitProvider().create(props(entry("a"), kubeconfig=str(tmp_path / "absent")))


# -- progress on the resource's row ----------------------------------------------------------------


class Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.logs: list[Any] = []

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append(request)
        return empty_pb2.Empty()


@pytest.fixture
def engine() -> Any:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    service = Engine()
    engine_pb2_grpc.add_EngineServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, f"127.0.0.1:{port}", server
    server.stop(0)


def test_progress_is_an_ephemeral_status_of_the_wait_s_row(engine: Any) -> None:
    service, address, _ = engine
    status = EngineStatus("urn:pulumi:x::p::t::portal", address)
    status("HelmRelease ns/a: Progressing: Running 'install' action")
    status.close()
    assert [(r.message, r.urn, r.ephemeral, r.severity) for r in service.logs] == [
        (
            "HelmRelease ns/a: Progressing: Running 'install' action",
            "urn:pulumi:x::p::t::portal",
            True,
            engine_pb2.INFO,
        ),
        ("", "urn:pulumi:x::p::t::portal", True, engine_pb2.INFO),  # cleared at the end
    ]


def test_the_engine_s_address_is_the_plugin_s_last_argument(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, address, _ = engine
    monkeypatch.setattr(sys, "argv", ["pulumi-resource-pulumi-python", "--logtostderr", address])
    EngineStatus("urn:x")("hello")
    assert [r.message for r in service.logs] == ["hello"]


def test_without_an_engine_progress_is_dropped(engine: Any) -> None:
    _, address, server = engine
    EngineStatus("urn:x", "not-an-address")("nobody hears this")
    server.stop(0)
    status = EngineStatus("urn:x", address)
    status("the engine is gone")  # no error: the wait goes on
    status("still")
    status.close()
