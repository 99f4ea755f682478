"""The loader's own rules, as literal facts: how a validation error is named, how an override's
values merge into a release's (eoepca_gitops.model.loader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.model import load_stack
from eoepca_gitops.model.blocks import Block, BlockOverride
from eoepca_gitops.model.loader import apply_override, load_blocks
from eoepca_gitops.project import load_stack_file
from tests.helpers import values

SOURCE = {"name": "charts", "namespace": "flux-system"}


def _block_error(tmp_path: Path, text: str) -> ConfigError:
    (tmp_path / "b.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_blocks(tmp_path)
    return info.value


def test_a_block_file_that_is_not_a_mapping_is_named_the_document(tmp_path: Path) -> None:
    error = _block_error(tmp_path, "- name: a\n- name: b\n")
    assert (error.key, error.message) == (
        "(document)",
        "Input should be a valid dictionary or instance of Block",
    )


def test_a_key_the_model_does_not_know_is_an_unknown_key(tmp_path: Path) -> None:
    error = _block_error(tmp_path, "name: web\nhelmRelease: []\n")
    assert (error.file, error.key, error.message) == (str(tmp_path / "b.yaml"), "helmRelease", "unknown key")


def test_a_missing_key_says_what_it_is_for_when_that_is_known(tmp_path: Path) -> None:
    v = values()
    del v["cluster"]["name"]
    with pytest.raises(ConfigError) as info:
        load_stack("test", v, set(), "Pulumi.test.yaml", tmp_path)
    assert (info.value.key, info.value.message) == ("eoepca-gitops:cluster.name", "missing required key")
    v = values()
    del v["cluster"]["publicIp"]
    with pytest.raises(ConfigError) as info:
        load_stack("test", v, set(), "Pulumi.test.yaml", tmp_path)
    assert (info.value.key, info.value.message) == (
        "eoepca-gitops:cluster.publicIp",
        "missing required key: the cluster's public (ingress) IPv4 address",
    )


def _release_block() -> Block:
    return Block.model_validate(
        {
            "name": "web",
            "helmReleases": [
                {
                    "name": "site",
                    "namespace": "web",
                    "chart": "site",
                    "version": "1.0.0",
                    "sourceRef": SOURCE,
                    "values": {"ingress": {"host": "a.org", "tls": True}, "list": [1, 2], "replicas": 1},
                }
            ],
        }
    )


def test_override_values_merge_deeply_and_replace_what_is_no_mapping_on_both_sides() -> None:
    override = BlockOverride.model_validate(
        {
            "releases": {
                "site": {"values": {"ingress": {"host": "b.org"}, "list": [3], "replicas": {"min": 2}}}
            }
        }
    )
    merged = apply_override(_release_block(), override, "Pulumi.test.yaml", "overrides.web")
    assert merged.helm_releases[0].values == {
        "ingress": {"host": "b.org", "tls": True},
        "list": [3],
        "replicas": {"min": 2},
    }
    flat = BlockOverride.model_validate({"releases": {"site": {"values": {"ingress": "off"}}}})
    assert apply_override(_release_block(), flat, "f", "k").helm_releases[0].values["ingress"] == "off"


def test_merged_values_share_nothing_with_the_blocks_own() -> None:
    block = _release_block()
    override = BlockOverride.model_validate({"releases": {"site": {"values": {"replicas": 3}}}})
    merged = apply_override(block, override, "Pulumi.test.yaml", "overrides.web").helm_releases[0].values
    merged["ingress"]["host"] = "changed.org"
    merged["list"].append(9)
    assert block.helm_releases[0].values == {
        "ingress": {"host": "a.org", "tls": True},
        "list": [1, 2],
        "replicas": 1,
    }


def test_a_stack_file_is_read_without_the_engine(tmp_path: Path) -> None:
    blocks = tmp_path / "clusters" / "blocks"
    blocks.mkdir(parents=True)
    (blocks / "web.yaml").write_text("name: web\n")
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\n")
    (tmp_path / "Pulumi.dev-eu.yaml").write_text(
        "config:\n"
        "  aws:region: eu-central-1\n"  # another namespace: not the stack's
        "  eoepca-gitops:cluster: {name: dev, publicIp: 10.0.0.1}\n"
        "  eoepca-gitops:git: {url: 'ssh://git@example.org/gitops.git', branch: main,\n"
        "    auth: {type: ssh, knownHosts: 'example.org ssh-ed25519 AAAA'}}\n"
        "  eoepca-gitops:flux: {version: v2.9.3}\n"
        "  eoepca-gitops:blocks: [web]\n"
        "  eoepca-gitops:kubeconfig: kubeconfig\n"  # relative to the stack file's folder
        "  eoepca-gitops:gitSshPrivateKey: {secure: v1:AAAA}\n"
    )
    stack = load_stack_file(tmp_path / "Pulumi.dev-eu.yaml", blocks)
    assert stack.name == "dev-eu"
    assert stack.config.kubeconfig == str((tmp_path / "kubeconfig").resolve())
    assert {k: v.get_secret_value() for k, v in stack.config.secrets.items()} == {
        "gitSshPrivateKey": "<secret gitSshPrivateKey>"  # encrypted: never read
    }
    assert [b.name for b in stack.catalog.blocks] == ["web"]


@pytest.mark.parametrize("text", ["", "- config\n", "config: [a]\n", "other: {}\n"])
def test_a_stack_file_needs_a_config_mapping(tmp_path: Path, text: str) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_stack_file(tmp_path / "Pulumi.x.yaml", tmp_path)
    assert (info.value.file, info.value.key, info.value.message) == (
        str(tmp_path / "Pulumi.x.yaml"),
        "config",
        "a stack file needs a 'config:' mapping",
    )


def test_an_overrides_values_are_copied_too() -> None:
    override = BlockOverride.model_validate({"releases": {"site": {"values": {"extra": {"a": [1]}}}}})
    merged = apply_override(_release_block(), override, "f", "k").helm_releases[0].values
    merged["extra"]["a"].append(2)
    assert override.releases["site"].values == {"extra": {"a": [1]}}


def test_a_suspended_block_suspends_its_releases_unless_a_release_says_otherwise() -> None:
    block = Block.model_validate(
        {
            "name": "web",
            "helmReleases": [
                {"name": n, "namespace": "web", "chart": n, "version": "1.0.0", "sourceRef": SOURCE}
                for n in ("site", "api")
            ],
        }
    )
    override = BlockOverride.model_validate({"suspend": True, "releases": {"api": {"suspend": False}}})
    merged = apply_override(block, override, "f", "k")
    assert [(r.name, r.suspend) for r in merged.helm_releases] == [("site", True), ("api", False)]


def test_a_whole_chart_has_no_version_to_override() -> None:
    block = Block.model_validate(
        {
            "name": "web",
            "helmReleases": [
                {"name": "site", "namespace": "web", "sourceRef": {"kind": "OCIRepository", "name": "site"}}
            ],
        }
    )
    override = BlockOverride.model_validate({"releases": {"site": {"version": "2.0.0"}}})
    with pytest.raises(ConfigError) as info:
        apply_override(block, override, "Pulumi.test.yaml", "eoepca-gitops:overrides.web")
    assert (info.value.file, info.value.key, info.value.message) == (
        "Pulumi.test.yaml",
        "eoepca-gitops:overrides.web.releases.site.version",
        "HelmRelease 'site' takes its chart whole from its OCIRepository: no chart version to change",
    )


def test_variables_for_a_block_without_a_kustomization_are_refused() -> None:
    override = BlockOverride.model_validate({"substitute": {"replicas": "2"}})
    with pytest.raises(ConfigError) as info:
        apply_override(_release_block(), override, "Pulumi.test.yaml", "eoepca-gitops:overrides.web")
    assert (info.value.file, info.value.key, info.value.message) == (
        "Pulumi.test.yaml",
        "eoepca-gitops:overrides.web.substitute",
        "block 'web' has no Kustomization",
    )
