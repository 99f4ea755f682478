"""The typed model: one clear error per bad input, naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.model import load_stack
from tests.helpers import BASE_VALUES, FIXTURE_BLOCKS, values

FILE = "Pulumi.test.yaml"


def load(v: dict[str, Any], secret_keys: tuple[str, ...] = (), blocks: Path = FIXTURE_BLOCKS) -> Any:
    return load_stack("test", v, secret_keys, FILE, blocks)


def error(v: dict[str, Any], **kw: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(v, **kw)
    assert info.value.file.endswith((FILE, ".yaml"))
    return info.value


def test_valid_stack_orders_blocks_by_dependency() -> None:
    stack = load(values(blocks=["portal", "base"]))
    assert [b.name for b in stack.catalog.blocks] == ["base", "portal"]
    assert stack.config.cluster.host_domain == "10-0-0-1.nip.io"


def test_domain_given_wins_over_nip_io() -> None:
    stack = load(values(cluster={"name": "t", "publicIp": "10.0.0.1", "domain": "develop.eoepca.org"}))
    assert stack.config.cluster.variables()["domain"] == "develop.eoepca.org"


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"cluster": None}, "eoepca-gitops:cluster", "missing required key"),
        ({"cluster": {"name": "t"}}, "eoepca-gitops:cluster.publicIp", "missing required key"),
        ({"cluster": {"name": "t", "publicIp": "300.1.2.3"}}, "eoepca-gitops:cluster.publicIp", "IPv4"),
        (
            {"cluster": {"name": "t", "publicIp": "10.0.0.1", "domain": "not a domain"}},
            "eoepca-gitops:cluster.domain",
            "not a DNS name",
        ),
        ({"blocks": ["base", "nope"]}, "eoepca-gitops:blocks[1]", "unknown building block 'nope'"),
        ({"blocks": ["base", "base"]}, "eoepca-gitops:blocks", "duplicate block name 'base'"),
        ({"blocks": ["base", "portal", "portal"]}, "eoepca-gitops:blocks", "duplicate block name 'portal'"),
        ({"blocks": ["portal"]}, "eoepca-gitops:blocks", "depends on 'base', which is not enabled"),
        (
            {"git": {"url": "https://example.org/g.git", "branch": "main", "interval": "1 minute"}},
            "eoepca-gitops:git.interval",
            "not a Go duration",
        ),
        (
            {"git": {"url": "https://example.org/g.git", "branch": "main", "tag": "v1"}},
            "eoepca-gitops:git",
            "not branch and tag",
        ),
        (
            {"flux": {"components": ["source-controller", "nope-controller"]}},
            "eoepca-gitops:flux.components[1]",
            "Input should be",
        ),
        (
            {"flux": {"patches": {"image-reflector-controller": {"args": ["--concurrent=4"]}}}},
            "eoepca-gitops:flux",
            "no such controller is installed",
        ),
        (
            {"overrides": {"portal": {"releases": {"nope": {"version": "1"}}}}},
            "eoepca-gitops:overrides.portal.releases.nope",
            "no HelmRelease 'nope'",
        ),
        ({"colour": "blue"}, "eoepca-gitops:colour", "unknown key"),
    ],
)
def test_bad_input_names_file_key_and_problem(change: dict[str, Any], key: str, words: str) -> None:
    err = error(values(**change))
    assert err.file == FILE
    assert err.key == key
    assert words in err.message


def test_secret_in_plain_text_is_refused() -> None:
    v = values(git={"url": "ssh://git@example.org/x", "branch": "main", "auth": {"type": "ssh"}})
    v["gitSshPrivateKey"] = "-----BEGIN OPENSSH PRIVATE KEY-----"
    err = error(v)
    assert err.key == "eoepca-gitops:gitSshPrivateKey"
    assert "plain text where a secret is required" in err.message
    assert "BEGIN" not in str(err)
    stack = load(v, secret_keys=("gitSshPrivateKey",))
    assert "BEGIN" not in repr(stack)


def _write_blocks(tmp_path: Path, *docs: str) -> Path:
    for i, doc in enumerate(docs):
        (tmp_path / f"b{i}.yaml").write_text(doc)
    return tmp_path


def test_chart_version_missing(tmp_path: Path) -> None:
    blocks = _write_blocks(
        tmp_path, "name: x\nhelmReleases:\n  - {name: r, namespace: n, chart: c, sourceRef: {name: s}}\n"
    )
    err = error(values(blocks=["x"]), blocks=blocks)
    assert err.file.endswith("b0.yaml")
    assert err.key == "helmReleases[0].version"


def test_dependency_on_unknown_block_and_cycles(tmp_path: Path) -> None:
    blocks = _write_blocks(tmp_path, "name: x\ndependsOn: [ghost]\n")
    assert "unknown block 'ghost'" in error(values(blocks=["x"]), blocks=blocks).message
    cyc = tmp_path / "cyc"
    cyc.mkdir()
    _write_blocks(cyc, "name: x\ndependsOn: [y]\n", "name: y\ndependsOn: [x]\n")
    err = error(values(blocks=["x", "y"]), blocks=cyc)
    assert "dependency cycle: x -> y -> x" in err.message


def test_duplicate_block_declaration(tmp_path: Path) -> None:
    blocks = _write_blocks(tmp_path, "name: x\n", "name: x\n")
    err = error(values(blocks=["x"]), blocks=blocks)
    assert "duplicate block name 'x'" in err.message


def test_base_values_are_untouched() -> None:
    assert BASE_VALUES["blocks"] == ["base", "portal"]


def test_blocks_come_after_their_dependencies_each_once(tmp_path: Path) -> None:
    blocks = _write_blocks(
        tmp_path,
        "name: apps\ndependsOn: [base, infra]\n",
        "name: infra\ndependsOn: [base]\n",
        "name: base\n",
        "name: tools\n",
    )
    stack = load(values(blocks=["apps", "tools", "infra", "base"]), blocks=blocks)
    assert [b.name for b in stack.catalog.blocks] == ["base", "infra", "apps", "tools"]
    assert stack.catalog.get("infra").depends_on == ["base"]
    with pytest.raises(KeyError, match="ghost"):
        stack.catalog.get("ghost")


def test_dependency_errors_name_the_file_the_key_and_the_blocks(tmp_path: Path) -> None:
    blocks = _write_blocks(tmp_path, "name: x\ndependsOn: [ghost]\n")
    err = error(values(blocks=["x"]), blocks=blocks)
    assert (err.file, err.key, err.message) == (
        str(tmp_path / "b0.yaml"),
        "dependsOn",
        "unknown block 'ghost'",
    )
    off = tmp_path / "off"
    off.mkdir()
    _write_blocks(off, "name: x\ndependsOn: [y]\n", "name: y\n")
    err = error(values(blocks=["x"]), blocks=off)
    assert (err.file, err.key, err.message) == (
        "Pulumi.test.yaml",
        "eoepca-gitops:blocks",
        "'x' depends on 'y', which is not enabled",
    )
    cyc = tmp_path / "cyc"
    cyc.mkdir()
    _write_blocks(cyc, "name: a\ndependsOn: [b]\n", "name: b\ndependsOn: [c]\n", "name: c\ndependsOn: [b]\n")
    err = error(values(blocks=["a", "b", "c"]), blocks=cyc)
    assert (err.file, err.key, err.message) == (
        str(cyc / "b1.yaml"),
        "dependsOn",
        "dependency cycle: b -> c -> b",
    )
