"""The plan of a Flux upgrade on a live cluster: which CRDs' objects are rewritten in the new release's
storage version before its CRDs are applied, and what cannot be carried over. Pure: what
eoepca_gitops.upgrade.live read, and the new release's install manifest, in.

The path. A release's CRDs may only be applied once every version the cluster stores objects in
(a CRD's status.storedVersions) is one it still serves; Flux v2.9 serves none of the versions v0.24
stored. A release serving the old versions next to the new ones (for HelmRelease, Flux v2.3 serves
v2beta1 and v2) is the safe middle step: objects are rewritten in the new version there. The
migration makes that middle step itself from the two ends: the live CRD, with the new storage
version added (the "bridge": the same as the middle release's CRD serves, without running that
release's controllers), so no intermediate install manifest is needed, for any pair of releases.
Flux's CRDs convert between versions with `strategy: None`: the object is the same, only fields the
new schema does not know are dropped. Where that would drop a field with meaning, the upgrade is
refused, naming the release that served both versions, to go through by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from eoepca_gitops.flux_apis import GROUP_VERSIONS, crd_specs, is_removed, served_versions, storage_version
from eoepca_gitops.upgrade.schema import dropped_fields, version_schema

__all__ = [
    "FIRST_SERVED",
    "SAFE_TO_DROP",
    "CrdStep",
    "LiveCrd",
    "LiveFlux",
    "LiveObject",
    "LiveRelease",
    "UpgradePlan",
    "plan_upgrade",
]

#: (group, kind, version) -> the first Flux release that served it, from Flux's release notes. Named
#: when a rewrite would drop a field: that release also serves the older versions, so the object can
#: be changed there first.
FIRST_SERVED: Final[Mapping[tuple[str, str, str], str]] = {
    ("source.toolkit.fluxcd.io", "GitRepository", "v1"): "v2.0.0",
    ("kustomize.toolkit.fluxcd.io", "Kustomization", "v1"): "v2.0.0",
    ("notification.toolkit.fluxcd.io", "Receiver", "v1"): "v2.0.0",
    ("notification.toolkit.fluxcd.io", "Alert", "v1beta3"): "v2.2.0",
    ("notification.toolkit.fluxcd.io", "Provider", "v1beta3"): "v2.2.0",
    ("helm.toolkit.fluxcd.io", "HelmRelease", "v2"): "v2.3.0",
    ("source.toolkit.fluxcd.io", "HelmRepository", "v1"): "v2.3.0",
    ("source.toolkit.fluxcd.io", "HelmChart", "v1"): "v2.3.0",
    ("source.toolkit.fluxcd.io", "Bucket", "v1"): "v2.5.0",
    ("source.toolkit.fluxcd.io", "OCIRepository", "v1"): "v2.6.0",
}

#: Spec fields the GA versions dropped because they had stopped doing anything: losing them in the
#: rewrite changes nothing Flux does.
SAFE_TO_DROP: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("GitRepository", ".spec.gitImplementation"),  # one Git implementation since Flux v0.3x
        ("Kustomization", ".spec.validation"),  # server-side apply validates since v0.2x
    }
)
_PENDING = ("pending-install", "pending-upgrade", "pending-rollback")


@dataclass(frozen=True)
class LiveCrd:
    name: str
    group: str
    kind: str
    plural: str
    #: every entry of spec.versions as the cluster has it (kept served by the bridge)
    versions: tuple[Mapping[str, Any], ...]
    stored: tuple[str, ...]
    conversion: str = "None"
    #: app.kubernetes.io/version, which Flux's install manifests set: the installed release
    release: str | None = None

    @property
    def storage(self) -> str:
        return next((str(v["name"]) for v in self.versions if v.get("storage")), "")


@dataclass(frozen=True)
class LiveObject:
    kind: str
    namespace: str
    name: str
    api_version: str
    spec: Mapping[str, Any]
    #: the API version kustomize-controller last applied it in (its server-side apply entry), when
    #: Flux applies it from Git; None for objects Flux does not apply (this stack's own)
    flux_applied: str | None = None
    kustomization: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass(frozen=True)
class LiveRelease:
    """One Helm release, as its latest storage Secret's labels say."""

    namespace: str
    name: str
    revision: int
    status: str


@dataclass(frozen=True)
class LiveFlux:
    crds: tuple[LiveCrd, ...] = ()
    objects: tuple[LiveObject, ...] = ()
    releases: tuple[LiveRelease, ...] = ()

    @property
    def release(self) -> str | None:
        """The installed Flux release, as its CRDs say (several, comma-separated, if they disagree)."""
        return ", ".join(sorted({c.release for c in self.crds if c.release})) or None


@dataclass(frozen=True)
class CrdStep:
    """One CRD whose objects are rewritten in `storage` before the new CRDs are applied."""

    group: str
    kind: str
    stored: tuple[str, ...]
    storage: str
    #: the live CRD does not store `storage` yet: it is added (served) and made the storage version first
    bridge: bool
    objects: int

    def __str__(self) -> str:
        old = "/".join(v for v in self.stored if v != self.storage) or self.stored[0]
        return f"{self.kind} {self.group} {old} -> {self.storage} ({self.objects} object(s))"


@dataclass(frozen=True)
class UpgradePlan:
    from_release: str | None
    to_release: str
    steps: tuple[CrdStep, ...] = ()
    #: why the upgrade cannot proceed, one line each
    refused: tuple[str, ...] = ()
    #: objects Flux applies from Git in a version the new release does not serve
    from_git: tuple[LiveObject, ...] = ()
    releases: tuple[LiveRelease, ...] = ()

    @property
    def migrated(self) -> int:
        return sum(s.objects for s in self.steps)

    def lines(self) -> list[str]:
        """What the upgrade does, for preview and the gate's report."""
        if not self.steps:
            return [f"Flux {self.to_release}: no object is stored in a version it does not serve"]
        head = f"Flux upgrade {self.from_release or '(release unknown)'} -> {self.to_release}"
        out = [
            f"{head}: {self.migrated} object(s) rewritten in the new API versions before the new CRDs "
            f"are applied, then {len(self.steps)} CRD(s)' stored versions cleaned"
        ]
        out += [f"  migrate {s}" for s in self.steps]
        if self.releases:
            kept = len(self.releases)
            out.append(f"  {kept} Helm release(s) kept as they are (helm-controller adopts them)")
        return out


def _object_refusals(crd: LiveCrd, objects: list[LiveObject], spec: Mapping[str, Any]) -> list[str]:
    storage = str(storage_version(spec)["name"])
    schema = version_schema(spec, storage) or {}
    spec_schema = (schema.get("properties") or {}).get("spec") or {}
    refused = []
    for obj in objects:
        dropped = dropped_fields(dict(obj.spec), spec_schema, ".spec")
        lost = [p for p in dropped if (obj.kind, p) not in SAFE_TO_DROP]
        if lost:
            via = FIRST_SERVED.get((crd.group, crd.kind, storage))
            where = f"Flux {via}, which serves both," if via else "a Flux release serving both versions"
            refused.append(
                f"{obj} ({obj.api_version}) sets {', '.join(lost)}, which {crd.group}/{storage} does not "
                f"have: upgrade to {where} and change it there first"
            )
    return refused


def plan_upgrade(live: LiveFlux, install: Iterable[Mapping[str, Any]], to_release: str) -> UpgradePlan:
    """The CRDs whose objects the upgrade to `install` rewrites, and what it cannot carry over."""
    install = list(install)
    new = crd_specs(install)
    steps: list[CrdStep] = []
    refused: list[str] = []
    for crd in live.crds:
        spec = new.get(crd.name)
        if spec is None:
            continue  # a CRD the new release does not install: Pulumi leaves or deletes it as usual
        storage = str(storage_version(spec)["name"])
        if set(crd.stored) <= {storage}:
            continue
        group = crd.group + "/"
        objects = [o for o in live.objects if o.kind == crd.kind and o.api_version.startswith(group)]
        if crd.conversion != "None":
            refused.append(f"CRD {crd.name} converts through a {crd.conversion}: not a Flux CRD to migrate")
            continue
        order = GROUP_VERSIONS.get(crd.group, ())
        if storage in order and crd.storage in order and order.index(storage) < order.index(crd.storage):
            refused.append(
                f"{crd.kind}: {to_release} stores {crd.group}/{storage}, older than the {crd.storage} the "
                "cluster stores: a downgrade across API versions loses what the newer version holds"
            )
            continue
        refused += _object_refusals(crd, objects, spec)
        steps.append(
            CrdStep(
                crd.group,
                crd.kind,
                crd.stored,
                storage,
                bridge=crd.storage != storage,
                objects=len(objects),
            )
        )
    served = served_versions(install)
    from_git = tuple(o for o in live.objects if o.flux_applied and is_removed(o.flux_applied, o.kind, served))
    for release in live.releases if steps else ():
        # Stopped mid-action by the controllers' replacement, a release would stay locked.
        if release.status in _PENDING:
            refused.append(
                f"Helm release {release.namespace}/{release.name} is {release.status} (revision "
                f"{release.revision}): a Helm action is running; upgrade once it has finished"
            )
    return UpgradePlan(
        live.release, to_release, tuple(steps), tuple(refused), from_git, releases=live.releases
    )
