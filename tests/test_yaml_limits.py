"""The YAML loader's limits and rules at its public surface (eoepca_gitops.yaml_io): each refusal
asserted on its reason, at the exact boundary; what loads as Kubernetes reads it; what a file's
problems say; the review dumper. (tests/test_yaml_io.py has the file-and-line cases.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import ConfigError, PathError
from eoepca_gitops.yaml_io import MAX_ALIAS_EXPANSION, MAX_DEPTH, RefusedYamlError


def wide(items: int, aliases: int) -> str:
    """One anchor of `items` scalars (items + 1 nodes), aliased `aliases` times side by side."""
    return f"a: &a [{', '.join(['x'] * items)}]\nb: [{', '.join(['*a'] * aliases)}]\n"


def refused(text: str) -> str:
    with pytest.raises(RefusedYamlError) as exc:
        list(yaml_io.load_all(text))
    return str(exc.value.problem)


def test_a_wide_alias_bomb_is_refused_for_what_its_aliases_expand_to() -> None:
    """One anchor aliased many times (no nesting): the expansion is counted, not the nesting."""
    assert MAX_ALIAS_EXPANSION == 10_000
    assert refused(wide(99, 101)) == "aliases expand to more than 10000 nodes (an alias bomb?)"
    assert refused(wide(2_000, 6)) == "aliases expand to more than 10000 nodes (an alias bomb?)"


def test_aliases_up_to_the_limit_load() -> None:
    loaded = yaml_io.load(wide(99, 100))  # 100 aliases of 100 nodes: exactly the limit
    assert len(loaded["b"]) == 100 and loaded["b"][0] == ["x"] * 99
    # an alias of a scalar counts one node
    assert len(yaml_io.load("a: &a x\nb: [" + ", ".join(["*a"] * MAX_ALIAS_EXPANSION) + "]\n")["b"]) == 10_000
    assert refused("a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIAS_EXPANSION + 1)) + "]\n").startswith(
        "aliases"
    )


def test_a_nested_alias_counts_what_it_expands_to() -> None:
    # b holds 10 aliases of a (11 nodes each): 111 nodes; 90 aliases of b expand to 9990 more
    text = (
        f"a: &a [{', '.join(['x'] * 10)}]\nb: &b [{', '.join(['*a'] * 10)}]\nc: [{', '.join(['*b'] * 89)}]\n"
    )
    assert len(yaml_io.load(text)["c"]) == 89  # 110 + 89 * 111 = 9989
    more = (
        f"a: &a [{', '.join(['x'] * 10)}]\nb: &b [{', '.join(['*a'] * 10)}]\nc: [{', '.join(['*b'] * 90)}]\n"
    )
    assert refused(more).startswith("aliases expand")  # 110 + 90 * 111 = 10100


def test_the_count_starts_again_with_each_document() -> None:
    docs = list(yaml_io.load_all(wide(99, 100) + "---\n" + wide(99, 100)))
    assert len(docs) == 2 and all(len(d["b"]) == 100 for d in docs)


def test_an_alias_of_its_own_anchor_is_refused() -> None:
    assert refused("a: &a [1, *a]\n") == "alias *a refers to its own anchor"
    assert refused("a: &a {b: [*a]}\n") == "alias *a refers to its own anchor"


def test_nesting_up_to_the_limit_loads() -> None:
    assert MAX_DEPTH == 100
    deepest = yaml_io.load("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    for _ in range(MAX_DEPTH - 1):
        deepest = deepest[0]
    assert deepest == []
    assert refused("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)) == "nested deeper than 100 levels"
    assert refused("a:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(MAX_DEPTH))) == (
        "nested deeper than 100 levels"
    )


def test_a_key_twice_in_one_mapping_is_refused_however_it_is_written() -> None:
    assert refused("a: 1\n'a': 2\n") == "key 'a' given twice (first on line 1)"
    assert refused('x: {"k": 1, k: 2}\n') == "key 'k' given twice (first on line 1)"
    assert refused("1: a\n2: b\n1: c\n") == "key 1 given twice (first on line 1)"


def test_the_same_key_in_other_mappings_or_types_is_no_repetition() -> None:
    assert yaml_io.load("a: {k: 1}\nb: {k: 2}\n") == {"a": {"k": 1}, "b": {"k": 2}}
    assert yaml_io.load("1: a\n'1': b\n") == {1: "a", "1": "b"}
    # a merge may override what it merges: that is its purpose
    assert yaml_io.load("base: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n") == {"base": {"x": 1}, "c": {"x": 2}}
    assert yaml_io.load("b1: &b1 {x: 1}\nb2: &b2 {y: 2}\nc: {<<: [*b1, *b2]}\n")["c"] == {"x": 1, "y": 2}


def test_values_load_as_kubernetes_reads_them() -> None:
    loaded = yaml_io.load("t: 2019-09-10T00:00:00Z\nd: 2019-09-10\ne: =\nb: yes\nn: ~\ni: 010\nf: 1.5\n")
    assert loaded == {
        "t": "2019-09-10T00:00:00Z",
        "d": "2019-09-10",
        "e": "=",
        "b": True,
        "n": None,
        "i": 8,
        "f": 1.5,
    }


def test_loading_uses_the_same_rules_however_it_is_reached(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 2019-09-10T00:00:00Z\n---\n---\nb: 1\n")
    assert yaml_io.load_all_file(path) == [{"a": "2019-09-10T00:00:00Z"}, None, {"b": 1}]
    path.write_text("a: 2019-09-10T00:00:00Z\n")
    assert yaml_io.load_file(path) == {"a": "2019-09-10T00:00:00Z"}
    assert yaml.load("a: 2019-09-10T00:00:00Z", Loader=yaml_io.KubeLoader) == {"a": "2019-09-10T00:00:00Z"}


def test_a_file_that_cannot_be_read_names_the_file(tmp_path: Path) -> None:
    for load in (yaml_io.load_file, yaml_io.load_all_file):
        with pytest.raises(PathError) as exc:
            load(tmp_path / "missing.yaml")
        assert str(exc.value) == f"{tmp_path / 'missing.yaml'}: cannot read: No such file or directory"
        with pytest.raises(PathError) as exc:
            load(tmp_path)
        assert str(exc.value) == f"{tmp_path}: a folder, not a regular file; refusing to read it"


def test_a_file_s_refusals_name_the_line_and_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("# comment\n" + wide(99, 101))
    with pytest.raises(ConfigError) as exc:
        yaml_io.load_all_file(path)
    assert exc.value.key.startswith("line ")
    assert exc.value.message == "not valid YAML: aliases expand to more than 10000 nodes (an alias bomb?)"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")  # a byte-order mark is no problem
    assert yaml_io.load_file(path) == {"a": 1}
    path.write_bytes(b"a: 1\n\n\nb: \xff\n")
    with pytest.raises(ConfigError) as exc:
        yaml_io.load_all_file(path)
    assert (exc.value.key, exc.value.message) == ("line 4", "not UTF-8 text (byte 0xff); save it as UTF-8")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "a: b\nc: d\x01\n",
            "line 2, column 5",
            "not valid YAML: character U+0001 is not allowed in YAML text",
        ),
        ("a:\n  - x\n - y\n", "line 3, column 2", "not valid YAML: did not find expected key"),
        ("a: 'x\n", "line 2, column 1", "not valid YAML: found unexpected end of stream"),
        (
            "a: @x\n",
            "line 1, column 4",
            "not valid YAML: found character that cannot start any token (quote ",
        ),
        (
            "a: b: c\n",
            "line 1, column 5",
            "not valid YAML: mapping values are not allowed in this context (a ",
        ),
        ("a: b\nc\nd: e\n", "line 3, column 1", "not valid YAML: could not find expected ':' (a key needs"),
        (
            "a: *\n",
            "line 1, column 5",
            "not valid YAML: did not find expected alphabetic or numeric character",
        ),
    ],
)
def test_what_a_hand_edit_got_wrong_is_said_with_a_hint(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        yaml_io.load_file(path)
    assert exc.value.key == where
    assert exc.value.message.startswith(message)


def test_where_a_problem_is_for_every_kind_of_yaml_error() -> None:
    text = "a: 1\nb: c\x02\n"
    with pytest.raises(yaml.YAMLError) as exc:
        yaml_io.load(text)
    mark = yaml_io.error_mark(text, exc.value)
    assert mark is not None and (mark.line, mark.column, mark.index) == (1, 4, 9)
    with pytest.raises(yaml.YAMLError) as exc:
        yaml_io.load("a: [1\n")
    marked = yaml_io.error_mark("a: [1\n", exc.value)
    assert marked is not None and marked.line == 1
    context_only = yaml.MarkedYAMLError(context="while parsing", context_mark=marked)
    assert yaml_io.error_mark("", context_only) is marked
    assert yaml_io.error_mark("", yaml.MarkedYAMLError()) is None


def test_the_dump_is_for_review() -> None:
    shared = ["x"]
    text = yaml_io.dump({"b": {"text": "one\ntwo\n", "list": shared}, "a": shared, "long": "w " * 80})
    assert text.startswith("a:\n- x\nb:\n")  # keys sorted, the shared value written at both
    assert "&" not in text and "*" not in text
    assert "  text: |\n    one\n    two\n" in text
    assert max(len(line) for line in text.splitlines()) <= 130  # wrapped near 120 columns
    assert yaml_io.load(text) == {"a": ["x"], "b": {"text": "one\ntwo\n", "list": ["x"]}, "long": "w " * 80}


def test_where_a_character_yaml_does_not_allow_is_counted_from_the_start() -> None:
    for text, line, column in (("a: 1\nb: 2\nc: d\x02\n", 2, 4), ("\na: b\x02\n", 1, 4), ("\x02", 0, 0)):
        with pytest.raises(yaml.YAMLError) as exc:
            yaml_io.load(text)
        mark = yaml_io.error_mark(text, exc.value)
        assert mark is not None and (mark.line, mark.column) == (line, column), text


def test_the_dump_wraps_text_only_past_120_columns() -> None:
    text = " ".join(["word"] * 22)  # 109 characters
    assert yaml_io.dump({"k": text}) == f"k: {text}\n"
