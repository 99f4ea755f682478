"""Flux's postBuild substitution (fluxcd/pkg envsubst), as fluxtree.envsubst does it for both layers."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eoepca_gitops.fluxtree.envsubst import (
    SubstitutionError,
    flux_envsubst,
    substitute_object,
    unset_variables,
)

VARIABLES = {"DOMAIN": "home.example.net", "EMPTY": "", "LINES": "a\nb", "FILE": "path/to/file.tar.gz"}


# What fluxcd/pkg/envsubst v1.7.1 (the version kustomize-controller v1.9.6 builds with) returned for
# each text, run with strict mode on and the variables as kustomize-controller loads them (newlines
# removed). REFUSED: an error from Flux (its parser's, a panic, or a result its YAML parser refuses as
# not UTF-8); UNSET: strict mode's "variable not set". "was": what this module gave before.
REFUSED = "<Flux: error>"
UNSET = "<Flux: variable not set>"
AS_FLUX_V1_7_1 = [
    # arguments: `$$`, `\/` and `\\` are escapes in the replace operators only
    ("${x:=a$$b}", {}, "a$$b"),  # was a$b
    ("${x:=a\\/b}", {}, "a\\/b"),
    ("${x:=a\\\\b}", {}, "a\\\\b"),
    ("${x:-$$}", {}, "$$"),
    ("${v#a\\\\}", {"v": "a\\b"}, "b"),
    ("${v#a\\\\}", {"v": "a\\\\b"}, "\\b"),
    ("${v#a$$}", {"v": "a$$b"}, "b"),
    ("${v#a$$}", {"v": "a$b"}, "a$b"),  # was b
    ("${v:1$$}", {"v": "abc"}, "abc"),
    ("${v/a$$b/c}", {"v": "xa$by"}, "xcy"),
    ("${v/$$/USD}", {"v": "5$"}, "5USD"),
    ("${v/a\\/b/c}", {"v": "xa/by"}, "xcy"),
    ("${v/a/b\\/c}", {"v": "xay"}, "xb/cy"),
    ("${v/a/$$}", {"v": "xay"}, "x$y"),
    ("${v/\\\\/-}", {"v": "a\\b"}, "a-b"),
    ("${v/a/\\\\}", {"v": "a"}, "\\"),
    ("${x:=$${y}}", {"y": "Y"}, "$Y"),  # was ${y}
    ("${x:=a$${y}}", {"y": "Y"}, "a$Y"),
    ("${x:=a$}", {}, "a$"),
    ("${x:=$}", {}, "$"),
    ("${x:=\\}", {}, "\\"),
    # a lone trailing backslash is a bad pattern, which trims nothing
    ("${v#a\\}", {"v": "a\\b"}, "a\\b"),  # was b
    ("${v#\\}", {"v": "\\b"}, "\\b"),
    ("${v%\\}", {"v": "a\\"}, "a\\"),
    ("${v##*\\}", {"v": "a\\b"}, "a\\b"),
    ("${v#b\\}", {"v": "a\\b"}, "a\\b"),
    # classes as path.Match reads them: `]` or `-` unescaped where a character is due, or a class never
    # closed, is a bad pattern; `^` negates, `!` does not; `?` and classes take a character of the value
    # (a result cut in the middle of one is refused, as Flux's YAML parser refuses it)
    ("${v#[]a]}", {"v": "]abc"}, "]abc"),  # was abc
    ("${v#[a-]}", {"v": "-a"}, "-a"),  # was a
    ("${v#[\\]]}", {"v": "]x"}, "x"),  # was re.error
    ("${v#[\\]a]}", {"v": "ax"}, "x"),
    ("${v#[^a]}", {"v": "bcd"}, "cd"),
    ("${v#[^a]}", {"v": "acd"}, "acd"),
    ("${v#[!a]}", {"v": "!cd"}, "cd"),
    ("${v#[a-c]}", {"v": "bcd"}, "cd"),
    ("${v#[c-a]}", {"v": "bcd"}, "bcd"),  # was re.error
    ("${v#[}", {"v": "[x"}, "[x"),
    ("${v#[a}", {"v": "ax"}, "ax"),
    ("${v#[ab}", {"v": "ax"}, "ax"),
    ("${v#[\\}", {"v": "\\x"}, "\\x"),
    ("${v#[a\\-z]}", {"v": "-x"}, "x"),
    ("${v#[a-c-e]}", {"v": "dx"}, "dx"),
    ("${v#[-a]}", {"v": "-x"}, "-x"),
    ("${v#[a*]}", {"v": "*b"}, "b"),
    ("${v#*[ab}", {"v": "xab"}, "xab"),
    ("${v#x[}", {"v": "abc"}, "abc"),
    ("${v#a[}", {"v": "abc"}, "abc"),
    ("${v%[ab]}", {"v": "xa"}, "xa"),
    ("${v%[ab]}", {"v": "x]ba["}, "x]ba["),
    ("${v#[é]}", {"v": "éa"}, "a"),
    ("${v#[à-ê]}", {"v": "éa"}, "a"),
    ("${v#[^a]}", {"v": "éa"}, REFUSED),
    ("${v#?}", {"v": "éa"}, REFUSED),
    ("${v#??}", {"v": "éa"}, ""),
    ("${v#*}", {"v": "ab"}, "b"),
    ("${v##*}", {"v": "é"}, ""),
    ("${v%?}", {"v": "aé"}, "a\ufffd"),  # Flux's reverse() makes the cut byte U+FFFD
    ("${v%%?}", {"v": "aé"}, "a"),
    ("${v#*a}", {"v": "éa"}, ""),
    ("${v#[a][b]}", {"v": "abc"}, "c"),
    ("${v#[]}", {"v": "]"}, "]"),
    ("${v#[^]a]}", {"v": "xa"}, "xa"),
    ("${v#[a-\\]]}", {"v": "]x"}, "]x"),
    ("${v#\\[a]}", {"v": "[a]x"}, "x"),
    ("${v#*\\*}", {"v": "a*b*c"}, "b*c"),
    ("${v##*\\*}", {"v": "a*b*c"}, "c"),
    ("${v#*[}", {"v": "a[b"}, "a[b"),
    # glob structure: `*` and `?` match `/` too
    ("${v#?b}", {"v": "abc"}, "c"),
    ("${v##*/}", {"v": "a/b/c"}, "c"),
    ("${v#*/}", {"v": "a/b/c"}, "b/c"),
    ("${v%/*}", {"v": "a/b/c"}, "a/b"),
    ("${v%%/*}", {"v": "a/b/c"}, "a"),
    ("${v#a*}", {"v": "abc"}, "bc"),
    ("${v##a*}", {"v": "abc"}, ""),
    ("${v%*c}", {"v": "abc"}, "ab"),
    ("${v%%*c}", {"v": "abc"}, ""),
    ("${v#*a*b}", {"v": "xaybab"}, "ab"),
    ("${v##*a*b}", {"v": "xaybabz"}, "z"),
    ("${v#a*b*c}", {"v": "abcbc"}, "bc"),
    ("${v#*}", {"v": ""}, ""),
    ("${v%.*}", {"v": "f.tar.gz"}, "f.tar"),
    ("${v%%.*}", {"v": "f.tar.gz"}, "f"),
    ("${v#*.}", {"v": "f.tar.gz"}, "tar.gz"),
    ("${v##*.}", {"v": "f.tar.gz"}, "gz"),
    ("${v###}", {"v": "##a"}, "#a"),
    ("${v%%%}", {"v": "a%%"}, "a%"),
    ("${v#${p}}", {"v": "a/b", "p": "*/"}, "b"),
    ("${v#a${p}}", {"v": "a/b", "p": "*/"}, REFUSED),
    ("${v#${e}}", {"v": "ab", "e": ""}, "ab"),
    ("${v#}", {"v": "abc"}, REFUSED),
    ("${v%}", {"v": "abc"}, REFUSED),
    ("${v#z}", {"v": "abc"}, "abc"),
    ("${v#a}}", {"v": "abc"}, "bc}"),
    ("${v#a:b}", {"v": "a:bc"}, "c"),
    # offsets and lengths as strconv.Atoi reads them: an optional sign and ASCII digits; counted in bytes
    ("${v:${p}}", {"v": "abcd", "p": " 2"}, "abcd"),  # was cd
    ("${v:${p}}", {"v": "abcdefghijkl", "p": "1_0"}, "abcdefghijkl"),  # was kl
    ("${v:${p}}", {"v": "abcd", "p": "+3"}, "d"),
    ("${v:${p}}", {"v": "abcd", "p": "٣"}, "abcd"),  # was d
    ("${v:${p}}", {"v": "abcd", "p": "-1"}, "d"),
    ("${v:${p}}", {"v": "abcd", "p": "0x1"}, "abcd"),
    ("${v:${p}}", {"v": "abcd", "p": "2 "}, "abcd"),
    ("${v:${p}}", {"v": "abcd", "p": "-"}, "abcd"),
    ("${v:${p}}", {"v": "abcd", "p": "+-1"}, "abcd"),
    ("${v:1:${l}}", {"v": "abcd", "l": " 2"}, "abcd"),
    ("${v:1:${l}}", {"v": "abcd", "l": "+2"}, "bc"),
    ("${v:1:${l}}", {"v": "abcd", "l": "-1"}, "bc"),
    ("${v:9223372036854775807}", {"v": "abc"}, ""),
    ("${v:9223372036854775808}", {"v": "abc"}, "abc"),
    ("${v:${p}}", {"v": "abc", "p": "-9223372036854775808"}, "abc"),
    ("${v:${p}}", {"v": "abc", "p": "-9223372036854775809"}, "abc"),
    ("${v:1:9223372036854775807}", {"v": "abc"}, REFUSED),  # Flux's envsubst panics (int overflow)
    ("${v:1:9223372036854775806}", {"v": "abc"}, "bc"),
    ("${v:0:9223372036854775807}", {"v": "abc"}, "abc"),
    ("${v:9223372036854775807:1}", {"v": "abc"}, REFUSED),
    ("${v:5:-1}", {"v": "abc"}, ""),
    ("${v:1:-5}", {"v": "abc"}, ""),
    ("${v:1::2}", {"v": "abcd"}, "bc"),  # was abcd
    ("${v:1:2:3}", {"v": "abcd"}, "abcd"),
    ("${v:}", {"v": "abc"}, REFUSED),
    ("${v::2}", {"v": "abc"}, REFUSED),
    ("${v:1:}", {"v": "abc"}, REFUSED),
    ("${v: 1}", {"v": "abc"}, "abc"),
    ("${v:1${p}}", {"v": "abcd", "p": "1"}, REFUSED),
    ("${v:${p}:${l}}", {"v": "abcd", "p": "1", "l": "2"}, "bc"),
    ("${v:-1}", {"v": "abc"}, "abc"),
    ("${v:0-1}", {"v": "abc"}, "abc"),
    ("${v:10}", {"v": "abc"}, ""),
    ("${v:2:100}", {"v": "abc"}, "c"),
    ("${v:1:0}", {"v": "abc"}, ""),
    ("${v:0:1}", {"v": "é"}, REFUSED),
    ("${v:1}", {"v": "é"}, REFUSED),
    ("${v:0:1}${v:1}", {"v": "é"}, "é"),
    ("${v:1}", {"v": "aé"}, "é"),
    ("${v:0:2}", {"v": "éa"}, "é"),  # was éa
    ("${v:${p}}", {"v": "abcd", "p": "00002"}, "cd"),
    ("${v:1:2}", {"v": "a:b:c"}, ":b"),
    # length in bytes; case a character at a time, with Go's one-to-one mappings
    ("${#v}", {"v": "é"}, "2"),
    ("${#v}", {"v": ""}, "0"),
    ("${#}", {}, REFUSED),
    ("${##v}", {"v": "abc"}, REFUSED),
    ("${#v:1}", {"v": "abc"}, REFUSED),
    ("${#u}", {}, UNSET),
    ("${#v}", {"v": "a\nb"}, "2"),
    ("${v^}", {"v": "éa"}, "Éa"),
    ("${v^^}", {"v": "straße"}, "STRAßE"),  # was STRASSE
    ("${v,,}", {"v": "ΟΔΟΣ"}, "οδοσ"),  # was οδος
    ("${v,,}", {"v": "İ"}, "i"),
    ("${v^^}", {"v": "ᾳ"}, "ᾼ"),
    ("${v^^}", {"v": "ﬁ"}, "ﬁ"),
    ("${v^}", {"v": "ǆa"}, "Ǆa"),
    ("${v^^}", {"v": "ǆ"}, "Ǆ"),
    ("${v,}", {"v": "ABC"}, "aBC"),
    ("${v^,}", {"v": "aB"}, "aB"),
    ("${v,^}", {"v": "aB"}, "aB"),
    ("${v^^^}", {"v": "abc"}, REFUSED),
    ("${v,,,}", {"v": "abc"}, REFUSED),
    ("${v^x}", {"v": "abc"}, REFUSED),
    ("${v^}", {"v": ""}, ""),
    ("${u^^}", {}, UNSET),
    ("${v^^}", {"v": "ŉ"}, "ŉ"),
    ("${v,,}", {"v": "ẞ"}, "ß"),
    # replacement: the pattern ends at the next `/` only (even past a `}`), and `/#` `/%` without a
    # replacement leave the value alone
    ("${v/a/b}", {"v": "aaa"}, "baa"),
    ("${v//a/b}", {"v": "aaa"}, "bbb"),
    ("${v/a}", {"v": "aaa"}, REFUSED),
    ("${v/a} x/y}", {"v": "aaa"}, "aaa"),  # was aa x/y}
    ("${v//a}", {"v": "aaa"}, REFUSED),
    ("${v/a/}", {"v": "aaa"}, "aa"),
    ("${v//a/}", {"v": "aaa"}, ""),
    ("${v/#a/}", {"v": "aaa"}, "aaa"),  # was aa
    ("${v/%a/}", {"v": "aaa"}, "aaa"),
    ("${v/#a/b}", {"v": "aaa"}, "baa"),
    ("${v/%a/b}", {"v": "aaa"}, "aab"),
    ("${v/#/x}", {"v": "abc"}, REFUSED),
    ("${v/a//b}", {"v": "xay"}, "xby"),  # was x/by
    ("${v/a/b/c}", {"v": "xay"}, "xb/cy"),
    ("${v///a/x}", {"v": "//a"}, REFUSED),
    ("${v//a/b/c/d}", {"v": "xaya"}, "xb/c/dyb/c/d"),
    ("${v/${e}/x}", {"v": "ab", "e": ""}, "xab"),
    ("${v//${e}/x}", {"v": "ab", "e": ""}, "xaxbx"),
    ("${v//${e}/x}", {"v": "é", "e": ""}, "xéx"),
    ("${v/#${e}/x}", {"v": "ab", "e": ""}, "xab"),
    ("${v/%${e}/x}", {"v": "ab", "e": ""}, "abx"),
    ("${v///x}", {"v": "abc"}, REFUSED),
    ("${v/a/${w}}", {"v": "abc", "w": "W"}, "Wbc"),
    ("${v/a/x${w}}", {"v": "abc", "w": "W"}, REFUSED),
    ("${v/x${w}/y}", {"v": "abc", "w": "W"}, REFUSED),
    ("${v/b/}}", {"v": "abc"}, "ac}"),
    ("${v/b/c}d}", {"v": "abc"}, "accd}"),
    ("${v/b}/c}", {"v": "abc"}, "abc"),
    ("${v/%c/}", {"v": "abc"}, "abc"),
    ("${v//b/c/d}", {"v": "abcb"}, "ac/dcc/d"),
    ("${v/*/x}", {"v": "abc"}, "abc"),
    ("${v/a", {"v": "abc"}, REFUSED),
    ("${v/a/b", {"v": "abc"}, REFUSED),
    ("${v//a/b/}", {"v": "aa"}, "b/b/"),
    ("${v/#a}", {"v": "ab"}, REFUSED),
    ("${v/#a/b/c}", {"v": "ab"}, "b/cb"),
    # defaults: every one of them (`=`, `:=`, `:-`, `:+`, `:?`) is the value unless it is empty
    ("${x:-d}", {}, "d"),
    ("${x-d}", {}, REFUSED),
    ("${x:+d}", {}, "d"),
    ("${x:+d}", {"x": "s"}, "s"),
    ("${x+d}", {}, REFUSED),
    ("${x:?d}", {}, "d"),
    ("${x?d}", {}, REFUSED),
    ("${x=d}", {}, "d"),
    ("${x==d}", {}, "=d"),
    ("${x:=}", {}, ""),
    ("${x:=}", {"x": "s"}, "s"),
    ("${x:=a}b}", {}, "ab}"),
    ("${x:=a${y}b}", {"y": "Y"}, "aYb"),
    ("${x:=${y}}", {"x": "s"}, UNSET),
    ("${x:=a:b}", {}, "a:b"),
    ("${x:-a/b}", {}, "a/b"),
    ("${x:=${y:=${z}}}", {"z": "Z"}, "Z"),
    ("${x:=a", {}, REFUSED),
    ("${x:=a${y}", {"y": "Y"}, REFUSED),
    ("${x:-}", {}, ""),
    ("${x:-}", {"x": ""}, ""),
    ("${x:=${e}}", {"e": ""}, ""),
    ("${x:=${e}z}", {"e": ""}, "z"),
    ("${x:==}", {}, "="),
    ("${x:=:=}", {}, ":="),
    ("${x:=#}", {}, "#"),
    ("${x:-{}", {}, "{"),
    ("${x:={a}}", {}, "{a}"),
    # names, `$` and strict mode
    ("${é}", {}, UNSET),
    ("${é}", {"é": "x"}, "x"),  # was refused
    ("${1}", {"1": "one"}, "one"),
    ("${a-b}", {"a": "A"}, REFUSED),
    ("${a.b}", {"a": "A"}, REFUSED),
    ("${a b}", {"a": "A"}, REFUSED),
    ("${}", {}, REFUSED),
    ("${", {}, REFUSED),
    ("$", {}, "$"),
    ("a$", {}, "a$"),
    ("$$", {}, "$"),
    ("$$$", {}, "$$"),
    ("$${v}", {"v": "abc"}, "${v}"),
    ("$$$${v}", {"v": "abc"}, "$${v}"),
    ("$$$$${v}", {"v": "abc"}, "$$abc"),
    ("$ {v}", {"v": "abc"}, "$ {v}"),
    ("${v", {"v": "abc"}, REFUSED),
    ("\\${v}", {"v": "abc"}, "\\abc"),
    ("${v}}", {"v": "abc"}, "abc}"),
    ("{${v}}", {"v": "abc"}, "{abc}"),
    ("${v}${v}", {"v": "abc"}, "abcabc"),
    ("$v ${v} $HOME", {"v": "abc"}, "$v abc $HOME"),
    ("${u}", {}, UNSET),
    ("${u:-d}${u}", {}, UNSET),
    ("${v${w}}", {"v": "1", "w": "2"}, REFUSED),
    ("${v}", {"v": "a\nb"}, "ab"),
    ("${a_b}", {"a_b": "x"}, "x"),
    ("${A٣}", {"A٣": "x"}, "x"),
    ("${v:=}", {"v": "x"}, "x"),
    ("x ${v/b/${u}} y", {"v": "abc"}, UNSET),
    ("${x:=${u}}", {"x": "s"}, UNSET),
    # which error first: Flux parses the whole text before it evaluates any of it
    ("${u} ${a b}", {}, REFUSED),
    ("${u} ${v:1:9223372036854775807}", {"v": "abc"}, UNSET),
    ("${v:1:9223372036854775807} ${u}", {"v": "abc"}, REFUSED),
    ("${u}${v:0:1}", {"v": "é"}, UNSET),
    ("${v:0:1}${u}", {"v": "é"}, UNSET),
    ("${v:0:1} ${a b}", {"v": "é"}, REFUSED),
    # `${name:` and a non-ASCII character: Flux's scanner steps back too far and refuses it
    ("${p:é}", {"p": "a"}, REFUSED),
    ("${p:€}", {"p": "a"}, REFUSED),
    ("${p:1:é}", {"p": "ab"}, "ab"),
    ("${p:=é}", {"p": ""}, "é"),
    ("${v#[^a]}", {"v": "xé"}, "é"),
]


@pytest.mark.parametrize(("text", "variables", "flux"), AS_FLUX_V1_7_1)
def test_as_fluxcd_pkg_envsubst_v1_7_1(text: str, variables: dict[str, str], flux: str) -> None:
    if flux in (REFUSED, UNSET):
        with pytest.raises(SubstitutionError) as info:
            flux_envsubst(text, variables)
        assert (info.value.name is not None) == (flux == UNSET), info.value
    else:
        assert flux_envsubst(text, variables) == flux


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


def test_what_flux_refuses_after_parsing_is_shown_with_its_expression() -> None:
    with pytest.raises(SubstitutionError, match=r"^\$\{v:0:1\}: gives text that is not UTF-8"):
        flux_envsubst("a ${v:0:1} b", {"v": "é"})
    with pytest.raises(SubstitutionError, match=r"^\$\{v:1:9223372036854775807\}: Flux's envsubst panics"):
        flux_envsubst("${v:1:9223372036854775807}", {"v": "abc"})
    assert unset_variables("${u} ${v:0:1}", {"v": "é"}) == ["u"]  # Flux stops at ${u}
    with pytest.raises(SubstitutionError, match="panics"):
        unset_variables("${u} ${v:1:9223372036854775807}", {"v": "abc"})
    with pytest.raises(SubstitutionError, match="nested too deeply"):
        flux_envsubst("${x:=" * 2000 + "a" + "}" * 2000, {})


_PIECES = [
    "${",
    "}",
    "$",
    "v",
    ":",
    "=",
    "-",
    "#",
    "%",
    "/",
    "^",
    ",",
    "*",
    "?",
    "[",
    "]",
    "\\",
    "é",
    "1",
    "-1",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14), st.text(max_size=6))
def test_no_text_and_no_value_crash_it(pieces: list[str], value: str) -> None:
    with contextlib.suppress(SubstitutionError):
        flux_envsubst("".join(pieces), {"v": value})
