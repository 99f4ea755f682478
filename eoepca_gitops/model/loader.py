"""One loader for stack configuration, whether it comes from Pulumi's config or from a stack file.

Everything is validated here, before a single resource is registered: each bad input becomes one
ConfigError naming the file, the key and what is wrong. A credential in plain text is refused
first, anywhere in a stack's values and in a block (but a chart's own values), so that no later
message can quote it (eoepca_gitops.credentials).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from eoepca_gitops import yaml_io
from eoepca_gitops.credentials import find_plain_credential
from eoepca_gitops.errors import ConfigError
from eoepca_gitops.model import defaults
from eoepca_gitops.model.blocks import Block, BlockCatalog, BlockOverride, HelmRelease
from eoepca_gitops.model.references import check_references, missing_cluster_values
from eoepca_gitops.model.stack import NO_GIT_REF, Stack, StackConfig

__all__ = [
    "apply_override",
    "load_blocks",
    "load_stack",
    "refuse_plain_credentials",
    "without_chart_values",
]

# Keys of StackConfig that are read as Pulumi config keys; anything else at the top level is
# either a secret (referenced by name) or a mistake.
_MODEL_KEYS = (
    frozenset(
        {"cluster", "flux", "git", "charts", "buckets", "blocks", "overrides", "notifications", "variables"}
    )
    | {"clusterSecrets"}
    | {"await", "kubeconfig", "kubeContext", "driftExempt", "poller"}
)
# What a missing required key is for, said with the error.
_WHAT_IT_IS = {
    "git.url": "the URL of the Git repository holding this project's clusters/ folder, which Flux clones",
    "cluster.publicIp": "the cluster's public (ingress) IPv4 address",
}


def _key(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def refuse_plain_credentials(value: Any, file: str, prefix: str = "") -> None:
    """ConfigError naming the key of the first plain-text credential among `value`'s strings."""
    found = find_plain_credential(value)
    if found:
        key, kind = found
        raise ConfigError(
            file,
            prefix + key,
            f"holds credentials in plain text ({kind}): keep the credential in a secret "
            "(`pulumi config set --secret KEY ...`) and name that key, or reference a Kubernetes Secret",
        )


def without_chart_values(block: Any) -> Any:
    """A block file's content but its releases' `values`: a chart reads them as it likes (a default
    password there is the chart's business), everything else is the project's."""
    releases = block.get("helmReleases") if isinstance(block, dict) else None
    if not isinstance(releases, list):
        return block
    return {
        **block,
        "helmReleases": [
            {k: v for k, v in r.items() if k != "values"} if isinstance(r, dict) else r for r in releases
        ],
    }


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    message = err["msg"].removeprefix("Value error, ")
    key = _key(err["loc"]) or "(document)"
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    if err["type"] == "missing":
        message = "missing required key" + (f": {_WHAT_IT_IS[key]}" if key in _WHAT_IT_IS else "")
    return key, message


def load_blocks(blocks_dir: Path) -> dict[str, tuple[Block, str]]:
    """Every block declared under blocks_dir, by name, with the file that declares it."""
    found: dict[str, tuple[Block, str]] = {}
    for path in sorted(blocks_dir.glob("*.yaml")):
        raw = yaml_io.load_file(path)
        refuse_plain_credentials(without_chart_values(raw), str(path))
        try:
            block = Block.model_validate(raw)
        except ValidationError as exc:
            key, message = _first_error(exc)
            raise ConfigError(str(path), key, message) from None
        if block.name in found:
            raise ConfigError(
                str(path), "name", f"duplicate block name {block.name!r}, also in {found[block.name][1]}"
            )
        found[block.name] = (block, str(path))
    return found


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_override(block: Block, override: BlockOverride, file: str, key: str) -> Block:
    releases = {r.name: r for r in block.helm_releases}
    for name, change in override.releases.items():
        if name not in releases:
            raise ConfigError(
                file, f"{key}.releases.{name}", f"block {block.name!r} has no HelmRelease {name!r}"
            )
        if change.version and releases[name].whole_chart:
            raise ConfigError(
                file,
                f"{key}.releases.{name}.version",
                f"HelmRelease {name!r} takes its chart whole from its {releases[name].source_ref.kind}: "
                "no chart version to change",
            )
    new_releases: list[HelmRelease] = []
    for release in block.helm_releases:
        o = override.releases.get(release.name)
        # A suspended block is its Kustomization and every release; a release may say otherwise.
        suspend = release.suspend if override.suspend is None else override.suspend
        if o is not None and o.suspend is not None:
            suspend = o.suspend
        new_releases.append(
            release.model_copy(
                update={
                    "version": (o.version if o else None) or release.version,
                    "values": _deep_merge(release.values, o.values) if o else release.values,
                    "suspend": suspend,
                }
            )
        )
    update: dict[str, Any] = {"helm_releases": new_releases}
    k = block.kustomization
    if override.substitute and k is None:
        raise ConfigError(file, f"{key}.substitute", f"block {block.name!r} has no Kustomization")
    if k and (override.suspend is not None or override.interval or override.substitute):
        update["kustomization"] = k.model_copy(
            update={
                "suspend": k.suspend if override.suspend is None else override.suspend,
                "interval": override.interval or k.interval,
                "substitute": {**k.substitute, **override.substitute},
            }
        )
    return block.model_copy(update=update)


def _order(enabled: list[str], declared: dict[str, tuple[Block, str]], file: str) -> list[str]:
    """Enabled blocks with dependencies first; a dependency must be enabled too, and acyclic."""
    for name in enabled:
        for dep in declared[name][0].depends_on:
            if dep not in declared:
                raise ConfigError(declared[name][1], "dependsOn", f"unknown block {dep!r}")
            if dep not in enabled:
                raise ConfigError(
                    file,
                    f"{defaults.CONFIG_NAMESPACE}:blocks",
                    f"{name!r} depends on {dep!r}, which is not enabled",
                )
    ordered: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise ConfigError(declared[name][1], "dependsOn", f"dependency cycle: {cycle}")
        state[name] = "visiting"
        for dep in declared[name][0].depends_on:
            visit(dep, [*path, name])
        state[name] = "done"
        ordered.append(name)

    for name in enabled:
        visit(name, [])
    return ordered


def _kustomizations_once(blocks: list[Block], flux_ns: str, declared: dict[str, tuple[Block, str]]) -> None:
    """Each enabled block's Kustomization is its own object (`kustomization.name`/`namespace` may
    name it otherwise than the block)."""
    seen: dict[tuple[str, str], str] = {}
    for block in blocks:
        if block.kustomization:
            k = block.kustomization
            where = (k.namespace or flux_ns, k.name or block.name)
            if where in seen:
                raise ConfigError(
                    declared[block.name][1],
                    "kustomization.name",
                    f"Kustomization {where[0]}/{where[1]} is block {seen[where]}'s too",
                )
            seen[where] = block.name


def load_stack(
    name: str,
    values: Mapping[str, Any],
    secret_keys: Iterable[str],
    file: str,
    blocks_dir: Path,
    project: Path | None = None,
    *,
    references: bool = True,
    offline: bool = False,
) -> Stack:
    """Validate a stack's config values (keys without the project namespace) against the catalog.

    Paths in the values (kubeconfig) are relative to `project` (default: the project that holds
    blocks_dir as clusters/blocks), the same in a checkout, a poller's worktree and CI.
    `references=False` leaves out the checks that the stack sets what its blocks use (new-cluster
    writes a stack that does not yet, and lists what to set). `offline=True` (render, diff: nothing
    deploys) lets what only the cluster's operators know be missing (the public IP, the Git URL and
    ref, a secret, a cluster value a block uses), each noted in Stack.unset with a placeholder value;
    otherwise (the Pulumi program) the first is refused.
    """
    config = _resolve_poller(_validated_config(values, file), name, file)
    secrets, unset_secrets = _secrets(config, values, set(secret_keys), file)
    unset = [*_unset_required(config), *unset_secrets]
    if unset and not offline:
        raise ConfigError(file, *unset[0])
    _refuse_unknown(values, config, file)
    blocks = _enabled_blocks(config, blocks_dir, file)
    if references:
        config = _check_references(config, blocks, unset, file, offline=offline)
    updates: dict[str, Any] = {"secrets": secrets}
    if config.kubeconfig:
        updates["kubeconfig"] = str(_kubeconfig(config.kubeconfig, project or blocks_dir.parents[1], file))
    config = config.model_copy(update=updates)
    return Stack(name=name, file=file, config=config, catalog=BlockCatalog(blocks=blocks), unset=tuple(unset))


def _validated_config(values: Mapping[str, Any], file: str) -> StackConfig:
    """The stack's model keys, validated: credentials in plain text refused first."""
    ns = defaults.CONFIG_NAMESPACE
    model_values = {k: v for k, v in values.items() if k in _MODEL_KEYS}
    refuse_plain_credentials(model_values, file, f"{ns}:")
    for required in ("cluster", "git"):
        if required not in model_values:
            raise ConfigError(file, f"{ns}:{required}", "missing required key")
    try:
        return StackConfig.model_validate(model_values)
    except ValidationError as exc:
        key, message = _first_error(exc)
        raise ConfigError(file, f"{ns}:{key}", message) from None


def _resolve_poller(config: StackConfig, name: str, file: str) -> StackConfig:
    """What the poller follows defaults to what the stack follows: resolved once, here."""
    if not config.poller:
        return config
    ns = defaults.CONFIG_NAMESPACE
    if not (config.poller.git_url or config.git.url):
        raise ConfigError(
            file, f"{ns}:git.url", "not set, and the poller follows it: set it (or poller.gitUrl)"
        )
    branch = config.poller.branch or config.git.branch
    if not branch:
        raise ConfigError(file, f"{ns}:poller.branch", "the poller tracks a branch and git names none")
    resolved = {
        "git_url": config.poller.git_url or config.git.url,
        "branch": branch,
        "stacks": config.poller.stacks or [name],
    }
    return config.model_copy(update={"poller": config.poller.model_copy(update=resolved)})


def _unset_required(config: StackConfig) -> list[tuple[str, str]]:
    """(key, what is wrong) for each required key only the cluster's operators know and the stack
    does not set."""
    ns = defaults.CONFIG_NAMESPACE
    unset: list[tuple[str, str]] = []
    if config.cluster.public_ip is None:
        unset.append((f"{ns}:cluster.publicIp", f"missing required key: {_WHAT_IT_IS['cluster.publicIp']}"))
    if config.git.url is None:
        unset.append((f"{ns}:git.url", f"missing required key: {_WHAT_IT_IS['git.url']}"))
        if not config.git.ref():
            unset.append((f"{ns}:git", NO_GIT_REF))
    return unset


def _secrets(
    config: StackConfig, values: Mapping[str, Any], secret_keys: set[str], file: str
) -> tuple[dict[str, SecretStr], list[tuple[str, str]]]:
    """Each secret the stack names, by key, and (key, what is wrong) for each it does not set (a
    placeholder stands in); one given in plain text is refused."""
    ns = defaults.CONFIG_NAMESPACE
    secrets: dict[str, SecretStr] = {}
    unset: list[tuple[str, str]] = []
    for key, referrer in config.secret_refs():
        if key not in values:
            missing = (
                f"missing secret (named by {referrer}); set it with `pulumi config set --secret {key} ...`"
            )
            unset.append((f"{ns}:{key}", missing))
            secrets[key] = SecretStr(f"<secret {key} unset>")
            continue
        if key not in secret_keys:
            raise ConfigError(
                file,
                f"{ns}:{key}",
                "given in plain text where a secret is required; set it with "
                f"`pulumi config set --secret {key} ...`",
            )
        secrets[key] = SecretStr(str(values[key]))
    return secrets, unset


def _refuse_unknown(values: Mapping[str, Any], config: StackConfig, file: str) -> None:
    unknown = sorted(set(values) - _MODEL_KEYS - {key for key, _ in config.secret_refs()})
    if unknown:
        raise ConfigError(
            file,
            f"{defaults.CONFIG_NAMESPACE}:{unknown[0]}",
            f"unknown key (known: {', '.join(sorted(_MODEL_KEYS))})",
        )


def _enabled_blocks(config: StackConfig, blocks_dir: Path, file: str) -> list[Block]:
    """The blocks the stack enables, declared under blocks_dir, overridden as the stack says, with
    dependencies first."""
    ns = defaults.CONFIG_NAMESPACE
    declared = load_blocks(blocks_dir)
    for i, block_name in enumerate(config.blocks):
        if block_name not in declared:
            raise ConfigError(
                file,
                f"{ns}:blocks[{i}]",
                f"unknown building block {block_name!r} "
                f"(declared in {blocks_dir}: {', '.join(sorted(declared))})",
            )
    if len(set(config.blocks)) != len(config.blocks):
        dup = next(b for b in config.blocks if config.blocks.count(b) > 1)
        raise ConfigError(file, f"{ns}:blocks", f"duplicate block name {dup!r}")
    for block_name in config.overrides:
        if block_name not in config.blocks:
            raise ConfigError(
                file, f"{ns}:overrides.{block_name}", "override for a block that is not enabled"
            )
    blocks = [
        apply_override(declared[b][0], config.overrides[b], file, f"{ns}:overrides.{b}")
        if b in config.overrides
        else declared[b][0]
        for b in _order(config.blocks, declared, file)
    ]
    _kustomizations_once(blocks, config.flux.namespace, declared)
    return blocks


def _check_references(
    config: StackConfig, blocks: list[Block], unset: list[tuple[str, str]], file: str, *, offline: bool
) -> StackConfig:
    """The stack sets what its blocks use; offline, a value it does not set yet stands in as
    `<unset KEY>` and is added to `unset`."""
    if offline:
        # An offline view shows what a value the stack does not set yet would be used for.
        not_set = missing_cluster_values(config, blocks)
        placeholders = {name: f"<unset {key}>" for name, (key, _) in not_set.items()}
        if placeholders:
            config = config.model_copy(update={"cluster": config.cluster.with_placeholders(placeholders)})
        for key, problem in not_set.values():  # one line per key, not per variable of it
            if all(key != k for k, _ in unset):
                unset.append((key, problem))
    check_references(config, blocks, file)
    return config


def _kubeconfig(value: str, project: Path, file: str) -> Path:
    path = project / Path(value).expanduser()  # an absolute path stays as it is
    if not path.is_file():
        raise ConfigError(
            file,
            f"{defaults.CONFIG_NAMESPACE}:kubeconfig",
            f"{path}: no such file (a path in a stack file is relative to the project folder {project}; "
            "to use $KUBECONFIG leave the key out, or name a context with kubeContext)",
        )
    return path.resolve()
