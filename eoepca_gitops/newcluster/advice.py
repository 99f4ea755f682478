"""The checklist `new-cluster` ends with: the steps `pulumi preview` needs (eoepca_gitops.newcluster.
missing), and around them what an operator adding a cluster decides or does besides, in order:

- the environment the commands read (backend, passphrase, cluster), never their values on a line;
- what was copied and may differ for the new cluster: the Git repository and ref, where charts come
  from, the domain, blocks the source leaves out (creodias: the prerequisites it had installed by
  hand), the Flux version when the source's is not the default (with the upgrade path);
- the check (`new-cluster --check`), keeping the stack file in Git, the update;
- after it: the Secrets the notification Providers read, which the new cluster does not have, and
  the source's sealed secrets to seal again with the new cluster's key (kubeseal, file by file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoepca_gitops import yaml_io
from eoepca_gitops.files import files_under
from eoepca_gitops.flux_layer import Reference
from eoepca_gitops.model import defaults
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.newcluster.checklist import Blank, Checklist, Option, Step, blank_name, command, possessive
from eoepca_gitops.newcluster.missing import ENV, set_command
from eoepca_gitops.project import stack_file_name

__all__ = ["Source", "new_cluster_checklist"]


@dataclass(frozen=True)
class Source:
    """What the checklist says about the stack a new one was made from."""

    name: str
    flux_version: str
    not_enabled: tuple[
        tuple[str, str], ...
    ]  # (block, its description) the catalog has, the source leaves out
    own_folder: str | None  # clusters/<source>: its own objects, which the copy does not apply


def _env(name: str) -> Step:
    return Step(
        "env",
        f"First, in this shell: PULUMI_BACKEND_URL (the project's Pulumi state backend; `. scripts/env.sh` "
        f"sets the local one), PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE ({possessive(name)} "
        f"passphrase, from your secret store; scripts/env.sh's is the local stack's) and KUBECONFIG (its "
        f"current context is {possessive(name)} cluster, for pulumi and kubectl below). Never their values "
        "on a command line. Which backend and user:",
        (command("pulumi", "whoami", "--verbose"),),
        env=ENV,
    )


def _copied(stack: Stack, source: Source, domain_given: bool) -> list[Step]:
    """What the copy has from the source, or leaves to a default, that the new cluster may change."""
    name, config = stack.name, stack.config
    steps = []
    if config.git.url:
        url = Blank("GIT_URL", "the URL of the Git repository holding this project, which Flux clones")
        steps.append(
            Step(
                "git-url",
                f"Flux clones {config.git.url} ({possessive(source.name)}); another repository of this "
                "project:",
                (set_command(name, "git.url", url),),
                (url,),
            )
        )
    for kind, value in config.git.ref().items():
        ref = Blank(blank_name("git", kind), f"the Git {kind} Flux follows")
        text = f"Flux follows {kind} {value} of it ({possessive(source.name)}); another:"
        steps.append(Step("git-ref", text, (set_command(name, f"git.{kind}", ref),), (ref,)))
    if not domain_given:
        domain = Blank("DOMAIN", f"the domain {possessive(name)} ingress hosts live under")
        own = f"a domain of {possessive(name)} own"
        text = f"Hosts are <name>.{config.cluster.host_domain} (no --domain); {own}:"
        steps.append(Step("domain", text, (set_command(name, "cluster.domain", domain),), (domain,)))
    mirror = Blank("CHART_MIRROR_URL", "a chart repository holding <mirror>/<repository name>/index.yaml")
    where = (
        f"from {config.charts.mirror} ({possessive(source.name)} mirror)"
        if config.charts.mirror
        else "from the chart repositories the blocks declare"
    )
    steps.append(
        Step(
            "charts",
            f"Charts come {where}; a cluster that fetches them from a mirror (air-gapped):",
            (set_command(name, "charts.mirror", mirror),),
            (mirror,),
        )
    )
    for i, (block, description) in enumerate(source.not_enabled):
        steps.append(
            Step(
                f"block:{block}",
                f"Block {block} ({description.rstrip('.')}) is declared, and {source.name} leaves it out; "
                f"a cluster without what it installs enables it (these in this order):",
                (set_command(name, f"blocks[{len(config.blocks) + i}]", block),),
            )
        )
    if source.flux_version != defaults.FLUX_VERSION:
        steps.append(
            Step(
                "flux-version",
                f"Flux: {name} has {source.flux_version}, {possessive(source.name)}; the current default is "
                f"{defaults.FLUX_VERSION} (docs/upgrade.md: how a cluster moves to it in place). One of:",
                options=(
                    Option(
                        "default",
                        f"start {name} on {defaults.FLUX_VERSION}:",
                        (set_command(name, "flux.version", defaults.FLUX_VERSION),),
                    ),
                    Option("keep", f"stay on {source.flux_version} as {source.name} (nothing to run)."),
                ),
            )
        )
    return steps


def _deploy(name: str, source: str) -> list[Step]:
    file = stack_file_name(name)
    commit = command("git", "commit", "-m", f"Cluster {name}, from {source}", "--", file)
    return [
        Step(
            "check",
            f"What {name} still lacks (exit 0: nothing, `pulumi preview` takes it):",
            (command("eoepca-gitops", "new-cluster", "--check", name),),
        ),
        Step(
            "commit",
            f"Keep {possessive(name)} definition in Git:",
            (f"{command('git', 'add', file)} && {commit}",),
        ),
        Step(
            "up",
            f"What the update will do, then the update (`eoepca-gitops status --stack {name}` then shows "
            "what Flux reports):",
            (
                command("pulumi", "preview", "--stack", name),
                command("pulumi", "up", "--stack", name, "--yes"),
            ),
        ),
    ]


def _by_hand(name: str, references: list[Reference]) -> list[Step]:
    steps = []
    for ref in references:
        if ref.required or ref.kind != "Secret":
            continue
        file = Blank(blank_name(ref.name, ref.key, "file"), f"a file holding the {ref.key} of {ref}")
        create = (
            command("kubectl", "create", "secret", "generic", ref.name, "--namespace", ref.namespace)
            + f" --from-file={ref.key}={file}"
        )
        steps.append(
            Step(
                f"notify:{ref.namespace}/{ref.name}",
                f"After the update: {ref.reader} reads {ref}, which {name} does not have (the Provider sends "
                "nothing until it exists):",
                (create,),
                (file,),
            )
        )
    return steps


def _secrets_of(path: Path) -> list[dict[str, Any]]:
    docs = yaml_io.load_all_file(path) if path.suffix in (".yaml", ".yml") else []
    return [d for d in docs if isinstance(d, dict) and d.get("kind") in ("Secret", "SealedSecret")]


def _seal(name: str, obj: dict[str, Any], target: str, first: bool) -> tuple[str, list[Blank]]:
    meta = obj.get("metadata") or {}
    sealed = obj["kind"] == "SealedSecret"
    spec = obj.get("spec") or {}
    keys = sorted(
        (spec.get("encryptedData") if sealed else {**obj.get("data", {}), **obj.get("stringData", {})}) or {}
    )
    kind = ((spec.get("template") or {}).get("type") if sealed else obj.get("type")) or "Opaque"
    secret = f"Secret {meta.get('namespace')}/{meta.get('name')}"
    blanks = [
        Blank(blank_name(str(meta.get("name")), k, "file"), f"a file holding the {k} of {secret}")
        for k in keys
    ]
    create = command(
        "kubectl",
        "create",
        "secret",
        "generic",
        str(meta.get("name")),
        "--namespace",
        str(meta.get("namespace")),
    )
    create += "".join(f" --from-file={k}={b}" for k, b in zip(keys, blanks, strict=True))
    create += f" --type={kind}" if kind != "Opaque" else ""
    seal = command("kubeseal", "--cert", f"clusters/{name}/pub-sealed-secrets.pem", "--format", "yaml")
    pipeline, out = f"{create} --dry-run=client -o yaml | {seal}", command(target)
    return (f"{pipeline} > {out}" if first else f"echo --- >> {out} && {pipeline} >> {out}"), blanks


def _sealed(stack: Stack, source: Source, project: Path, by_hand: list[Step]) -> list[Step]:
    if source.own_folder is None or not (project / source.own_folder).is_dir():
        return []
    name, own = stack.name, f"clusters/{stack.name}"
    commands = [
        command("mkdir", "-p", own),
        f"{command('kubeseal', '--fetch-cert')} > {own}/pub-sealed-secrets.pem",
    ]
    blanks: list[Blank] = []
    sealed: set[tuple[str, str]] = set()
    for folder in sorted(p for p in (project / source.own_folder).iterdir() if p.is_dir()):
        block = f"{own}/{folder.name}"
        commands.append(command("mkdir", "-p", block))
        for path in files_under(project, folder):
            target = f"{block}/{path.relative_to(folder).as_posix()}"
            secrets = _secrets_of(path)
            if not secrets:  # the kustomization (the same files by the same names), plain manifests
                commands.append(command("cp", str(path.relative_to(project)), target))
            for i, obj in enumerate(secrets):
                line, found = _seal(stack.name, obj, target, i == 0)
                commands.append(line)
                blanks += found
                meta = obj.get("metadata") or {}
                sealed.add((str(meta.get("namespace")), str(meta.get("name"))))
    made = stack.config.cluster_secrets
    for i in reversed(range(len(made))):
        if (made[i].namespace, made[i].name) in sealed:
            commands.append(
                command("pulumi", "config", "rm", "--stack", name, "--path", f"clusterSecrets[{i}]")
            )
    for step in by_hand:
        ns, _, secret = step.id.removeprefix("notify:").partition("/")
        if (ns, secret) in sealed:
            commands.append(command("kubectl", "delete", "secret", secret, "--namespace", ns))
    commands += [
        set_command(name, "git.path", f"./{own}"),
        " && ".join(
            (
                command("git", "add", own, stack_file_name(name)),
                command("git", "commit", "-m", f"Cluster {name}: its own sealed secrets"),
                command("git", "push"),
            )
        ),
        command("pulumi", "up", "--stack", name, "--yes"),
    ]
    return [
        Step(
            "sealed",
            f"Later, when the sealed-secrets controller runs on {name}: {source.own_folder}/ holds "
            f"{possessive(source.name)} own objects, its Secrets (sealed with its key, which {name} cannot "
            f"open, or stand-ins); seal {possessive(name)} own with {possessive(name)} key (the values from "
            f"{possessive(name)} operators) into {own}/, which then replaces the shared folder:",
            tuple(commands),
            tuple(blanks),
        )
    ]


def new_cluster_checklist(
    stack: Stack,
    source: Source,
    required: list[Step],
    references: list[Reference],
    project: Path,
    *,
    domain_given: bool,
) -> Checklist:
    """Every step from the stack file `new-cluster` wrote to a cluster Flux runs as its source's."""
    by_hand = _by_hand(stack.name, references)
    steps = [
        _env(stack.name),
        *required,
        *_copied(stack, source, domain_given),
        *_deploy(stack.name, source.name),
        *by_hand,
        *_sealed(stack, source, project, by_hand),
    ]
    return Checklist(stack.name, tuple(steps), source.name)
