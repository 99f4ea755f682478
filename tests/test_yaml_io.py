"""The one YAML loader of user files: what it refuses (with file and line) and what it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import ConfigError
from tests.outside_data import FLUX_VERSIONS, install_manifest

_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
)


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (_BOMB, "line 5,", "aliases expand to more than 10000 nodes"),
        ("a: &a [1, *a]\n", "line 1,", "alias *a refers to its own anchor"),
        ("[" * 50_000 + "]" * 50_000, "line 1, column 101", "nested deeper than 100 levels"),
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1", "key 'a' given twice (first on line 1)"),
        ("m:\n  x: 1\n  'x': 2\n", "line 3,", "key 'x' given twice"),
        ("config:\n  encryptionsalt: v1:abc\n  b: x: y\n", "line 3, column 7", "quoted"),
        ("a:\n\tb: 1\n", "line 2, column 1", "spaces, not tabs"),
        ("a: *nothing\n", "line 1,", "quote a value that begins with it"),
        ("a: b\x07c\n", "line 1, column 5", "U+0007 is not allowed"),
        ("? [1, 2]\n: x\n", "line 1,", "unhashable key"),
    ],
)
def test_refused_with_file_and_line(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        yaml_io.load_file(path)
    assert err.value.file == str(path)
    assert err.value.key.startswith(where)
    assert problem in err.value.message


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"line 2: not UTF-8 text \(byte 0xe9\)"):
        yaml_io.load_file(path)


def test_a_problem_never_quotes_the_line(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("password: hunter2: x\n")
    with pytest.raises(ConfigError) as err:
        yaml_io.load_file(path)
    assert "hunter2" not in str(err.value)


def test_merges_timestamps_and_small_anchors_load(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\nd: [*b, *b]\nt: 2019-09-10T00:00:00Z\n")
    loaded = yaml_io.load_file(path)
    assert loaded["c"] == {"x": 3, "y": 2}
    assert loaded["d"] == [{"x": 1, "y": 2}] * 2
    assert loaded["t"] == "2019-09-10T00:00:00Z"


@pytest.mark.flux_manifests
def test_flux_install_manifests_load() -> None:
    for version in FLUX_VERSIONS:
        docs = yaml_io.load_all_file(install_manifest(version))
        assert any(d and d.get("kind") == "CustomResourceDefinition" for d in docs)


def test_a_value_two_keys_share_is_written_at_both_without_an_anchor() -> None:
    labels = {"app": "poller"}
    assert yaml_io.dump({"selector": labels, "template": labels}) == (
        "selector:\n  app: poller\ntemplate:\n  app: poller\n"
    )


def test_text_of_several_lines_is_a_block() -> None:
    assert yaml_io.dump({"ignore": "/docs\n*.md\n"}) == "ignore: |\n  /docs\n  *.md\n"


def test_text_a_block_cannot_hold_exactly_is_quoted() -> None:
    # trailing spaces on a line would be lost in a block
    assert yaml_io.dump({"v": "a  \nb"}) == 'v: "a  \\nb"\n'
