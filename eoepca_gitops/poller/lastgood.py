"""The last good revision of a stack: the Git revision at which both layers were Ready.

Pure: the stack's Flux objects as the API server returns them (each block's Kustomization and
HelmReleases), the revision and the time in; a verdict, or the new state, out. The Pulumi layer is
good when its update at the revision succeeded; the Flux layer when every Kustomization has applied
that revision (Flux writes `main@sha1:<sha>`, `sha1:<sha>` for a pinned commit, `main/<sha>` before
v2) and every Kustomization and HelmRelease is Ready for its current generation
(eoepca_gitops.readiness). A roll-back goes back to it when no revision is named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eoepca_gitops.readiness.verdict import Lookup, State, verdict

from .state import StackState

__all__ = ["FluxCheck", "applied_at", "flux_check", "good", "rollback_due"]

#: kind, namespace, name and the object read (None: not in the cluster)
FluxObject = tuple[str, str, str, Mapping[str, Any] | None]


@dataclass(frozen=True)
class FluxCheck:
    """Whether Flux has every object of the stack Ready at the revision; what is not, if not."""

    ok: bool
    not_ready: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        shown = "; ".join(self.not_ready[:5]) + ("; ..." if len(self.not_ready) > 5 else "")
        return "" if self.ok else f"not Ready: {shown}"


def applied_at(obj: Mapping[str, Any], revision: str) -> bool:
    """True when a Kustomization's last applied revision is `revision` (any of Flux's formats)."""
    applied = str((obj.get("status") or {}).get("lastAppliedRevision") or "")
    sha = applied.rpartition(":")[2].rpartition("/")[2]
    return bool(sha) and sha == revision


def flux_check(objects: Sequence[FluxObject], revision: str, lookup: Lookup) -> FluxCheck:
    """Every object Ready (and every Kustomization at `revision`), or the ones that are not."""
    missing: list[str] = []
    for kind, namespace, name, obj in objects:
        ref = f"{kind} {namespace}/{name}"
        found = verdict(obj, lookup)
        if found.state is not State.READY:
            missing.append(f"{ref}: {found}")
        elif kind == "Kustomization" and obj is not None and not applied_at(obj, revision):
            at = (obj.get("status") or {}).get("lastAppliedRevision") or "nothing"
            missing.append(f"{ref}: applied {at}, not {revision[:12]}")
    return FluxCheck(not missing, tuple(missing))


def good(s: StackState, revision: str, now: float) -> StackState:
    """The state once both layers were seen Ready at `revision`."""
    if s.last_good_revision == revision:
        return s
    return s.with_(last_good_revision=revision, last_good_at=now)


def rollback_due(s: StackState, head: str | None, now: float, deadline: float) -> str | None:
    """Why the stack is to be rolled back to its last good revision now, or None.

    Due when automatic roll-back is on (`deadline` > 0), the stack is held nowhere, the branch head
    is not the last good revision and has not become good within `deadline` of being seen (of being
    applied, once it is): its update failed, or Flux has a block of it not Ready.
    """
    if deadline <= 0 or head is None or s.held_revision is not None or s.in_progress is not None:
        return None
    good_rev = s.last_good_revision
    if good_rev is None or head == good_rev or s.git_revision != head or s.git_revision_at is None:
        return None
    # From when the head was seen, or, once it is applied, from then: Flux settles after the update.
    since = s.git_revision_at
    if s.applied_revision == head and s.last_success_at is not None:
        since = max(since, s.last_success_at)
    if now - since < deadline:
        return None
    why = s.last_error or f"{s.phase}: not every block Ready"
    return f"{head[:12]} not Ready {deadline:.0f} s after it was pushed ({why})"
