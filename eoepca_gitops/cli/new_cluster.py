"""`eoepca-gitops new-cluster`: a new stack file from an existing one — the whole job of adding a cluster."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import typer
import yaml

from eoepca_gitops.cli.common import project_dir, reported, say
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import load_stack, read_yaml


@reported
def new_cluster(
    name: str = typer.Argument(..., help="Name of the new cluster and stack."),
    from_stack: str = typer.Option(..., "--from", help="Existing stack to copy, e.g. creodias."),
    ip: str = typer.Option(..., "--ip", help="The new cluster's public (ingress) IPv4 address."),
    domain: str = typer.Option(
        None, "--domain", help="Domain for ingress hosts (default: <ip-dashed>.nip.io)."
    ),
    project: Path = typer.Option(None, "--project", help="Project folder (default: nearest Pulumi.yaml)."),
) -> None:
    """Write Pulumi.NAME.yaml from Pulumi.FROM.yaml with the new cluster's name, IP and domain.

    Everything else (Flux version and patches, Git source, blocks, overrides) is copied. Secrets
    are not: a stack's secrets are encrypted for that stack, so the command lists the
    `pulumi config set --secret` lines to run.
    """
    root = project_dir(project)
    source = root / f"Pulumi.{from_stack}.yaml"
    target = root / f"Pulumi.{name}.yaml"
    if not source.is_file():
        raise GitopsError(f"{source.name}: no such stack file")
    if target.exists():
        raise GitopsError(f"{target.name} exists already; remove it first to replace it")
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        raise GitopsError(f"--ip: {ip!r} is not an IPv4 address") from None
    raw = read_yaml(source)
    ns = defaults.CONFIG_NAMESPACE
    config: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in raw.get("config", {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets.append(key)
            continue
        config[key] = value
    cluster = dict(config.get(f"{ns}:cluster", {}))
    cluster.update({"name": name, "publicIp": ip})
    cluster.pop("domain", None)
    if domain:
        cluster["domain"] = domain
    config[f"{ns}:cluster"] = cluster
    # Validate as the program will (secrets counted as set) before writing anything.
    short = {k[len(ns) + 1 :]: v for k, v in config.items() if k.startswith(f"{ns}:")}
    short |= {k[len(ns) + 1 :]: "<to set>" for k in secrets}
    load_stack(name, short, {k[len(ns) + 1 :] for k in secrets}, target.name, root / defaults.BLOCKS_DIR)
    target.write_text(
        f"# Cluster {name}, made by `eoepca-gitops new-cluster {name} --from {from_stack}`.\n"
        + yaml.safe_dump({"config": config}, sort_keys=False)
    )
    say(f"wrote {target.name}")
    for key in secrets:
        say(f"  set its secret: pulumi config set --stack {name} --secret {key.split(':', 1)[1]} <value>")
