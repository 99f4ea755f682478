"""Waiting until objects settle: the one loop behind every wait of the project.

`settle` asks an assessor for the verdict of every target still pending, once per poll, until each
is final (Ready or Failed), one is Failed (`stop_on_failure`), or the timeout has passed; it shows
the first pending target's reason as progress whenever that changes. The clock is a parameter (the
`time` module, or a fake one in tests), so the loop is tested without waiting.

`flux_assess` is the assessor for Flux objects: each round reads every object once (a target, its
source, its dependencies) and hands it to the pure verdict (verdict.py). A read that fails (the
cluster does not answer) is a Waiting verdict, not an error: the timeout bounds it.

Users: the `pulumi up` await of each block (components/flux_await.py), `reconcile`
(operations/reconcile.py) and `undeploy`'s wait for the controllers to stop (operations/changes.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from eoepca_gitops.errors import GitopsError

from .verdict import Lookup, State, Verdict, verdict, waiting

__all__ = [
    "UNREADABLE",
    "Clock",
    "FluxRef",
    "Settled",
    "block_report",
    "describe",
    "flux_assess",
    "one_line",
    "settle",
]

T = TypeVar("T", bound=Hashable)
#: apiVersion, kind, namespace, name (as operations.collect.FluxObject)
FluxRef = tuple[str, str, str, str]
#: ClusterAccess.get: the object, or None when it does not exist; GitopsError when it cannot tell.
Read = Callable[[str, str, str, str], Mapping[str, Any] | None]
#: A target and the object read for it -> a verdict that takes the place of Flux's (or None).
Gate = Callable[[FluxRef, Mapping[str, Any] | None], Verdict | None]
UNREADABLE = "Unreadable"


class Clock(Protocol):
    """What `settle` needs of time; the `time` module is one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float, /) -> None: ...


@dataclass(frozen=True)
class Settled(Generic[T]):
    #: the last verdict of every target, in the targets' order
    verdicts: Mapping[T, Verdict]
    #: seconds from the start until each target's verdict became final
    seconds: Mapping[T, float]
    timed_out: bool = False

    def _in(self, state: State) -> list[tuple[T, Verdict]]:
        return [(t, v) for t, v in self.verdicts.items() if v.state is state]

    @property
    def failed(self) -> list[tuple[T, Verdict]]:
        return self._in(State.FAILED)

    @property
    def pending(self) -> list[tuple[T, Verdict]]:
        return self._in(State.WAITING)

    @property
    def ok(self) -> bool:
        return all(v.state is State.READY for v in self.verdicts.values())


def one_line(text: str) -> str:
    """Flux's messages may span lines (Helm's schema errors): one line for a status or an error."""
    return " ".join(text.split())


def describe(ref: FluxRef) -> str:
    _, kind, namespace, name = ref
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def settle(
    targets: Sequence[T],
    assess: Callable[[Sequence[T]], Mapping[T, Verdict]],
    timeout: float,
    *,
    clock: Clock = time,
    poll: float = 1.0,
    progress: Callable[[str], None] = lambda _: None,
    name: Callable[[T], str] = str,
    stop_on_failure: bool = True,
) -> Settled[T]:
    """Polls `assess` until every target is final, one failed (with `stop_on_failure`), or
    `timeout` seconds have passed (then `timed_out`, with each pending target's last verdict)."""
    started = clock.monotonic()
    verdicts: dict[T, Verdict] = {t: waiting("Pending") for t in targets}
    seconds: dict[T, float] = {}
    shown = ""
    while True:
        pending = [t for t in targets if t not in seconds]
        if pending:
            now_verdicts = assess(pending)
            elapsed = clock.monotonic() - started
            for t in pending:
                verdicts[t] = now_verdicts[t]
                if verdicts[t].final:
                    seconds[t] = round(elapsed, 3)
        pending = [t for t in targets if t not in seconds]
        failing = any(verdicts[t].state is State.FAILED for t in seconds)
        if not pending or (failing and stop_on_failure):
            return Settled(verdicts, seconds)
        if clock.monotonic() - started > timeout:
            return Settled(verdicts, seconds, timed_out=True)
        line = one_line(f"{name(pending[0])}: {verdicts[pending[0]]}")
        if len(targets) > 1:
            line += f" ({len(seconds)} of {len(targets)} settled)"
        if line != shown:
            progress(line)
            shown = line
        clock.sleep(poll)


def flux_assess(
    read: Read, apis: Mapping[str, str], gate: Gate = lambda *_: None
) -> Callable[[Sequence[FluxRef]], dict[FluxRef, Verdict]]:
    """The assessor of Flux objects: one read of each object per round (targets, their sources and
    dependencies, in the API versions `apis` names per kind), then verdict(). `gate` may answer for
    a target first (reconcile: Waiting until the controller has handled the request)."""

    def assess(refs: Sequence[FluxRef]) -> dict[FluxRef, Verdict]:
        seen: dict[tuple[str, str, str], Mapping[str, Any] | None] = {}

        def get(api_version: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
            if (kind, namespace, name) not in seen:
                seen[(kind, namespace, name)] = read(api_version, kind, namespace, name)
            return seen[(kind, namespace, name)]

        def lookup(kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
            api_version = apis.get(kind)
            return get(api_version, kind, namespace, name) if api_version else None

        return {ref: _assess_one(ref, get, lookup, gate) for ref in refs}

    return assess


def _assess_one(ref: FluxRef, get: Read, lookup: Lookup, gate: Gate) -> Verdict:
    try:
        obj = get(*ref)
    except GitopsError as exc:
        return waiting(UNREADABLE, str(exc))
    gated = gate(ref, obj)  # outside the try: what the gate refuses, it refuses
    if gated is not None:
        return gated
    try:
        return verdict(obj, lookup)
    except GitopsError as exc:
        return waiting(UNREADABLE, str(exc))


def block_report(block: str, settled: Settled[FluxRef], timeout_text: str) -> str | None:
    """None when every object is Ready; else why the block's update fails: each Failed object with
    Flux's reason and message, or, at the timeout, what each pending object was waiting for."""
    if settled.failed:
        return one_line(
            f"block {block}: "
            + "; ".join(f"Flux reports {describe(ref)} failed: {v}" for ref, v in settled.failed)
        )
    if settled.timed_out:
        return one_line(
            f"block {block}: not Ready within await.timeout ({timeout_text}): "
            + "; ".join(f"{describe(ref)} was waiting: {v}" for ref, v in settled.pending)
        )
    return None
