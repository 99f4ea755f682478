"""FluxAwait: a block's wait for Flux's verdict on what an update changed, failing the update with
Flux's own reason as soon as that verdict is final.

Why not the Kubernetes provider's await (`pulumi.com/waitFor: condition=Ready`): it waits for Ready
until its timeout whatever Flux says meanwhile, and it is the provider's code. This is a Python
dynamic resource (pulumi.dynamic) per block, a child of the block's component that depends on the
block's objects, so it runs once they are applied and the blocks that depend on this one wait for it:
- its inputs are the awaited objects with a digest of what Flux acts on (manifests/awaited.py): it
  is updated, and waits, when and only when one of those changes; then it waits for the changed
  objects (all of them when it is created);
- `create`/`update` poll the verdict of each (eoepca_gitops.readiness), showing the current reason
  on the resource's row of `pulumi up` (an ephemeral status, as the provider's awaits show theirs),
  and fail with Flux's reason and message, naming the block, when one is Failed, or, past the
  stack's `await.timeout`, with what each object was waiting for;
- a preview runs only `diff`, which compares inputs: no work and no cluster call.
Deleting it changes nothing in the cluster.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from eoepca_gitops.credentials import env_secrets, redact
from eoepca_gitops.errors import NoKubeconfigError
from eoepca_gitops.kube.client import kube_client
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.manifests.identity import await_urn
from eoepca_gitops.readiness.wait import FluxRef, block_report, describe, flux_assess, settle

__all__ = ["FluxAwait", "FluxAwaitArgs", "FluxAwaitProvider", "FluxNotReady", "changed"]

_ADDRESS = re.compile(r"^[\w.\-\[\]:]+:\d+$")


@dataclass(frozen=True)
class FluxAwaitArgs:
    block: str
    #: eoepca_gitops.manifests.awaited.awaited(): apiVersion, kind, namespace, name, digest
    objects: Sequence[Mapping[str, str]]
    #: Flux kind -> the apiVersion this stack's Flux serves it in (sources, HelmCharts)
    apis: Mapping[str, str]
    timeout: float
    #: the stack's await.timeout as written, for the message when it expires
    timeout_text: str
    kubeconfig: str | None = None
    context: str | None = None


class FluxNotReady(Exception):
    """A block's Flux objects failed, or did not settle within await.timeout."""

    # The engine shows a dynamic provider's error as Python formats the exception: with no frames
    # (see _failing) and this module, the line reads `FluxNotReady: block ...`.
    __module__ = "builtins"


def _key(entry: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(entry.get(k, "")) for k in ("apiVersion", "kind", "namespace", "name", "digest"))


def changed(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The awaited objects of `news` that are new or whose digest differs from `olds`."""
    before = {_key(e) for e in olds.get("objects") or []}
    return [e for e in news.get("objects") or [] if _key(e) not in before]


class EngineStatus:
    """Ephemeral status on the resource's row of `pulumi up`, through the engine's Log service: the
    engine starts a provider plugin with its own address as the last argument."""

    def __init__(self, urn: str, address: str | None = None) -> None:
        self.urn = urn
        address = address if address is not None else sys.argv[-1]
        self._channel = grpc.insecure_channel(address) if _ADDRESS.match(address) else None
        self._engine = engine_pb2_grpc.EngineStub(self._channel) if self._channel else None

    def __call__(self, message: str) -> None:
        if self._engine is None:
            return
        request = engine_pb2.LogRequest(
            severity=engine_pb2.INFO, message=message, urn=self.urn, ephemeral=True
        )
        try:
            self._engine.Log(request, timeout=5)
        except grpc.RpcError:
            self._engine = None  # progress is a courtesy: the wait goes on without it

    def close(self) -> None:
        self("")  # clears the row's status, as the Kubernetes provider does after its awaits
        if self._channel is not None:
            self._channel.close()


def _wait(props: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> None:
    """Waits for the verdict of `entries`; raises FluxNotReady with the block's report."""
    if not entries:
        return
    block = str(props["block"])
    secrets = env_secrets(os.environ)
    refs: list[FluxRef] = [(e["apiVersion"], e["kind"], e["namespace"], e["name"]) for e in entries]
    try:
        client = kube_client(props.get("kubeconfig"), props.get("context"), timeout=30.0)
    except NoKubeconfigError as exc:
        raise FluxNotReady(redact(f"block {block}: {exc}", secrets)) from None
    status = EngineStatus(str(props["logUrn"]))
    try:
        with client:
            settled = settle(
                refs,
                flux_assess(ClusterAccess(client).get, props["apis"]),
                float(props["timeout"]),
                # Blocks wait in their dependency order: a shorter poll ends each wait sooner.
                poll=0.5,
                progress=lambda line: status(redact(line, secrets)),
                name=describe,
            )
    finally:
        status.close()
    report = block_report(block, settled, str(props["timeoutText"]))
    if report is not None:
        raise FluxNotReady(redact(report, secrets))


def _failing(props: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> None:
    try:
        _wait(props, entries)
    except FluxNotReady:
        # Frames would bury Flux's message in a traceback; only this plugin process (the project's
        # dynamic providers) formats exceptions after this.
        sys.tracebacklimit = 0
        raise


class FluxAwaitProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        _failing(props, props.get("objects") or [])
        return CreateResult(str(props["block"]), props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        before = sorted(_key(e) for e in olds.get("objects") or [])
        after = sorted(_key(e) for e in news.get("objects") or [])
        return DiffResult(changes=before != after, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _failing(news, changed(olds, news))
        return UpdateResult(news)


class FluxAwait(Resource, module="eoepca", name="FluxAwait"):
    """Named after its block; register it with the block's component as parent (its URN says so)."""

    def __init__(self, args: FluxAwaitArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {
            "block": args.block,
            "objects": [dict(o) for o in args.objects],
            "apis": dict(sorted(args.apis.items())),
            "timeout": args.timeout,
            "timeoutText": args.timeout_text,
            "kubeconfig": args.kubeconfig,
            "context": args.context,
            "logUrn": await_urn(pulumi.get_stack(), pulumi.get_project(), args.block),
        }
        super().__init__(FluxAwaitProvider(), args.block, props, opts)
