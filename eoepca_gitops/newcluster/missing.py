"""What a stack still needs before `pulumi preview` accepts it, each as a checklist step: the stack
initialised with the project's secrets provider, every key it leaves unset (Stack.unset, as the
loader with offline=False would refuse them), and every Secret an object reads from the cluster
(a HelmRelease's valuesFrom) that neither the stack nor its Git layer provides (the upgrade gate's
refusal, eoepca_gitops.flux_layer).

`new-cluster` ends with these steps for the stack it wrote, and `new-cluster --check` prints those
left: one source for both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_layer import Reference, build_flux_layer, missing_references
from eoepca_gitops.manifests.prepared import Prepared, prepare
from eoepca_gitops.model import defaults
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.newcluster.checklist import Blank, Option, Step, blank_name, command
from eoepca_gitops.newcluster.copy import secret_key_name
from eoepca_gitops.project import stack_file_name

__all__ = ["ENV", "initialised", "missing_steps", "secret_command", "set_command", "stack_references"]

NS = defaults.CONFIG_NAMESPACE
#: What the commands of a checklist read from the environment (never from their command line).
ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG")
# Top-level keys Pulumi writes at `pulumi stack init`, one per kind of secrets provider.
_PROVIDER_STATE = ("encryptionsalt", "encryptedkey", "secretsprovider")


def initialised(raw: Mapping[str, Any]) -> bool:
    """Whether `pulumi stack init` has given the stack file its secrets provider."""
    return any(k in raw for k in _PROVIDER_STATE)


def set_command(stack: str, path: str, value: str | Blank) -> str:
    return command("pulumi", "config", "set", "--stack", stack, "--path", path, value)


def secret_command(stack: str, key: str, file: Blank) -> str:
    return f"{command('pulumi', 'config', 'set', '--stack', stack, '--secret', key)} < {file}"


def _file_blank(key: str, what: str) -> Blank:
    return Blank(blank_name(key, "file"), f"a file holding {what} (read as it is, a final newline included)")


def _init(stack: str) -> Step:
    return Step(
        "init",
        f"The stack {stack} on the backend of $PULUMI_BACKEND_URL, its secrets encrypted with "
        f"$PULUMI_CONFIG_PASSPHRASE (the passphrase provider, as every stack of this project; Pulumi "
        f"writes its salt into {stack_file_name(stack)}, keeping the rest as it is):",
        (command("pulumi", "stack", "init", stack, "--secrets-provider", "passphrase"),),
        required=True,
        env=ENV,
    )


def _git_auth(stack: Stack, key: str, problem: str) -> Step:
    name = stack.name
    auth = stack.config.git.auth
    ssh = _file_blank(auth.ssh_private_key_secret, "the SSH private key of a read-only deploy key")
    token = _file_blank(auth.password_secret, "the password or token Flux reads the repository with")
    user = Blank("GIT_USERNAME", "the user the token belongs to")
    known = " (git.auth.knownHosts holds the host keys of the source's Git host)" if auth.known_hosts else ""
    options = {
        "ssh": Option(
            "ssh",
            f"an ssh:// git.url and its deploy key{known}:",
            (secret_command(name, auth.ssh_private_key_secret, ssh),),
            (ssh,),
        ),
        "https": Option(
            "https",
            "an https:// git.url read with a user and a token:",
            (
                set_command(name, "git.auth.type", "https"),
                set_command(name, "git.auth.username", user),
                secret_command(name, auth.password_secret, token),
            ),
            (user, token),
        ),
        "none": Option(
            "none",
            "a repository Flux reads without credentials (a public one, a Git server of the cluster's):",
            (set_command(name, "git.auth.type", "none"),),
        ),
    }
    first = options.pop(auth.type)
    return Step(
        "git-auth",
        f"Git credentials: {key}: {problem}. One of:",
        required=True,
        options=(first, *options.values()),
    )


def _unset_step(stack: Stack, key: str, problem: str) -> Step:
    short = key.removeprefix(f"{NS}:")
    secrets = dict(stack.config.secret_refs())
    if short in secrets:
        file = _file_blank(short, f"the value of the secret {short} ({secrets[short]})")
        text = f"{short}: {problem}:"
        for made in stack.config.cluster_secrets:
            for data_key, key_ in made.data.items():
                if key_ == short:  # named like the sealed secret it stands for
                    secret = f"Secret {made.namespace}/{made.name}"
                    file = Blank(
                        blank_name(made.name, data_key, "file"), f"a file holding the {data_key} of {secret}"
                    )
                    text = f"{short}: the {data_key} of the {secret} the stack makes (clusterSecrets):"
        return Step(f"secret:{short}", text, (secret_command(stack.name, short, file),), (file,), True)
    path = "git.branch" if short == "git" else short  # no ref: the branch is the usual one
    value = Blank(blank_name(*path.removeprefix("cluster.").split(".")), f"{path}: {problem}")
    return Step(f"set:{path}", f"{path}: {problem}:", (set_command(stack.name, path, value),), (value,), True)


def _reference_step(stack: Stack, ref: Reference, index: int) -> Step:
    if ref.kind != "Secret":
        return Step(
            f"reads:{ref.namespace}/{ref.name}",
            f"{ref.reader} reads {ref} (valuesFrom), which neither the stack nor its Git layer provides: "
            f"add it to clusters/{stack.name}/<block>/ and set git.path ./clusters/{stack.name} "
            "(clusters/README.md).",
            required=True,
        )
    key = secret_key_name(ref.name, ref.key, several=False)
    file = _file_blank(key, f"the {ref.key} of the Secret {ref.namespace}/{ref.name}")
    at = f"clusterSecrets[{index}]"
    return Step(
        f"reads:{ref.namespace}/{ref.name}",
        f"{ref.reader} reads {ref} ({ref.key}), which neither the stack nor its Git layer provides: "
        "the stack makes it from its secret key " + key + ":",
        (
            set_command(stack.name, f"{at}.name", ref.name),
            set_command(stack.name, f"{at}.namespace", ref.namespace),
            set_command(stack.name, f'{at}.data["{ref.key}"]', key),
            secret_command(stack.name, key, file),
        ),
        (file,),
        True,
    )


def missing_steps(stack: Stack, *, initialised: bool, references: Iterable[Reference] = ()) -> list[Step]:
    """The steps without which `pulumi preview` refuses the stack, in the order to do them."""
    steps = [] if initialised else [_init(stack.name)]
    auth = stack.config.git.auth
    auth_secret = {"ssh": auth.ssh_private_key_secret, "https": auth.password_secret}.get(auth.type)
    for key, problem in stack.unset:
        if key == f"{NS}:{auth_secret}":
            steps.append(_git_auth(stack, key.removeprefix(f"{NS}:"), problem))
        else:
            steps.append(_unset_step(stack, key, problem))
    index = len(stack.config.cluster_secrets)
    for ref in (r for r in references if r.required):
        steps.append(_reference_step(stack, ref, index))
        index += ref.kind == "Secret"
    return steps


def stack_references(
    stack: Stack, project: Path, warn: Callable[[str], None]
) -> tuple[Prepared, list[Reference]]:
    """The stack as built, and what its objects and its Git layer read from the cluster that neither
    provides (none when the Git layer does not build here: said through `warn`)."""
    prepared = prepare(stack, project)
    try:
        layer = build_flux_layer(prepared.manifests, project)
    except GitopsError as exc:
        warn(f"Git layer not checked: it does not build in {project}: {exc}")
        return prepared, []
    return prepared, missing_references(prepared.manifests, layer)
