"""The new stack file, made from the source's text: what is the same for every cluster of the
project is kept as written (comments, key order, quoting), what is a cluster's own is not.

Kept: the Flux version and patches, the Git repository, ref and auth, the blocks, overrides,
notifications, variables, awaits. Replaced: the name, IP and domain (the command line's). Dropped:
the cluster's infrastructure (NFS, EO data, object store), which cluster it is (kubeconfig,
kubeContext), its secrets and secrets provider state (encrypted with its passphrase), and its own
Git folder (clusters/<source>/: its sealed secrets, sealed with its key) for the shared one. Each
change says so in a comment where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import ConfigError
from eoepca_gitops.model import defaults
from eoepca_gitops.newcluster import roundtrip
from eoepca_gitops.newcluster.checklist import possessive
from eoepca_gitops.project import check_secure_values, is_secure

__all__ = ["OWN_CLUSTER_KEYS", "StackCopy", "add_cluster_secrets", "copy_stack", "secret_key_name"]

NS = defaults.CONFIG_NAMESPACE
#: A cluster's own infrastructure, which the blocks use as ${nfs_server}, ...: never another's.
OWN_CLUSTER_KEYS = ("nfs", "eoData", "objectStore")
# Which cluster a stack deploys to.
_WHICH_CLUSTER = ("kubeconfig", "kubeContext")
# A stack's secrets provider state (Pulumi writes the new stack's at `pulumi stack init`).
_PROVIDER_STATE = ("encryptionsalt", "encryptedkey", "secretsprovider")


@dataclass(frozen=True)
class StackCopy:
    """The new stack file's document (dump it with roundtrip.dump) and what was left behind."""

    document: CommentedMap
    secrets: tuple[str, ...]  # the source's secure keys (without the namespace), not copied
    own_folder: str | None  # clusters/<source>, when the source applied it and the copy does not


def _config(raw: Any, file: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(file, "(document)", "a stack file is a mapping with a 'config:' mapping")
    config = raw.get("config")
    if not isinstance(config, dict):
        raise ConfigError(file, "config", "a stack file needs a 'config:' mapping")
    check_secure_values(config, file)
    return config


def _edit_cluster(
    cluster: CommentedMap, source: str, name: str, ip: str, domain: str | None, dashed: str
) -> None:
    """The name, IP and domain are the new cluster's, its infrastructure is not the source's (the
    last key first: each note stays above what follows it)."""
    for key in reversed(list(cluster)):
        old = cluster[key]
        if key in OWN_CLUSTER_KEYS:
            roundtrip.drop(
                cluster,
                key,
                f"new-cluster: {possessive(source)} {key} dropped (its own infrastructure): "
                f"set {possessive(name)}",
            )
        elif key == "domain" and domain is None:
            roundtrip.drop(
                cluster,
                key,
                f"new-cluster: {possessive(source)} domain {old} dropped: {possessive(name)} hosts are "
                f"under {dashed}.nip.io "
                "until cluster.domain is set",
            )
    for key, value in (("domain", domain), ("publicIp", ip), ("name", name)):
        if key in cluster and value is not None:
            roundtrip.replace(cluster, key, value, f"new-cluster: {possessive(name)} (was {cluster[key]})")
    for key, value in (("name", name), ("publicIp", ip), ("domain", domain)):
        if key not in cluster and value is not None:
            at = list(cluster).index("publicIp") + 1 if key == "domain" else len(cluster)
            cluster.insert(at, key, value)


def copy_stack(text: str, file: str, source: str, name: str, ip: str, domain: str | None) -> StackCopy:
    """The new stack `name` from the source stack file's text (read by yaml_io first)."""
    config = _config(yaml_io.load(text), file)
    document = roundtrip.load(text, file)
    rt_config: CommentedMap = document["config"]
    secrets = tuple(str(k).split(":", 1)[-1] for k, v in config.items() if is_secure(v))
    for key in reversed(list(rt_config)):
        short = str(key).removeprefix(f"{NS}:")
        if is_secure(config[key]):
            roundtrip.drop(
                rt_config,
                key,
                f"new-cluster: {possessive(source)} secret {short} dropped (encrypted with its passphrase): "
                f"set {possessive(name)} with `pulumi config set --secret`",
            )
        elif key in {f"{NS}:{k}" for k in _WHICH_CLUSTER}:
            roundtrip.drop(
                rt_config,
                key,
                f"new-cluster: {possessive(source)} {short} dropped (it names {possessive(source)} cluster): "
                f"{name} uses $KUBECONFIG until kubeconfig or kubeContext names its own",
            )
    for key in reversed([k for k in document if k in _PROVIDER_STATE]):
        roundtrip.drop(
            document,
            key,
            f"new-cluster: {possessive(source)} {key} dropped (its secrets provider's): "
            f"`pulumi stack init {name} --secrets-provider passphrase` writes {possessive(name)}",
        )
    cluster = rt_config.get(f"{NS}:cluster")
    if cluster is None:
        cluster = rt_config[f"{NS}:cluster"] = CommentedMap()
    if not isinstance(cluster, CommentedMap):
        raise ConfigError(file, f"{NS}:cluster", "not a mapping")
    _edit_cluster(cluster, source, name, ip, domain, ip.replace(".", "-"))
    git = rt_config.get(f"{NS}:git")
    own_folder = f"./clusters/{source}"
    switched = isinstance(git, CommentedMap) and git.get("path") == own_folder
    if switched:
        roundtrip.replace(
            git,
            "path",
            defaults.GIT_PATH,
            f"new-cluster: was {own_folder}, {possessive(source)} own objects (secrets sealed with its key): "
            f"{name} applies the shared manifests until it has its own folder (see the checklist)",
        )
    roundtrip.head(
        document,
        f"Cluster {name}, made by `eoepca-gitops new-cluster {name} --from {source}`. The comments are\n"
        f"{possessive(source)}, but where a `new-cluster:` note says what changed.\n",
    )
    return StackCopy(document, secrets, own_folder.removeprefix("./") if switched else None)


def secret_key_name(secret: str, data_key: str, several: bool) -> str:
    """The stack's secret config key holding one data key of a Secret the stack makes
    (cache-access-secret -> cacheAccessSecret; several keys: cacheAccessSecretValuesYaml)."""
    words = re.split(r"[^a-zA-Z0-9]+", f"{secret} {data_key}" if several else secret)
    return "".join(w if i == 0 else w[:1].upper() + w[1:] for i, w in enumerate(w for w in words if w))


def add_cluster_secrets(copy: StackCopy, made: list[dict[str, Any]], note: str) -> None:
    """Appends Secrets the stack makes (clusterSecrets entries) to the copy, `note` above them."""
    rt_config: CommentedMap = copy.document["config"]
    key = f"{NS}:clusterSecrets"
    existing = rt_config.get(key)
    if existing is not None:
        existing.extend(made)
        return
    roundtrip.append(rt_config, key, made, note, column=2)
