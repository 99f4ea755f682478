"""Reconcile now, as `flux reconcile ... --with-source` does: the source first, then each block's
Kustomization and HelmReleases, each asked through the requestedAt annotation and waited for until
its controller reports having handled that request (Ready or not), or a timeout."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.operations.cluster import ClusterAccess
from eoepca_gitops.operations.collect import FluxObject
from eoepca_gitops.operations.status import ObjectStatus, object_status

__all__ = ["Reconciled", "handled", "reconcile"]


@dataclass(frozen=True)
class Reconciled:
    status: ObjectStatus
    seconds: float


def handled(obj: dict[str, object] | None, token: str) -> bool:
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
) -> list[Reconciled]:
    """Each wave (e.g. [source], [Kustomization], [HelmReleases]) requested together, waited for
    before the next; stops at the first wave with an object that is not Ready afterwards."""
    done: list[Reconciled] = []
    deadline = time.monotonic() + timeout
    for wave in waves:
        started = time.monotonic()
        tokens = {ref: access.request_reconcile(*ref) for ref in wave}
        progress("reconciling " + ", ".join(f"{k} {ns}/{n}" for _, k, ns, n in wave))
        pending = dict(tokens)
        while pending:
            for ref, token in list(pending.items()):
                obj = access.get(*ref)
                if obj is None:
                    raise GitopsError(
                        f"{ref[1]} {ref[2]}/{ref[3]} is not in the cluster: run pulumi up first"
                    )
                if handled(obj, token):
                    row = object_status(ref[1], ref[2], ref[3], obj)
                    done.append(Reconciled(row, round(time.monotonic() - started, 1)))
                    progress(f"{row.ref}: Ready={row.ready} {row.reason} {row.revision}".rstrip())
                    del pending[ref]
            if pending and time.monotonic() > deadline:
                waiting = ", ".join(f"{k} {ns}/{n}" for _, k, ns, n in pending)
                raise GitopsError(f"timed out after {timeout:.0f} s waiting for {waiting} to reconcile")
            if pending:
                time.sleep(poll)
        if not all(r.status.ok for r in done):
            break
    return done
