"""The cases of issue 31 (a broken change fails `pulumi up` with Flux's reason), as blocks a project
can hold: tests/integration/test_await.py checks each outcome and message, bench/await_runs.py times
each. Every case is a block of its own beside system-common, which holds the HelmRepositories; the
releases use a stand-in chart the dev cluster's chart repository has (eoepca-portal 1.0.9)."""

from __future__ import annotations

import subprocess
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import REPO_ROOT

SOURCE = {"kind": "HelmRepository", "name": "eoepca", "namespace": "common"}


def release(name: str, namespace: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "chart": "eoepca-portal",
        "version": "1.0.9",
        "sourceRef": SOURCE,
        "interval": "1m0s",
        # Helm gives up on a pod that is not Ready after 30 s (the slow case is Ready after 20 s).
        "timeout": "30s",
        **extra,
    }


def block(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespaces": [name], "dependsOn": ["system-common"], **extra}


BLOCKS = {
    # Ready 20 s after its pod starts (kwok's delay from the stand-in chart's readyAfter).
    "await-slow": block(
        "await-slow", helmReleases=[release("slow", "await-slow", values={"readyAfter": "20s"})]
    ),
    # The stack overrides its version with one the chart repository does not have (VERSION_OVERRIDE).
    "await-version": block("await-version", helmReleases=[release("app", "await-version")]),
    # Values the stand-in chart's values.schema.json refuses.
    "await-schema": block(
        "await-schema", helmReleases=[release("app", "await-schema", values={"replicaCount": "many"})]
    ),
    # A Kustomization whose path is not in Git.
    "await-path": block("await-path", kustomization={"path": "await-path-is-not-in-git"}),
    # A release that depends on one Flux applies from Git (here: DEPENDENCY), whose chart does not exist.
    "await-dependency": block(
        "await-dependency",
        helmReleases=[
            release("app", "await-dependency", dependsOn=[{"name": "await-dep", "namespace": "common"}])
        ],
    ),
}
#: The stack's override of case await-version, as an operator would write it.
VERSION_OVERRIDE = {"app": {"version": "9.9.9"}}
#: What Flux would apply from Git for case await-dependency (kubectl apply stands in).
DEPENDENCY = {
    "apiVersion": "helm.toolkit.fluxcd.io/v2",
    "kind": "HelmRelease",
    "metadata": {"name": "await-dep", "namespace": "common"},
    "spec": {
        "interval": "1m0s",
        "chart": {"spec": {"chart": "eoepca-portal", "version": "9.9.9", "sourceRef": SOURCE}},
    },
}
#: The object each failing case fails on: (kind, namespace, name).
FAILING = {
    "await-version": ("HelmRelease", "await-version", "app"),
    "await-schema": ("HelmRelease", "await-schema", "app"),
    "await-path": ("Kustomization", "flux-system", "await-path"),
    "await-dependency": ("HelmRelease", "await-dependency", "app"),
}


def write_blocks(project: Path) -> None:
    for name, content in BLOCKS.items():
        (project / "clusters" / "blocks" / f"{name}.yaml").write_text(
            yaml.safe_dump(content, sort_keys=False)
        )


def remove_blocks(project: Path) -> None:
    for name in BLOCKS:
        (project / "clusters" / "blocks" / f"{name}.yaml").unlink(missing_ok=True)


def enable(config: dict[str, Any], name: str | None) -> None:
    """A stack's `eoepca-gitops:*` config (keys without the prefix): system-common and case `name`."""
    config["blocks"] = ["system-common", *([name] if name else [])]
    config["overrides"] = {name: {"releases": VERSION_OVERRIDE}} if name == "await-version" else {}


def old_program(dest: Path) -> Path:
    """This project as it was before the wait resource (the provider's pulumi.com/waitFor on each
    object): the parent of the commit that took those annotations off the builders, from Git."""
    log = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "log", "-1", "--format=%H", "-S", '"pulumi.com/waitFor"', "--",
         "eoepca_gitops/manifests/building_block.py"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    removal = log.stdout.strip()
    if log.returncode != 0 or not removal:
        raise RuntimeError(
            "the commit that removed the waitFor annotations is not in this checkout's history: "
            "run `git fetch --unshallow`"
        )
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", f"{removal}^"], capture_output=True, check=True
    ).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest
