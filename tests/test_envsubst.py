"""Flux's postBuild substitution (fluxcd/pkg envsubst), as fluxtree.envsubst does it for both layers."""

from __future__ import annotations

import pytest

from eoepca_gitops.fluxtree.envsubst import (
    SubstitutionError,
    flux_envsubst,
    substitute_object,
    unset_variables,
)

VARIABLES = {"DOMAIN": "home.example.net", "EMPTY": "", "LINES": "a\nb", "FILE": "path/to/file.tar.gz"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${DOMAIN}", "home.example.net"),
        ("${LINES}", "ab"),  # Flux drops the newlines of a value
        ("${EMPTY:-default}", "default"),
        ("${UNSET:=fall${DOMAIN}}", "fallhome.example.net"),  # a default may hold a variable
        ("${UNSET=v}", "v"),
        ("${EMPTY=v}", "v"),  # every default of Flux's applies to an empty value too
        ("${DOMAIN:-x}", "home.example.net"),
        ("${#DOMAIN}", "16"),
        ("${DOMAIN^^}", "HOME.EXAMPLE.NET"),
        ("${DOMAIN^}", "Home.example.net"),
        ("${DOMAIN:0:4}", "home"),
        ("${DOMAIN:5}", "example.net"),
        ("${DOMAIN/./-}", "home-example.net"),
        ("${DOMAIN//./-}", "home-example-net"),
        ("${DOMAIN/#home/work}", "work.example.net"),
        ("${DOMAIN/%net/org}", "home.example.org"),
        ("${FILE#*/}", "to/file.tar.gz"),
        ("${FILE%.*}", "path/to/file.tar"),
        ("${FILE%%.*}", "path/to/file"),
        ("$${DOMAIN} $$ $HOME $", "${DOMAIN} $ $HOME $"),
    ],
)
def test_expressions(text: str, expected: str) -> None:
    assert flux_envsubst(text, VARIABLES) == expected


def test_strict_and_unreadable() -> None:
    with pytest.raises(SubstitutionError, match=r"variable \$\{UNSET\} is not set") as info:
        flux_envsubst("x ${UNSET}", VARIABLES)
    assert info.value.name == "UNSET"
    with pytest.raises(SubstitutionError, match="not a variable reference Flux can evaluate"):
        flux_envsubst("${DOMAIN-x}", VARIABLES)  # Flux has no `-` without `:`
    assert unset_variables("${A} ${B:-x} ${C/a/b} $${D}", {}) == ["A", "C"]


def test_objects_flux_leaves_alone() -> None:
    obj = {
        "metadata": {"name": "x", "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}},
        "v": "${A}",
    }
    assert substitute_object(obj, {"B": "1"}) is obj
    assert substitute_object({"v": "$${A}"}, {}) == {"v": "$${A}"}  # no variables: no substitution at all
    assert substitute_object({"v": "${N}"}, {"N": "3"}) == {"v": 3}  # as Flux's YAML reads it


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        # Go's path.Match globs in #, ##: `?` one character, `*` never across `/`, classes, escapes
        ("${v#?b}", {"v": "abc"}, "c"),
        ("${v##*/}", {"v": "a/b/c"}, "b/c"),
        ("${v#[a-c]}", {"v": "bcd"}, "cd"),
        ("${v#[^a]}", {"v": "bcd"}, "cd"),
        ("${v#[!a]}", {"v": "bcd"}, "bcd"),  # `!` is no negation in Go: a class of `!` and `a`
        ("${v#\\*}", {"v": "*x"}, "x"),
        ("${v#z}", {"v": "abc"}, "abc"),  # no match: unchanged
        # ${v:pos:len} as fluxcd/pkg's toSubstr: a part that is no integer leaves the value unchanged
        ("${v:x}", {"v": "abcd"}, "abcd"),
        ("${v:1:x}", {"v": "abcd"}, "abcd"),
        ("${v:1:-1}", {"v": "abcd"}, "bc"),
        ("${v:3:-2}", {"v": "abcd"}, ""),
        ("${v:-2}", {"v": "abcd"}, "abcd"),  # `:-` is the default operator, not a negative offset
        # arguments: `\/` and `$$` escapes, a nested expression
        ("${v/a\\/b/c}", {"v": "xa/by"}, "xcy"),
        ("${x:=${y}}", {"y": "7"}, "7"),
    ],
)
def test_pattern_and_substring_operators_as_flux_evaluates_them(
    text: str, variables: dict[str, str], expected: str
) -> None:
    assert flux_envsubst(text, variables) == expected
