"""The Flux tree module against literal expectations: object keys and differences, postBuild
substitution as Flux does it, and the walk of a small tree written here by hand."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.fluxtree import (
    AppliedObject,
    BuildError,
    Problem,
    SubstitutionError,
    as_flux_sees_it,
    build_dir,
    diff,
    documents,
    flux_envsubst,
    flux_objects,
    generated_resources,
    has_kustomization,
    is_flux_kustomization,
    key,
    kustomize,
    substitute_object,
    substituted,
    substitution_disabled,
    walk,
)
from eoepca_gitops.fluxtree.kustomize import kubectl
from eoepca_gitops.fluxtree.tree import postbuild_variables, yaml_error


def test_key_is_group_kind_namespace_name() -> None:
    obj = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "a", "namespace": "n"},
    }
    assert key(obj) == ("helm.toolkit.fluxcd.io", "HelmRelease", "n", "a")
    assert key({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}) == (
        "",
        "Namespace",
        "",
        "n",
    )
    assert key({}) == ("", "", "", "")


def test_documents_are_the_mappings_of_a_yaml_text() -> None:
    text = "a: 1\n---\n---\n- x\n---\nb: 2\n"
    assert list(documents(text)) == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize(
    ("ours", "original", "lines"),
    [
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 2}, ["a: ours 1 != original 2"]),
        ({"a": 1}, {"a": "1"}, ["a: ours 1 != original '1'"]),
        ({"a": 1}, {"a": 1.0}, ["a: ours 1 != original 1.0"]),  # equal, but not the same type
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}, ["a.c: only in ours: 2"]),
        ({"a": {}}, {"a": {"d": [1]}}, ["a.d: only in original: [1]"]),
        ({1: "x"}, {}, ["1: only in ours: 'x'"]),
        ([1, 2, 3], [1, 2], [": 3 items in ours, 2 in original"]),
        ({"l": [1]}, {"l": [1, 2]}, ["l: 1 items in ours, 2 in original"]),
        (
            {"l": [1, 5]},
            {"l": [1, 2, 3]},
            ["l: 2 items in ours, 3 in original", "l[1]: ours 5 != original 2"],
        ),
        ({"l": [{"a": 1}]}, {"l": [{"a": 2}]}, ["l[0].a: ours 1 != original 2"]),
        ({"a": None}, {"a": []}, ["a: ours None != original []"]),
        ("x" * 300, "x" * 300, []),
    ],
)
def test_diff_names_every_difference_with_its_path(ours: Any, original: Any, lines: list[str]) -> None:
    assert diff(ours, original) == lines


def test_diff_of_long_strings_shows_where_they_part() -> None:
    a = "x" * 100 + "A" + "y" * 100
    b = "x" * 100 + "B" + "y" * 100
    assert diff({"s": a}, {"s": b}) == [
        f"s: strings differ at 100: ours ...{'x' * 40 + 'A' + 'y' * 59!r}... "
        f"!= original ...{'x' * 40 + 'B' + 'y' * 59!r}..."
    ]
    # a shorter string: shown up to its end
    assert diff("x" * 130, "x" * 121) == [
        f": strings differ at 121: ours ...{'x' * 49!r}... != original ...{'x' * 40!r}..."
    ]


def test_diff_cuts_long_values_at_200_characters() -> None:
    assert diff({"a": "v" * 300}, {}) == [f"a: only in ours: '{'v' * 199}"]


def test_as_flux_sees_it_drops_what_only_pulumi_reads() -> None:
    obj = {
        "kind": "HelmRelease",
        "metadata": {"name": "a", "annotations": {"pulumi.com/patchForce": "true", "team": "x"}},
        "spec": {"suspend": False, "interval": "5m"},
    }
    assert as_flux_sees_it(obj) == {
        "kind": "HelmRelease",
        "metadata": {"name": "a", "annotations": {"team": "x"}},
        "spec": {"interval": "5m"},
    }
    only_pulumi = {
        "metadata": {"name": "a", "annotations": {"pulumi.com/waitFor": "x"}},
        "spec": {"suspend": True},
    }
    assert as_flux_sees_it(only_pulumi) == {"metadata": {"name": "a"}, "spec": {"suspend": True}}
    assert as_flux_sees_it({"kind": "Namespace"}) == {"kind": "Namespace", "metadata": {}}
    assert obj["spec"] == {"suspend": False, "interval": "5m"}  # the given object untouched


@pytest.mark.parametrize(
    ("text", "variables", "out"),
    [
        ("host: ${domain}", {"domain": "example.org"}, "host: example.org"),
        ("${a}-${b}", {"a": "1", "b": "2"}, "1-2"),
        ("${x:=d}", {}, "d"),
        ("${x:=d}", {"x": ""}, "d"),
        ("${x:=d}", {"x": "v"}, "v"),
        ("${x:-d}", {"x": ""}, "d"),
        ("${x=d}", {}, "d"),
        ("${x=d}", {"x": ""}, "d"),  # Flux's `=` is `:=` (fluxcd/pkg envsubst: toDefault on empty)
        ("${x:=a:b}", {}, "a:b"),
        ("$${x}", {}, "${x}"),
        ("$$", {}, "$"),
        ("cost: $5 $HOME $request_uri", {}, "cost: $5 $HOME $request_uri"),
        ("${_v1}", {"_v1": "ok"}, "ok"),
    ],
)
def test_envsubst_as_flux(text: str, variables: dict[str, str], out: str) -> None:
    assert flux_envsubst(text, variables) == out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${unset}", "variable ${unset} is not set (strict mode)"),
        ("${1x}", "variable ${1x} is not set (strict mode)"),  # a name may start with a digit
        ("${x-d}", "${x-d}: not a variable reference Flux can evaluate"),  # its parser has no `-`
        ("${}", "${}: not a variable reference Flux can evaluate"),
        ("${a b}", "${a b}: not a variable reference Flux can evaluate"),
    ],
)
def test_envsubst_refuses_what_flux_refuses(text: str, message: str) -> None:
    with pytest.raises(SubstitutionError) as info:
        flux_envsubst(text, {})
    assert str(info.value) == message


def test_substitution_of_an_object_and_its_opt_out() -> None:
    obj = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"url": "https://${domain}", "n": "v${n}"}}
    assert substitute_object(obj, {"domain": "example.org", "n": "3"}) == {
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"url": "https://example.org", "n": "v3"},
    }
    for where in ("annotations", "labels"):
        off = {
            "metadata": {"name": "c", where: {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}},
            "x": "${y}",
        }
        assert substitution_disabled(off) is True
        assert substitute_object(off, {}) is off
    plain = {"metadata": {"name": "c"}, "x": "no dollar"}
    assert substitute_object(plain, {}) is plain
    assert (
        substitution_disabled({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/substitute": "on"}}})
        is False
    )


def test_a_flux_kustomization_is_told_from_kustomizes_own() -> None:
    assert is_flux_kustomization({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization"})
    assert is_flux_kustomization(
        {"apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2", "kind": "Kustomization"}
    )
    assert not is_flux_kustomization(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    )
    assert not is_flux_kustomization({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Other"})


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


K = "kustomize.toolkit.fluxcd.io/v1"
TREE = {
    # the root: a folder without kustomization.yaml (Flux generates one)
    "clusters/dev/vars.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: vars, namespace: flux-system}
        data: {ip: 10.0.0.1}
    """,
    "clusters/dev/apps.yaml": f"""
        apiVersion: {K}
        kind: Kustomization
        metadata: {{name: apps, namespace: flux-system}}
        spec:
          path: ./apps
          sourceRef: {{kind: GitRepository, name: flux-system}}
          postBuild:
            substitute: {{domain: example.org}}
            substituteFrom: [{{kind: ConfigMap, name: vars}}]
    """,
    "clusters/dev/elsewhere.yaml": f"""
        apiVersion: {K}
        kind: Kustomization
        metadata: {{name: elsewhere, namespace: flux-system}}
        spec:
          path: ./not-followed
          sourceRef: {{kind: GitRepository, name: another-repo}}
    """,
    "apps/kustomization.yaml": """
        resources: [web.yaml, raw.yaml]
    """,
    "apps/web.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web, namespace: apps}
        data: {url: "https://web.${domain}", ip: "${ip}", literal: "$${domain}"}
    """,
    "apps/raw.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: raw
          namespace: apps
          annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}
        data: {kept: "${domain}"}
    """,
}
VARS = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "vars", "namespace": "flux-system"},
    "data": {"ip": "10.0.0.1"},
}
APPS_KUSTOMIZATION = {
    "apiVersion": K,
    "kind": "Kustomization",
    "metadata": {"name": "apps", "namespace": "flux-system"},
    "spec": {
        "path": "./apps",
        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        "postBuild": {
            "substitute": {"domain": "example.org"},
            "substituteFrom": [{"kind": "ConfigMap", "name": "vars"}],
        },
    },
}
ELSEWHERE = {
    "apiVersion": K,
    "kind": "Kustomization",
    "metadata": {"name": "elsewhere", "namespace": "flux-system"},
    "spec": {"path": "./not-followed", "sourceRef": {"kind": "GitRepository", "name": "another-repo"}},
}
WEB = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "web", "namespace": "apps"},
    "data": {"url": "https://web.example.org", "ip": "10.0.0.1", "literal": "${domain}"},
}
WEB_AS_WRITTEN = {**WEB, "data": {"url": "https://web.${domain}", "ip": "${ip}", "literal": "$${domain}"}}
RAW = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {
        "name": "raw",
        "namespace": "apps",
        "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"},
    },
    "data": {"kept": "${domain}"},
}


def test_walk_follows_every_kustomization_of_the_source_and_substitutes(tmp_path: Path) -> None:
    write(tmp_path, TREE)
    tree = walk(tmp_path, "./clusters/dev")
    root = "flux-system/flux-system"
    assert tree.objects == [  # in kustomize's order: ConfigMaps before custom resources, then by name
        AppliedObject(VARS, root, "./clusters/dev", VARS),
        AppliedObject(APPS_KUSTOMIZATION, root, "./clusters/dev", APPS_KUSTOMIZATION),
        AppliedObject(ELSEWHERE, root, "./clusters/dev", ELSEWHERE),  # another source's: not followed
        AppliedObject(RAW, "flux-system/apps", "./apps", RAW),
        AppliedObject(WEB, "flux-system/apps", "./apps", WEB_AS_WRITTEN),  # raw: before postBuild
    ]
    assert list(tree.kustomizations) == [root, "flux-system/apps"]
    assert tree.problems == []
    assert flux_objects(tmp_path, "./clusters/dev") == tree.objects


def test_strict_walk_refuses_a_missing_folder_and_an_unset_variable(tmp_path: Path) -> None:
    write(tmp_path, TREE)
    with pytest.raises(GitopsError) as missing:
        walk(tmp_path, "./clusters/nope")
    assert str(missing.value) == (
        f"Kustomization flux-system/flux-system: path ./clusters/nope is not a folder in {tmp_path}"
    )
    (tmp_path / "clusters/dev/vars.yaml").unlink()
    with pytest.raises(GitopsError) as unset:
        walk(tmp_path, "./clusters/dev")
    assert (
        str(unset.value)
        == "Kustomization flux-system/apps: substituteFrom ConfigMap/vars not found in the tree"
    )


def test_lenient_walk_reports_bad_files_and_missing_folders_and_builds_a_shared_folder_twice(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            **TREE,
            "clusters/dev/broken.yaml": "a: [1\n",
            "clusters/dev/again.yaml": f"""
                apiVersion: {K}
                kind: Kustomization
                metadata: {{name: again, namespace: flux-system}}
                spec: {{path: ./apps/, sourceRef: {{kind: GitRepository, name: flux-system}}}}
            """,
            "clusters/dev/gone.yaml": f"""
                apiVersion: {K}
                kind: Kustomization
                metadata: {{name: gone, namespace: flux-system}}
                spec: {{path: ./gone, sourceRef: {{kind: GitRepository, name: flux-system}}}}
            """,
        },
    )
    tree = walk(tmp_path, "./clusters/dev", strict=False)
    assert tree.problems == [
        Problem("clusters/dev/broken.yaml", 2, "not valid YAML: while parsing a flow sequence"),
        Problem("gone", 0, "Kustomization flux-system/gone: path ./gone is not a folder"),
    ]
    assert [(a.kustomization, a.obj["metadata"]["name"]) for a in tree.objects] == [
        ("flux-system/flux-system", "vars"),
        ("flux-system/flux-system", "again"),
        ("flux-system/flux-system", "apps"),
        ("flux-system/flux-system", "elsewhere"),
        ("flux-system/flux-system", "gone"),
        ("flux-system/again", "raw"),
        ("flux-system/again", "web"),  # no postBuild on again: not substituted
        ("flux-system/apps", "raw"),  # each Kustomization applies the folder, as Flux does
        ("flux-system/apps", "web"),
    ]


def test_lenient_walk_leaves_an_object_with_an_unset_variable_as_it_is(tmp_path: Path) -> None:
    write(tmp_path, TREE)
    (tmp_path / "clusters/dev/vars.yaml").unlink()
    tree = walk(tmp_path, "./clusters/dev", strict=False)
    assert tree.problems == [
        Problem(
            "apps", 0, "Kustomization flux-system/apps: substituteFrom ConfigMap/vars not found in the tree"
        ),
        Problem(
            "apps",
            0,
            "Kustomization flux-system/apps: variable ${ip} is not set (strict mode); left unsubstituted",
        ),
    ]
    assert tree.objects[-1] == AppliedObject(WEB_AS_WRITTEN, "flux-system/apps", "./apps", WEB_AS_WRITTEN)


def test_the_generated_kustomization_lists_manifests_and_sub_kustomizations(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "b.yaml": "{}",
            "a.yml": "{}",
            "notes.md": "",
            "skip._yaml": "",
            "sub/c.yaml": "{}",
            "sub/deeper/d.yaml": "{}",
            "kust/kustomization.yaml": "resources: []",
            "kust/inside.yaml": "{}",  # kust builds itself: not listed on its own
        },
    )
    assert [p.relative_to(tmp_path).as_posix() for p in generated_resources(tmp_path)] == [
        "kust",
        "a.yml",
        "b.yaml",
        "sub/c.yaml",
        "sub/deeper/d.yaml",
    ]
    assert has_kustomization(tmp_path / "kust") and not has_kustomization(tmp_path / "sub")


CM = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: cm, labels: {app: a}}
    data: {image: "nginx:1.0"}
"""
DEPLOY = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: nginx:1.0}]}
"""


@pytest.mark.parametrize("own_kustomization", [True, False])
def test_a_kustomizations_build_fields_are_applied_as_kustomize_controller_does(
    tmp_path: Path, own_kustomization: bool
) -> None:
    files = {
        "app/cm.yaml": CM,
        "app/deploy.yaml": DEPLOY,
        "extra/kustomization.yaml": """
            apiVersion: kustomize.config.k8s.io/v1alpha1
            kind: Component
            commonAnnotations: {component: "yes"}
        """,
    }
    if own_kustomization:
        files["app/kustomization.yaml"] = "resources: [cm.yaml, deploy.yaml]"
    write(tmp_path, files)
    spec = {
        "targetNamespace": "demo",
        "namePrefix": "p-",
        "nameSuffix": "-s",
        "images": [{"name": "nginx", "newTag": "2.0"}],
        "patches": [
            {"patch": '[{"op": "add", "path": "/data/x", "value": "1"}]', "target": {"kind": "ConfigMap"}}
        ],
        "components": ["../extra"],
        "commonMetadata": {"labels": {"team": "t"}, "annotations": {"owner": "o"}},
    }
    cm, deploy = documents(kustomize(tmp_path / "app", spec))
    annotations = {"component": "yes", "owner": "o"}
    assert cm == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "p-cm-s",
            "namespace": "demo",
            "labels": {"app": "a", "team": "t"},
            "annotations": annotations,
        },
        "data": {"image": "nginx:1.0", "x": "1"},
    }
    assert deploy["metadata"] == {
        "name": "p-web-s",
        "namespace": "demo",
        "labels": {"team": "t"},
        "annotations": annotations,
    }
    assert deploy["spec"]["selector"] == {"matchLabels": {"app": "web"}}  # labels without selectors
    assert deploy["spec"]["template"]["spec"]["containers"] == [{"name": "web", "image": "nginx:2.0"}]


def test_a_folder_with_its_own_kustomization_and_no_build_fields_is_built_as_it_is(tmp_path: Path) -> None:
    write(tmp_path, {"app/kustomization.yaml": "resources: [cm.yaml]\nnamespace: own", "app/cm.yaml": CM})
    (cm,) = documents(kustomize(tmp_path / "app", {"path": "./app", "prune": True}))
    assert cm["metadata"] == {"name": "cm", "namespace": "own", "labels": {"app": "a"}}


def test_an_empty_folder_builds_nothing_and_a_broken_one_fails_naming_it(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert kustomize(tmp_path / "empty") == ""
    write(tmp_path, {"bad/kustomization.yaml": "resources: [missing.yaml]"})
    with pytest.raises(BuildError) as info:
        kustomize(tmp_path / "bad")
    assert str(info.value).startswith(f"kustomize build of {tmp_path / 'bad'} failed: ")
    assert "missing.yaml" in str(info.value)


def test_excluded_files_are_left_out_of_the_generated_kustomization(tmp_path: Path) -> None:
    write(tmp_path, {"app/cm.yaml": CM, "app/broken.yaml": "a: [1"})
    (cm,) = documents(
        kustomize(tmp_path / "app", exclude=frozenset({(tmp_path / "app" / "broken.yaml").resolve()}))
    )
    assert cm["metadata"]["name"] == "cm"


def test_build_dir_substitutes_only_with_a_post_build(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {d: 'x-${v}'}\n"},
    )
    assert build_dir(tmp_path / "app") == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"d": "x-${v}"}}
    ]
    assert build_dir(tmp_path / "app", {"v": "1"}) == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"d": "x-1"}}
    ]


def test_build_dir_builds_with_the_kustomizations_build_fields(tmp_path: Path) -> None:
    write(tmp_path, {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
    assert build_dir(tmp_path / "app", None, {"namePrefix": "p-", "targetNamespace": "t"}) == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p-c", "namespace": "t"}}
    ]


def test_variables_come_from_secrets_too_and_an_optional_source_may_be_missing(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "clusters/dev/secret.yaml": """
                apiVersion: v1
                kind: Secret
                metadata: {name: creds, namespace: flux-system}
                data: {user: YWxpY2U=, raw: "not*base64"}
                stringData: {token: t0k}
            """,
            "clusters/dev/apps.yaml": f"""
                apiVersion: {K}
                kind: Kustomization
                metadata: {{name: apps, namespace: flux-system}}
                spec:
                  path: ./apps
                  sourceRef: {{kind: GitRepository, name: flux-system}}
                  postBuild:
                    substituteFrom:
                      - {{kind: Secret, name: creds}}
                      - {{kind: ConfigMap, name: absent, optional: true}}
                      - {{kind: ConfigMap, name: creds}}
            """,
            "apps/cm.yaml": """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: c, namespace: apps}
                data: {v: "${user}/${raw}/${token}"}
            """,
        },
    )
    tree = walk(tmp_path, "./clusters/dev", strict=False)
    assert tree.objects[-1].obj["data"] == {"v": "alice/not*base64/t0k"}
    assert tree.problems == [
        Problem(
            "apps", 0, "Kustomization flux-system/apps: substituteFrom ConfigMap/creds not found in the tree"
        )
    ]


def test_a_folder_kustomize_cannot_build_is_read_file_by_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "clusters/dev/kustomization.yaml": "resources: [missing.yaml]",
            "clusters/dev/cm.yaml": CM,
            "clusters/dev/more/list.yml": (
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\nnot: an object\n"
            ),
            "clusters/dev/broken.yaml": "a: [1",
        },
    )
    tree = walk(tmp_path, "./clusters/dev", strict=False)
    assert [(p.file, p.line) for p in tree.problems] == [("clusters/dev", 0), ("clusters/dev/broken.yaml", 2)]
    assert tree.problems[0].reason.endswith("; its files are read one by one instead")
    assert [a.obj["metadata"]["name"] for a in tree.objects] == ["cm", "n"]


BUILT = (
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {d: "x-${v}"}\n---\n'
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {d: "y-${v}"}\n'
)


def test_substituted_applies_the_post_build_variables_to_each_object() -> None:
    assert substituted(BUILT, {"v": "1"}) == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"d": "x-1"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"d": "y-1"}},
    ]


def test_substituted_without_a_post_build_is_the_objects_as_built() -> None:
    assert substituted(BUILT, None) == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"d": "x-${v}"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"d": "y-${v}"}},
    ]


@pytest.mark.parametrize(
    "files",
    [
        {"app/kustomization.yaml": "resources: [cm.yaml]", "app/cm.yaml": CM},  # its own kustomization
        {"app/sub/kustomization.yaml": "resources: [cm.yaml]", "app/sub/cm.yaml": CM},  # a sub-folder's
    ],
)
def test_a_build_with_build_fields_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> None:
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    (cm,) = documents(kustomize(tmp_path / "app", {"namePrefix": "p-"}))
    assert cm["metadata"] == {"name": "p-cm", "labels": {"app": "a"}}


def test_a_generated_folders_symlink_to_a_file_beside_it_fails_the_build(tmp_path: Path) -> None:
    write(tmp_path, {"other/cm.yaml": CM})
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "cm.yaml").symlink_to(tmp_path / "other" / "cm.yaml")
    app = (tmp_path / "app").resolve()
    with pytest.raises(BuildError) as info:
        kustomize(tmp_path / "app")
    assert str(info.value) == (
        f"kustomize build of {app} failed: {app / 'cm.yaml'}: leads outside {app} "
        f"(to {(tmp_path / 'other' / 'cm.yaml').resolve()})"
    )


def test_flux_objects_names_the_root_kustomization_as_given(tmp_path: Path) -> None:
    write(tmp_path, {"app/cm.yaml": CM})
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "labels": {"app": "a"}},
        "data": {"image": "nginx:1.0"},
    }
    assert flux_objects(tmp_path, "./app", "infra/root") == [AppliedObject(cm, "infra/root", "./app", cm)]


SECRET_VARIABLES = {"postBuild": {"substituteFrom": [{"kind": "Secret", "name": "s"}]}}


def secret(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data}


def test_a_secret_value_with_a_character_outside_base64_is_taken_as_written() -> None:
    assert postbuild_variables(SECRET_VARIABLES, "flux-system", [secret(user="YWxp*Y2U=")]) == (
        {"user": "YWxp*Y2U="},
        [],
    )


def test_a_secret_value_split_over_lines_is_decoded_as_kubernetes_does() -> None:
    assert postbuild_variables(SECRET_VARIABLES, "flux-system", [secret(user="YWxp\nY2U=\n")]) == (
        {"user": "alice"},
        [],
    )


def test_a_kustomization_naming_no_namespace_applies_from_flux_systems_source(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "clusters/dev/apps.yaml": f"""
                apiVersion: {K}
                kind: Kustomization
                metadata: {{name: apps}}
                spec: {{path: ./apps, sourceRef: {{kind: GitRepository, name: flux-system}}}}
            """,
            "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n",
        },
    )
    tree = walk(tmp_path, "./clusters/dev")
    assert list(tree.kustomizations) == ["flux-system/flux-system", "flux-system/apps"]
    assert [(o.kustomization, o.obj["metadata"]["name"]) for o in tree.objects] == [
        ("flux-system/flux-system", "apps"),
        ("flux-system/apps", "c"),
    ]


def test_a_character_yaml_refuses_is_reported_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, {"f.yaml": 'a: 1\nb: "\x07"\n'})
    assert yaml_error(tmp_path, tmp_path / "f.yaml") == (
        2,
        "not valid YAML: unacceptable character #x0007: control characters are not allowed",
    )


def test_kubectl_is_found_on_the_path_when_none_is_beside_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "venv").mkdir()
    (tmp_path / "bin").mkdir()
    on_path = tmp_path / "bin" / "kubectl"
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert kubectl() == str(on_path)
