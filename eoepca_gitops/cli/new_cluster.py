"""`eoepca-gitops new-cluster`: a new stack file from an existing one — the whole job of adding a cluster.

What is the same for every cluster of the project is copied (Flux version and patches, the Git
repository and branch, blocks, overrides, notifications); what is a cluster's own by nature is not:
its name, IP and domain come from the command line; its infrastructure (NFS, EO data, object store),
kubeconfig and secrets must be set for it; its sealed secrets (clusters/<cluster>/) are sealed
with the source cluster's key, so the new stack applies the shared manifests until they are
re-sealed. The command ends with that checklist.

A stack file is the cluster's definition: it is written through the one writer
(eoepca_gitops.files), never over an existing one unless --force says so, and the command says how
to get one back from Git.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import typer
import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.cli.common import keep_stack_file, project_dir, reported, say, stack_file
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import write_file
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import load_stack
from eoepca_gitops.model.references import variables_used
from eoepca_gitops.model.stack import CLUSTER_VARIABLES

__all__ = ["new_cluster"]

# Keys of a cluster's own, never copied to another (kubeconfig and context name another cluster).
_OWN_CLUSTER_KEYS = ("nfs", "eoData", "objectStore")
_OWN_KEYS = ("kubeconfig", "kubeContext")


@reported
def new_cluster(
    name: str = typer.Argument(..., help="Name of the new cluster and stack."),
    from_stack: str = typer.Option(..., "--from", help="Existing stack to copy, e.g. creodias."),
    ip: str = typer.Option(..., "--ip", help="The new cluster's public (ingress) IPv4 address."),
    domain: str = typer.Option(
        None, "--domain", help="Domain for ingress hosts (default: <ip-dashed>.nip.io)."
    ),
    project: Path = typer.Option(None, "--project", help="Project folder (default: nearest Pulumi.yaml)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing Pulumi.NAME.yaml."),
) -> None:
    """Write Pulumi.NAME.yaml from Pulumi.FROM.yaml with the new cluster's name, IP and domain,
    then list what the new cluster must still set before `pulumi up`."""
    root = project_dir(project)
    source = stack_file(root, from_stack, "--from")
    target = stack_file(root, name, "NAME")
    if not source.is_file():
        raise GitopsError(f"{source.name}: no such stack file")
    keep_stack_file(target, force=force)
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        raise GitopsError(f"--ip: {ip!r} is not an IPv4 address") from None
    ns = defaults.CONFIG_NAMESPACE
    config: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in (yaml_io.load_file(source) or {}).get("config", {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets.append(key.split(":", 1)[1])
        elif key not in {f"{ns}:{k}" for k in _OWN_KEYS}:
            config[key] = value
    cluster = {"name": name, "publicIp": ip, **({"domain": domain} if domain else {})}
    config[f"{ns}:cluster"] = cluster
    git = dict(config.get(f"{ns}:git") or {})
    own_path = git.get("path") == f"./clusters/{from_stack}"
    if own_path:
        git["path"] = defaults.GIT_PATH
        config[f"{ns}:git"] = git
    # Validate as the program will (secrets counted as set; the cluster's own values come later).
    short = {k[len(ns) + 1 :]: v for k, v in config.items() if k.startswith(f"{ns}:")}
    stack = load_stack(
        name,
        short | dict.fromkeys(secrets, "<to set>"),
        secrets,
        target.name,
        root / defaults.BLOCKS_DIR,
        root,
        references=False,
    )
    write_file(
        root,
        target.name,
        f"# Cluster {name}, made by `eoepca-gitops new-cluster {name} --from {from_stack}`.\n"
        + yaml.safe_dump({"config": config}, sort_keys=False),
        replace=force,
    )
    say(
        f"wrote {target.name}, the cluster's definition: commit it (`git checkout -- {target.name}` "
        f"brings the committed one back; `pulumi stack rm {name}` deletes it unless --preserve-config)."
    )
    say(f"Before `pulumi up --stack {name}`:")
    say(
        "  - the cluster: set kubeconfig (a file, relative to the project) or kubeContext, or leave both "
        "out to use $KUBECONFIG"
    )
    used: dict[str, str] = {}
    for block in stack.catalog.blocks:
        for variable, _where in variables_used(block).items():
            used.setdefault(CLUSTER_VARIABLES[variable], block.name)
    for key, block_name in sorted(used.items()):
        if key.split(".")[1] in _OWN_CLUSTER_KEYS:
            say(f"  - set {key} (block {block_name}): pulumi config set --stack {name} --path {key} <value>")
    for key in secrets:
        say(f"  - its secret {key}: pulumi config set --stack {name} --secret {key} <value>")
    if own_path:
        say(
            f"  - sealed secrets: clusters/{from_stack}/ holds {from_stack}'s, sealed with its key; {name} "
            f"applies {defaults.GIT_PATH} (shared manifests only) until you re-seal them for {name} into "
            f"clusters/{name}/<block>/ and set git.path ./clusters/{name}"
        )
