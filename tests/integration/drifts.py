"""Drift as operators cause it, on the objects of a small stack (Flux, system-common, system-storage,
system-test): what a person does, the field manager Kubernetes records for it, and how to see that
the stack took it back. Shared by the drift tests and the drift benchmark (bench/drift_runs.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BLOCKS", "DRIFTS", "Drift", "Kube"]

KUBECTL = Path(sys.executable).parent / "kubectl"
#: The building blocks of the stack these drifts are made on.
BLOCKS = ["system-common", "system-storage", "system-test"]


class Kube:
    """kubectl on one cluster."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc

    def get(self, resource: str, name: str, namespace: str) -> dict[str, Any] | None:
        proc = self.run("get", resource, name, "-n", namespace, "-o", "json", check=False)
        if proc.returncode != 0:
            if "NotFound" in proc.stderr:
                return None
            raise RuntimeError(f"kubectl get {resource} {name}: {proc.stderr.strip()}")
        out: dict[str, Any] = json.loads(proc.stdout)
        return out


@dataclass(frozen=True)
class Drift:
    obj: str  # as the stack names it (Kind/namespace/name)
    field: str
    manager: str  # the field manager Kubernetes records; "?" when it keeps none
    cause: Callable[[Kube], object]
    corrected: Callable[[Kube], bool]


def _spec(kube: Kube, resource: str, name: str, namespace: str) -> dict[str, Any]:
    return (kube.get(resource, name, namespace) or {}).get("spec") or {}


def _other_applier(kube: Kube) -> None:
    """Another server-side applier takes a field the stack declares."""
    repo = kube.get("helmrepository", "eoepca", "common") or {}
    theirs = {
        "apiVersion": repo.get("apiVersion"),
        "kind": "HelmRepository",
        "metadata": {"name": "eoepca", "namespace": "common"},
        "spec": {"interval": "7m"},
    }
    kube.run(
        "apply", "--server-side", "--field-manager=other-tool", "--force-conflicts", "-f", "-",
        stdin=json.dumps(theirs),
    )  # fmt: skip


DRIFTS: list[Drift] = [
    Drift(
        "HelmRelease/test/cheese", "spec.interval", "kubectl-patch",
        lambda k: k.run("patch", "helmrelease", "cheese", "-n", "test", "--type", "merge",
                        "-p", '{"spec":{"interval":"9m"}}'),
        lambda k: _spec(k, "helmrelease", "cheese", "test").get("interval") == "1m0s",
    ),
    Drift(
        "Deployment/flux-system/source-controller", "spec.replicas", "kubectl",
        lambda k: k.run("scale", "deployment", "source-controller", "-n", "flux-system", "--replicas=2"),
        lambda k: _spec(k, "deployment", "source-controller", "flux-system").get("replicas") == 1,
    ),
    Drift(  # what `flux suspend kustomization` does
        "Kustomization/flux-system/system-test", "spec.suspend", "flux",
        lambda k: k.run("patch", "kustomization", "system-test", "-n", "flux-system", "--type", "merge",
                        "--field-manager=flux", "-p", '{"spec":{"suspend":true}}'),
        lambda k: not _spec(k, "kustomization", "system-test", "flux-system").get("suspend"),
    ),
    Drift(  # a removed field has no owner: Kubernetes drops the entry of whoever removed it
        "Deployment/flux-system/kustomize-controller", "metadata.labels.control-plane", "?",
        lambda k: k.run("label", "deployment", "kustomize-controller", "-n", "flux-system", "control-plane-"),
        lambda k: ((k.get("deployment", "kustomize-controller", "flux-system") or {}).get("metadata", {})
                   .get("labels", {}).get("control-plane") == "controller"),
    ),
    Drift(
        "HelmRepository/common/eoepca", "spec.interval", "other-tool",
        _other_applier,
        lambda k: _spec(k, "helmrepository", "eoepca", "common").get("interval") not in (None, "7m"),
    ),
    Drift(
        "HelmRepository/common/stable", "(object)", "?",
        lambda k: k.run("delete", "helmrepository", "stable", "-n", "common"),
        lambda k: k.get("helmrepository", "stable", "common") is not None,
    ),
]  # fmt: skip
