"""`check`: whether a stack's cluster can run what the stack installs, as `flux check` tells it.

Three groups, each a row per thing checked: the prerequisites (the tools the project's commands
run, the cluster answering and its Kubernetes version), Flux's controllers (each Deployment of the
stack's install manifest Available and running the image the stack pins), and Flux's CRDs (each
established and serving every version the pinned release serves). What the stack pins comes from
the same builders `pulumi up` applies; what the cluster runs is read through the Kubernetes adapter.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import crd_specs
from eoepca_gitops.fluxtree.kustomize import kubectl
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.operations.status import EXIT_ALL_READY, EXIT_CANNOT_TELL, EXIT_NOT_READY

__all__ = ["Check", "CheckReport", "check_cluster", "check_tools"]

CRD_API = "apiextensions.k8s.io/v1"


@dataclass(frozen=True)
class Check:
    group: str  # prerequisites | controllers | crds
    name: str
    ok: bool
    detail: str
    cannot_tell: bool = False  # the cluster could not be read: nothing after this is known


@dataclass(frozen=True)
class CheckReport:
    stack: str
    flux_version: str
    checks: tuple[Check, ...]

    @property
    def exit_code(self) -> int:
        if any(c.cannot_tell for c in self.checks):
            return EXIT_CANNOT_TELL
        return EXIT_ALL_READY if all(c.ok for c in self.checks) else EXIT_NOT_READY

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "flux": self.flux_version,
            "ready": self.exit_code == EXIT_ALL_READY,
            "checks": [asdict(c) for c in self.checks],
        }


def client_versions(binary: str) -> dict[str, Any]:
    """`kubectl version --client -o json`: kubectl's version and that of the kustomize built in."""
    done = subprocess.run(
        [binary, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30, check=True
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def check_tools() -> list[Check]:
    """The tools the project's commands run beside the API: kubectl (the project's own, beside
    Python first) and its built-in kustomize (`diff`, `render --flux-layer`), and pulumi."""
    try:
        binary = kubectl()
        versions = client_versions(binary)
        kustomize = str(versions.get("kustomizeVersion") or "")
        checks = [
            Check("prerequisites", "kubectl", True, f"{versions['clientVersion']['gitVersion']} ({binary})"),
            Check("prerequisites", "kustomize", bool(kustomize), kustomize or "not built into this kubectl"),
        ]
    except GitopsError as exc:
        checks = [Check("prerequisites", t, False, str(exc)) for t in ("kubectl", "kustomize")]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as exc:
        checks = [
            Check("prerequisites", t, False, f"kubectl version: {exc}") for t in ("kubectl", "kustomize")
        ]
    pulumi = shutil.which("pulumi")
    return [*checks, Check("prerequisites", "pulumi", pulumi is not None, pulumi or "not found on PATH")]


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), {})


def _image(deployment: Mapping[str, Any]) -> str:
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")
    return str((containers or [{}])[0].get("image", ""))


def _controller(pinned: Mapping[str, Any], live: Mapping[str, Any] | None) -> Check:
    name, want = pinned["metadata"]["name"], _image(pinned)
    if live is None:
        return Check("controllers", name, False, "no Deployment in the cluster (pulumi up installs it)")
    available = _condition(live, "Available")
    if available.get("status") != "True":
        why = available.get("message") or "no Available condition yet"
        return Check("controllers", name, False, f"not Available: {why}")
    if (have := _image(live)) != want:
        return Check("controllers", name, False, f"runs {have}; the stack pins {want}")
    return Check("controllers", name, True, want)


def _crd(name: str, spec: Mapping[str, Any], live: Mapping[str, Any] | None) -> Check:
    want = sorted(v["name"] for v in spec.get("versions", []) if v.get("served", True))
    if live is None:
        return Check("crds", name, False, "not in the cluster (pulumi up installs it)")
    served = {v["name"] for v in (live.get("spec") or {}).get("versions", []) if v.get("served", True)}
    if missing := [v for v in want if v not in served]:
        return Check("crds", name, False, f"does not serve {', '.join(missing)}")
    if _condition(live, "Established").get("status") != "True":
        return Check("crds", name, False, "not Established")
    return Check("crds", name, True, ", ".join(want))


def check_cluster(
    access: ClusterAccess, install: Sequence[Mapping[str, Any]], tools: Sequence[Check], stack: str, flux: str
) -> CheckReport:
    """The report of a stack whose install manifest (as the builders made it) is `install`."""
    checks = list(tools)
    try:
        version = access.server_version()
    except GitopsError as exc:
        checks.append(Check("prerequisites", "cluster", False, str(exc), cannot_tell=True))
        return CheckReport(stack, flux, tuple(checks))
    checks.append(Check("prerequisites", "cluster", True, f"Kubernetes {version}"))
    try:
        for obj in install:
            if obj["kind"] == "Deployment":
                meta = obj["metadata"]
                live = access.get(obj["apiVersion"], "Deployment", meta.get("namespace", ""), meta["name"])
                checks.append(_controller(obj, live))
        for name, spec in sorted(crd_specs(install).items()):
            checks.append(_crd(name, spec, access.get(CRD_API, "CustomResourceDefinition", "", name)))
    except GitopsError as exc:
        checks.append(Check("controllers", "cluster", False, str(exc), cannot_tell=True))
    return CheckReport(stack, flux, tuple(checks))
