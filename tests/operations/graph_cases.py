"""A stack's status for the status page's graph: system-common Ready, system-storage failing (so
user-management and processing-and-chaining, which wait for it, are held up), system-demo suspended
and drifted, system-infra reconciling."""

from __future__ import annotations

from eoepca_gitops.operations.status import BlockStatus, ClusterStatus, ObjectStatus, StackLayer

DAY = "2026-12-07"
DEPENDS = {
    "system-common": (),
    "system-storage": ("system-common",),
    "system-demo": ("system-common",),
    "system-infra": ("system-common",),
    "user-management": ("system-common", "system-storage"),
    "processing-and-chaining": ("user-management",),
}


def stack_status(storage: str = "False") -> ClusterStatus:
    """`storage`: the Ready state of system-storage's HelmRelease (False: it fails)."""
    ready = {"system-storage": storage, "system-demo": "Suspended", "system-infra": "Unknown"}
    blocks = tuple(
        BlockStatus(
            name,
            (
                ObjectStatus("Kustomization", "flux-system", name, "True", since=f"{DAY}T10:00:00Z"),
                ObjectStatus(
                    "HelmRelease", name, "app", ready.get(name, "True"), since=f"2026-12-07T10:0{i}:00Z"
                ),
            ),
            deps,
        )
        for i, (name, deps) in enumerate(DEPENDS.items())
    )
    drift = [{"object": "HelmRelease/system-demo/app", "field": "spec.values.replicas"}]
    return ClusterStatus(StackLayer("local"), "v2.9.3", (), None, blocks, poller={"drift_items": drift})
