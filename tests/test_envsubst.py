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
        # fluxcd/pkg's fork of Go's path.Match in #, ##: `?` one character, `*` any run of them,
        # `/` included (Flux's own test: ${filename##*/} of path/to/file is file), classes, escapes
        ("${v#?b}", {"v": "abc"}, "c"),
        ("${v##*/}", {"v": "a/b/c"}, "c"),
        ("${v#a?c}", {"v": "a/c/d"}, "/d"),
        ("${v#v*.}", {"v": "1.2.3"}, "1.2.3"),  # what precedes `*` must match too
        ("${v#a?}", {"v": "bcd"}, "bcd"),  # what precedes `?` must match too
        ("${v#[a-c]}", {"v": "bcd"}, "cd"),
        ("${v#[^a]}", {"v": "bcd"}, "cd"),
        ("${v#[!a]}", {"v": "bcd"}, "bcd"),  # `!` is no negation in Go: a class of `!` and `a`
        ("${v#\\*}", {"v": "*x"}, "x"),
        ("${v#a\\*}", {"v": "a*b"}, "b"),  # an escaped `*` after a literal
        (r"${v#a\\}", {"v": "a\\b"}, "b"),  # two backslashes in the text: an escaped one in the pattern
        ("${v#[a]}", {"v": "ab"}, "b"),  # a class of one character
        ("${v#x[ab]}", {"v": "ab"}, "ab"),  # what precedes a class must match too
        ("${v#[ab]*[cd]}", {"v": "a-c-d"}, "-d"),  # each class ends at its own `]`
        ("${v#[0-9][0-9]}", {"v": "42abc"}, "abc"),
        ("${v#[}", {"v": "[x"}, "[x"),  # a class never closed: a bad pattern, which trims nothing
        ("${v#z}", {"v": "abc"}, "abc"),  # no match: unchanged
        # ${v:pos:len} as fluxcd/pkg's toSubstr: a part that is no integer leaves the value unchanged
        ("${v:x}", {"v": "abcd"}, "abcd"),
        ("${v:1:x}", {"v": "abcd"}, "abcd"),
        ("${v:1:-1}", {"v": "abcd"}, "bc"),
        ("${v:3:-2}", {"v": "abcd"}, ""),
        ("${v:-2}", {"v": "abcd"}, "abcd"),  # `:-` is the default operator, not a negative offset
        ("${v:${p}}", {"v": "abcd", "p": "-2"}, "cd"),  # a negative offset counts from the end
        ("${v:${p}:2}", {"v": "abcd", "p": "-10"}, "ab"),  # an offset before the start starts at 0
        ("${v:1:0}", {"v": "abcd"}, ""),  # a length of 0 is nothing, not up to the end
        ("${v:0:-5}", {"v": "abcd"}, ""),  # a negative length back past the offset: nothing
        # arguments: `\/` and `$$` escapes, a nested expression
        ("${v/a\\/b/c}", {"v": "xa/by"}, "xcy"),
        ("${v/$$/USD}", {"v": "5$"}, "5USD"),
        (r"${v/\\/-}", {"v": "a\\b"}, "a-b"),
        ("${x:=${y}}", {"y": "7"}, "7"),
    ],
)
def test_pattern_and_substring_operators_as_flux_evaluates_them(
    text: str, variables: dict[str, str], expected: str
) -> None:
    assert flux_envsubst(text, variables) == expected


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("${a} ${b c}", "${b c}"),  # not the `}` of an expression before it
        ("x ${b c} ${a}", "${b c}"),  # neither what comes before nor after it
        ("${name${suffix}}", "${name${suffix}"),  # from the `${` it is in, up to the first `}`
        ("${a", "${a"),  # never closed: up to the end
    ],
)
def test_an_expression_flux_cannot_evaluate_is_shown_alone_in_the_error(text: str, shown: str) -> None:
    with pytest.raises(SubstitutionError) as info:
        flux_envsubst(text, {"a": "1", "name": "n", "suffix": "s"})
    assert str(info.value) == f"{shown}: not a variable reference Flux can evaluate"
