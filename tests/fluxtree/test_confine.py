"""What a Flux tree may make kustomize and the importer read (eoepca_gitops.fluxtree.confine), and
kustomize's own restrictions under it: root-only loads, no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.errors import PathError
from eoepca_gitops.fluxtree import BuildError, kustomize
from eoepca_gitops.fluxtree.confine import check_build, kustomization_folder

CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """tmp/repo with apps/base (a kustomization and a manifest) and tmp/secret beside it."""
    root = tmp_path / "repo"
    (root / "apps" / "base").mkdir(parents=True)
    (root / "apps" / "base" / "cm.yaml").write_text(CONFIG_MAP.format("base"))
    kustomization(root / "apps" / "base", resources=["cm.yaml"])
    (tmp_path / "secret").write_text("password=hunter2\n")
    return root


def kustomization(folder: Path, **doc: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(doc))


def refused(repo: Path, folder: str, match: str, spec: dict[str, Any] | None = None) -> None:
    with pytest.raises(PathError, match=match):
        check_build(repo, repo / folder, spec or {}, "flux-system/apps")


def test_a_tree_inside_its_repository_passes(repo: Path) -> None:
    kustomization(
        repo / "apps" / "dev",
        resources=["../base", "extra.yaml"],
        configMapGenerator=[{"name": "g", "files": ["key=data.txt"], "envs": ["vars.env"]}],
        patches=[{"patch": "- op: add\n  path: /x\n  value: 1\n", "target": {"kind": "ConfigMap"}}],
        patchesStrategicMerge=["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n"],
    )
    check_build(repo, repo / "apps" / "dev", {}, "flux-system/apps")
    (repo / "plain").mkdir()
    (repo / "plain" / "a.yaml").write_text(CONFIG_MAP.format("a"))
    (repo / "plain" / "same.yaml").symlink_to(repo / "apps" / "base" / "cm.yaml")  # in the repository
    check_build(repo, repo / "plain", {}, "flux-system/apps")


@pytest.mark.parametrize(
    ("generator", "key"),
    [
        ({"files": ["/etc/passwd"]}, r"configMapGenerator\[0\]\.files\[0\]: /etc/passwd"),
        ({"files": ["pw=/etc/passwd"]}, r"configMapGenerator\[0\]\.files\[0\]: /etc/passwd"),
        ({"files": ["../../../secret"]}, r"configMapGenerator\[0\]\.files\[0\]: \.\./\.\./\.\./secret"),
        ({"envs": ["../../../secret"]}, r"configMapGenerator\[0\]\.envs\[0\]"),
        ({"env": "/etc/hostname"}, r"configMapGenerator\[0\]\.env"),
    ],
)
def test_a_generator_naming_a_file_outside_is_refused(
    repo: Path, generator: dict[str, Any], key: str
) -> None:
    kustomization(repo / "apps" / "dev", configMapGenerator=[{"name": "g", **generator}])
    refused(repo, "apps/dev", rf"apps/dev/kustomization.yaml: {key}.* leads outside the repository")


def test_every_path_field_is_confined(repo: Path) -> None:
    for field, value in (
        ("secretGenerator", [{"name": "s", "files": ["/etc/passwd"]}]),
        ("patches", [{"path": "/etc/passwd"}]),
        ("patchesJson6902", [{"path": "../../../secret"}]),
        ("patchesStrategicMerge", ["../../../secret"]),
        ("crds", ["/etc/passwd"]),
        ("configurations", ["/etc/passwd"]),
        ("transformers", ["/etc/passwd"]),
        ("replacements", [{"path": "/etc/passwd"}]),
        ("openapi", {"path": "/etc/passwd"}),
        ("resources", ["../../../secret"]),
        ("components", ["/etc"]),
    ):
        kustomization(repo / "apps" / "dev", **{field: value})
        refused(repo, "apps/dev", f"kustomization.yaml: {field}.*leads outside")


def test_what_a_base_names_is_confined_too(repo: Path) -> None:
    kustomization(
        repo / "apps" / "base",
        resources=["cm.yaml"],
        configMapGenerator=[{"name": "g", "files": ["/etc/passwd"]}],
    )
    kustomization(repo / "apps" / "dev", resources=["../base"])
    refused(repo, "apps/dev", r"apps/base/kustomization.yaml: configMapGenerator\[0\]\.files\[0\]")


def test_a_missing_local_file_is_left_to_kustomize(repo: Path) -> None:
    kustomization(repo / "apps" / "dev", resources=["nope.yaml", "missing/folder"])
    check_build(repo, repo / "apps" / "dev", {}, "flux-system/apps")


def test_a_symlink_out_in_a_generated_folder_is_refused(repo: Path, tmp_path: Path) -> None:
    (repo / "plain").mkdir()
    (repo / "plain" / "a.yaml").symlink_to(tmp_path / "secret")
    refused(repo, "plain", r"^plain/a.yaml: a symlink to .*secret, outside ")


def test_a_symlinked_folder_out_of_a_generated_folder_is_refused(repo: Path, tmp_path: Path) -> None:
    kustomization(tmp_path / "elsewhere", resources=[])
    (repo / "plain").mkdir()
    (repo / "plain" / "linked").symlink_to(tmp_path / "elsewhere")
    refused(repo, "plain", r"^plain/linked: a symlink to .*elsewhere, outside ")


def test_a_kustomization_file_that_is_a_symlink_out_is_refused(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text("resources: []\n")
    (repo / "apps" / "dev").mkdir()
    (repo / "apps" / "dev" / "kustomization.yaml").symlink_to(tmp_path / "k.yaml")
    refused(repo, "apps/dev", r"apps/dev/kustomization.yaml: a symlink to .*k.yaml, outside")


def test_spec_components_are_confined_and_copied_whole_only_from_inside(repo: Path, tmp_path: Path) -> None:
    refused(
        repo,
        "apps/base",
        r"Kustomization flux-system/apps: spec.components\[0\]: \.\./\.\./\.\./x",
        {"components": ["../../../x"]},
    )
    kustomization(repo / "components" / "c", kind="Component", apiVersion="kustomize.config.k8s.io/v1alpha1")
    (repo / "components" / "c" / "notes.txt").symlink_to(tmp_path / "secret")
    refused(repo, "apps/base", r"components/c/notes.txt: a symlink", {"components": ["../../components/c"]})


def test_a_kustomization_path_climbing_out_is_refused(repo: Path) -> None:
    assert (
        kustomization_folder(repo, "./apps/base", "flux-system/apps", "clusters/dev")
        == (repo / "apps" / "base").resolve()
    )
    assert kustomization_folder(repo, "./", "flux-system/apps", "clusters/dev") == repo.resolve()
    for path in ("../../..", "./apps/../../x", "/etc"):
        with pytest.raises(
            PathError,
            match=r"flux-system/apps \(applied from clusters/dev\): spec\.path: .* leads outside",
        ):
            kustomization_folder(repo, path, "flux-system/apps", "clusters/dev")


def test_kustomize_loads_only_from_a_kustomizations_own_folder(repo: Path) -> None:
    (repo / "apps" / "data.txt").write_text("x")
    kustomization(repo / "apps" / "dev", configMapGenerator=[{"name": "g", "files": ["../data.txt"]}])
    check_build(repo, repo / "apps" / "dev", {}, "flux-system/apps")  # in the repository: kustomize says
    with pytest.raises(BuildError, match="is not in or below"):
        kustomize(repo / "apps" / "dev")


def test_a_generated_folder_builds_with_its_files_and_sub_kustomizations(repo: Path) -> None:
    (repo / "plain" / "nested").mkdir(parents=True)
    (repo / "plain" / "a.yaml").write_text(CONFIG_MAP.format("a"))
    (repo / "plain" / "nested" / "b.yml").write_text(CONFIG_MAP.format("b"))
    kustomization(repo / "plain" / "sub", resources=["../../apps/base"])
    names = [
        d["metadata"]["name"] for d in yaml.safe_load_all(kustomize(repo / "plain", {"namePrefix": "p-"}))
    ]
    assert sorted(names) == ["p-a", "p-b", "p-base"]


@pytest.mark.parametrize(
    ("remote", "why"),
    [
        ("https://raw.githubusercontent.com/org/repo/main/app.yaml", "proxyconnect"),
        ("github.com/org/repo//deploy?ref=v1.0.0", "no 'git' program"),
    ],
)
def test_kustomize_itself_reaches_no_network(repo: Path, remote: str, why: str) -> None:
    kustomization(repo / "apps" / "dev", resources=[remote])
    with pytest.raises(BuildError, match=why):
        kustomize(repo / "apps" / "dev")


def test_an_inline_transformer_is_not_read_as_a_remote_path(repo: Path) -> None:
    inline = "apiVersion: builtin\nkind: PrefixTransformer\nmetadata:\n  name: p\nprefix: x-\n"
    kustomization(repo / "apps" / "dev", resources=["../base"], transformers=[inline])
    assert check_build(repo, repo / "apps" / "dev", {}, "flux-system/apps").remote == []


def test_an_inline_strategic_merge_patch_is_not_read_as_a_path(repo: Path) -> None:
    inline = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\ndata:\n  dir: ../../../../../../x\n"
    kustomization(repo / "apps" / "dev", resources=["../base"], patchesStrategicMerge=[inline])
    check_build(repo, repo / "apps" / "dev", {}, "flux-system/apps")


@pytest.mark.parametrize(
    "fields",
    [
        {"patches": [{"path": "example.org/patch.yaml"}]},
        {"configMapGenerator": [{"name": "g", "files": ["example.org/data.txt"]}]},
        {"configMapGenerator": [{"name": "g", "envs": ["example.org/vars.env"]}]},
        {"secretGenerator": [{"name": "g", "env": "example.org/vars.env"}]},
        {"openapi": {"path": "example.org/schema.json"}},
    ],
)
def test_a_path_kustomize_only_reads_locally_is_never_taken_for_a_remote_one(
    repo: Path, fields: dict[str, Any]
) -> None:
    kustomization(repo / "apps" / "dev", resources=["../base"], **fields)
    # missing: left to kustomize
    assert check_build(repo, repo / "apps" / "dev", {}, "flux-system/apps").remote == []


def test_a_generator_after_one_that_is_not_a_mapping_is_still_confined(repo: Path) -> None:
    kustomization(repo / "apps" / "dev", configMapGenerator=["junk", {"name": "g", "files": ["/etc/passwd"]}])
    with pytest.raises(PathError) as info:
        check_build(repo, repo / "apps" / "dev", {}, "flux-system/apps")
    assert str(info.value) == (
        f"apps/dev/kustomization.yaml: configMapGenerator[1].files[0]: /etc/passwd leads outside "
        f"the repository {repo}"
    )


def test_a_generator_files_key_ends_at_the_first_equals_sign(repo: Path) -> None:
    kustomization(repo / "apps" / "dev", configMapGenerator=[{"name": "g", "files": ["pw=../../../a=b"]}])
    with pytest.raises(PathError) as info:
        check_build(repo, repo / "apps" / "dev", {}, "flux-system/apps")
    assert str(info.value) == (
        f"apps/dev/kustomization.yaml: configMapGenerator[0].files[0]: ../../../a=b leads outside "
        f"the repository {repo}"
    )
