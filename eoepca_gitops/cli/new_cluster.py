"""`eoepca-gitops new-cluster`: a new stack file from an existing one — the whole job of adding a
cluster — and `new-cluster --check NAME`: what a stack still lacks before `pulumi preview` takes it.

The copy (eoepca_gitops.newcluster.copy) keeps the source's text but what is a cluster's own, and
is validated offline: what only the new cluster can know is missing, not fatal. Where an object
reads a Secret from the cluster that the new cluster's Git layer does not make (the source's was
in its own folder), the copy makes it from a secret key of its own (clusterSecrets). The command
ends with the checklist (eoepca_gitops.newcluster.advice), as text or JSON, whose commands work
as printed once each <BLANK> is filled in.

A stack file is the cluster's definition: it is written through the one writer
(eoepca_gitops.files), never over an existing one unless --force says so. Bad input is one error
line and exit 2, with nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import TypeAdapter, ValidationError

from eoepca_gitops import yaml_io
from eoepca_gitops.cli.common import (
    EXIT_CHANGES,
    EXIT_OK,
    keep_stack_file,
    reported,
    say,
    show,
    show_json,
)
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import read_file, write_file
from eoepca_gitops.flux_layer import Reference, check_git_layer
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import load_blocks, load_stack
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.model.types import DnsLabel, DnsName, IngressIPv4
from eoepca_gitops.newcluster import roundtrip
from eoepca_gitops.newcluster.advice import Source, new_cluster_checklist
from eoepca_gitops.newcluster.checklist import Checklist, as_json, render_text
from eoepca_gitops.newcluster.copy import StackCopy, add_cluster_secrets, copy_stack, secret_key_name
from eoepca_gitops.newcluster.missing import initialised, missing_steps, stack_references
from eoepca_gitops.project import find_project, load_stack_file, stack_file, stack_values

__all__ = ["new_cluster"]


def _valid(value: str, option: str, kind: Any) -> str:
    try:
        return str(TypeAdapter(kind).validate_python(value))
    except ValidationError as exc:
        raise GitopsError(
            f"{option} {value!r}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}"
        ) from None


def _load(copy: StackCopy, name: str, file: str, project: Path) -> Stack:
    values, secret_keys = stack_values(yaml_io.load(roundtrip.dump(copy.document)), file)
    return load_stack(name, values, secret_keys, file, project / defaults.BLOCKS_DIR, project, offline=True)


def _made_by_the_stack(copy: StackCopy, refs: list[Reference], name: str, git_path: str) -> list[Reference]:
    """Adds a clusterSecrets entry for each Secret an object must read that nothing provides; returns
    those it added."""
    made = [r for r in refs if r.required and r.kind == "Secret"]
    if made:
        entries = [
            {"name": r.name, "namespace": r.namespace, "data": {r.key: secret_key_name(r.name, r.key, False)}}
            for r in made
        ]
        readers = ", ".join(f"{r.reader} ({r})" for r in made)
        add_cluster_secrets(
            copy,
            entries,
            f"new-cluster: read from the cluster by {readers}, which neither the stack nor its Git layer "
            f"({git_path}) makes: {name} makes them from its own secret keys (pulumi config set --secret).",
        )
    return made


def _print(checklist: Checklist, as_json_: bool, **extra: Any) -> None:
    if as_json_:
        show_json({**as_json(checklist), **extra}, indent=2)
    else:
        show("\n".join(render_text(checklist)))  # text from a stack file: shown, no terminal codes


def _check(project: Path, name: str, json_: bool) -> None:
    path = stack_file(project, name, "NAME")
    if not path.is_file():
        raise GitopsError(f"{path.name}: no such stack file")
    raw = yaml_io.load_file(path)
    stack = load_stack_file(path)
    prepared, refs = stack_references(stack, project, say)
    steps = missing_steps(stack, initialised=initialised(raw), references=refs)
    if not steps:
        # The rest of what preview checks offline: Git objects in API versions this Flux removed.
        check_git_layer(stack, prepared.install, prepared.manifests, project, path.name, say)
        say(f"{name}: nothing missing; `pulumi preview --stack {name}` takes it")
    else:
        say(f"{name}: {len(steps)} step(s) before `pulumi preview --stack {name}` takes it")
    if steps or json_:
        _print(Checklist(name, tuple(steps)), json_, ready=not steps)
    raise typer.Exit(EXIT_CHANGES if steps else EXIT_OK)


@reported
def new_cluster(
    name: str = typer.Argument(..., help="Name of the new cluster and stack (a DNS label)."),
    from_stack: str = typer.Option(None, "--from", help="Existing stack to copy, e.g. creodias."),
    ip: str = typer.Option(None, "--ip", help="The new cluster's public (ingress) IPv4 address."),
    domain: str = typer.Option(
        None, "--domain", help="Domain for ingress hosts (default: <ip-dashed>.nip.io)."
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Print what stack NAME still lacks before `pulumi preview` takes it (exit 0: nothing).",
    ),
    json_: bool = typer.Option(False, "--json", help="Print the checklist as JSON (for scripts)."),
    project: Path = typer.Option(None, "--project", help="Project folder (default: nearest Pulumi.yaml)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing Pulumi.NAME.yaml."),
) -> None:
    """Write Pulumi.NAME.yaml from Pulumi.FROM.yaml with the new cluster's name, IP and domain, and
    print the checklist to `pulumi up` (or, with --check, what NAME still lacks)."""
    project = find_project(project)
    if check:
        return _check(project, name, json_)
    if from_stack is None or ip is None:
        raise GitopsError("new-cluster NAME needs --from STACK and --ip ADDRESS (or --check NAME)")
    source = stack_file(project, from_stack, "--from")
    target = stack_file(project, name, "NAME")
    _valid(name, "NAME", DnsLabel)
    _valid(ip, "--ip", IngressIPv4)
    if domain is not None:
        _valid(domain, "--domain", DnsName)
    if not source.is_file():
        raise GitopsError(f"{source.name}: no such stack file")
    keep_stack_file(target, force=force)
    yaml_io.load_file(source)  # the strict loader's refusals (a key twice, aliases, ...), with a line
    copy = copy_stack(read_file(source), source.name, from_stack, name, ip, domain)
    stack = _load(copy, name, target.name, project)
    _, refs = stack_references(stack, project, say)
    made = _made_by_the_stack(copy, refs, name, stack.config.git.path)
    if made:
        stack = _load(copy, name, target.name, project)
    rest = [r for r in refs if r not in made]
    declared = load_blocks(project / defaults.BLOCKS_DIR)
    source_info = Source(
        from_stack,
        stack.config.flux.version,  # the source's, copied
        tuple((b, declared[b][0].description) for b in sorted(declared) if b not in stack.config.blocks),
        copy.own_folder,
    )
    required = missing_steps(stack, initialised=False, references=rest)
    checklist = new_cluster_checklist(
        stack, source_info, required, rest, project, domain_given=domain is not None
    )
    write_file(project, target.name, roundtrip.dump(copy.document), replace=force)
    say(
        f"wrote {target.name}, the cluster's definition, from {source.name} (`git checkout -- {target.name}` "
        f"brings a committed one back; `pulumi stack rm {name}` deletes it unless --preserve-config)"
    )
    _print(checklist, json_)
    return None
