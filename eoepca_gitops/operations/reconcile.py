"""Reconcile now, as `flux reconcile ... --with-source` does: the source first, then each block's
Kustomization and HelmReleases, each asked through the requestedAt annotation and waited for with
the verdict every wait of the project uses (eoepca_gitops.readiness): once its controller has handled
that request, until Flux's answer is final — Ready, or a failure Flux will not fix by retrying — or
the timeout. A transient state (a dependency still reconciling, an apply Flux retries) keeps waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import CURRENT
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.operations.collect import FluxObject
from eoepca_gitops.operations.status import ObjectStatus, object_status
from eoepca_gitops.readiness.verdict import State, Verdict, waiting
from eoepca_gitops.readiness.wait import describe, flux_assess, settle

__all__ = ["REQUESTED", "Reconciled", "handled", "reconcile"]

#: The verdict of an object whose controller has not handled this reconcile request yet.
REQUESTED = "ReconcileRequested"


@dataclass(frozen=True)
class Reconciled:
    status: ObjectStatus
    seconds: float
    verdict: Verdict

    @property
    def ok(self) -> bool:
        return self.verdict.state is State.READY


def handled(obj: Mapping[str, Any] | None, token: str) -> bool:
    """Whether the controller has handled the reconcile request `token` (and said how it went)."""
    if obj is None:
        return False
    status = obj.get("status")
    return isinstance(status, dict) and status.get("lastHandledReconcileAt") == token


def reconcile(
    access: ClusterAccess,
    waves: Sequence[Sequence[FluxObject]],
    timeout: float,
    progress: Callable[[str], None] = lambda _: None,
    poll: float = 0.5,
    apis: Mapping[str, str] = CURRENT,
) -> list[Reconciled]:
    """Each wave (e.g. [source], [Kustomization], [HelmReleases]) requested together, waited for
    until every object of it is final, before the next; stops after the first wave with an object
    that is not Ready. `apis`: the API version of each Flux kind (sources, HelmCharts) to read."""
    done: list[Reconciled] = []
    deadline = time.monotonic() + timeout
    tokens: dict[FluxObject, str] = {}
    seen: dict[FluxObject, Mapping[str, Any] | None] = {}

    def answered(ref: FluxObject, obj: Mapping[str, Any] | None) -> Verdict | None:
        if obj is None:
            raise GitopsError(f"{describe(ref)} is not in the cluster: run pulumi up first")
        seen[ref] = obj
        if handled(obj, tokens[ref]) or (obj.get("spec") or {}).get("suspend"):
            return None  # Flux's own verdict (a suspended object never handles the request)
        return waiting(REQUESTED, "its controller has not handled the reconcile request yet")

    for wave in waves:
        tokens.update({ref: access.request_reconcile(*ref) for ref in wave})
        progress("reconciling " + ", ".join(describe(ref) for ref in wave))
        settled = settle(
            list(wave),
            flux_assess(access.get, {**apis, **{ref[1]: ref[0] for ref in wave}}, answered),
            max(0.0, deadline - time.monotonic()),
            clock=time,
            poll=poll,
            name=describe,
            stop_on_failure=False,
        )
        if settled.timed_out:
            waited = "; ".join(f"{describe(ref)} ({v})" for ref, v in settled.pending)
            raise GitopsError(f"timed out after {timeout:.0f} s waiting for {waited}")
        for ref in wave:
            row = object_status(ref[1], ref[2], ref[3], seen.get(ref))
            found = settled.verdicts[ref]
            done.append(Reconciled(row, settled.seconds[ref], found))
            shown = "Ready" if found.state is State.READY else f"{found.state}: {found}"
            progress(f"{row.ref}: {shown} {row.revision}".rstrip())
        if not all(r.ok for r in done):
            break
    return done
