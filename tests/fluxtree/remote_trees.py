"""A self-made Flux tree whose kustomizations name a remote resource in each form kustomize
accepts, for the unit and integration tests of remote bases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from eoepca_gitops.importer import ImportResult
from tests.importer.trees import complete, flux_kustomization, import_cluster, project, small_repository

#: Each form kustomize reads as remote, and what eoepca_gitops.fluxtree.remote.classify says of it:
#: (kind, clone URL, folder in the repository, ref).
FORMS: dict[str, tuple[str, str, str, str]] = {
    "https://github.com/kubernetes-sigs/gateway-api/config/crd?ref=v1.0.0": (
        "http",
        "https://github.com/kubernetes-sigs/gateway-api",
        "config/crd",
        "v1.0.0",
    ),
    "https://raw.githubusercontent.com/org/repo/main/crds.yaml": (
        "http",
        "https://raw.githubusercontent.com/org/repo",
        "main/crds.yaml",
        "",
    ),
    "github.com/rancher/local-path-provisioner/deploy?ref=v0.0.24": (
        "git",
        "https://github.com/rancher/local-path-provisioner",
        "deploy",
        "v0.0.24",
    ),
    "git::https://git.example.org/team/repo.git//deploy?ref=v1": (
        "git",
        "https://git.example.org/team/repo.git",
        "deploy",
        "v1",
    ),
    "git@github.com:org/repo.git//deploy": ("git", "git@github.com:org/repo.git", "deploy", ""),
    "ssh://git@git.example.org/org/repo.git//x?version=v2": (
        "git",
        "ssh://git@git.example.org/org/repo.git",
        "x",
        "v2",
    ),
    "https://dev.azure.com/org/project/_git/repo/deploy?ref=main": (
        "http",
        "https://dev.azure.com/org/project/_git/repo",
        "deploy",
        "main",
    ),
    "file:///srv/git/repo.git//deploy": ("git", "file:///srv/git/repo.git", "deploy", ""),
    "deploy@git.example.org:org/repo?ref=v3": ("git", "deploy@git.example.org:org/repo", "", "v3"),
}

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "local", "namespace": "infra"}}


def write(repo: Path, rel: str, doc: Any) -> None:
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(yaml.safe_dump(doc, sort_keys=False))


def remote_tree(tmp: Path, remotes: list[str] | None = None) -> Path:
    """A repository of cluster clusters/home: Kustomization infra (./infrastructure) whose folder
    lists a local ConfigMap and one base per remote form (base/<n>: the remote, a local patch)."""
    remotes = list(FORMS) if remotes is None else remotes
    repo = small_repository(
        tmp, {"clusters/home/infra.yaml": [flux_kustomization("infra", "./infrastructure")]}
    )
    bases = [f"base/b{i}" for i in range(len(remotes))]
    write(repo, "infrastructure/kustomization.yaml", {"resources": ["local.yaml", *bases]})
    write(repo, "infrastructure/local.yaml", CONFIG_MAP)
    for base, remote in zip(bases, remotes, strict=True):
        patch = {"path": "patch.yaml", "target": {"kind": "Deployment"}}
        write(repo, f"infrastructure/{base}/kustomization.yaml", {"resources": [remote], "patches": [patch]})
        paused = [{"op": "add", "path": "/spec/paused", "value": True}]
        write(repo, f"infrastructure/{base}/patch.yaml", paused)
    return repo


def imported_project(tmp_path: Path, remotes: list[str] | None = None) -> tuple[Path, Path, ImportResult]:
    """(the tree, the project imported from it with what the import left for the user set, the result)."""
    repo = remote_tree(tmp_path, remotes)
    out = project(tmp_path)
    result = import_cluster(repo, "clusters/home", "home", out)
    for rel, text in result.files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    complete(out, "home")
    return repo, out, result
