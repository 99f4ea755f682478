"""Remote bases (issue 28): every form kustomize reads as remote, listed instead of refused; the
folders only Flux can build stand in for themselves offline; import carries them unchanged; render
shows them, and refuses them where the stack's Flux runs with --no-remote-bases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.fluxtree import walk
from eoepca_gitops.fluxtree.confine import check_build
from eoepca_gitops.fluxtree.offline import build_offline
from eoepca_gitops.fluxtree.remote import classify, is_standin
from tests.fluxtree.remote_trees import CONFIG_MAP, FORMS, imported_project, remote_tree, write
from tests.importer.roundtrip import render


@pytest.mark.parametrize("entry", list(FORMS))
def test_each_remote_form_is_read_as_kustomize_reads_it(entry: str) -> None:
    found = classify(entry)
    assert found is not None
    assert (found.kind, found.repo, found.path, found.ref) == FORMS[entry]


@pytest.mark.parametrize(
    "entry",
    [
        "../base",
        "app.yaml",
        "./x?ref=v1",
        "example.org/org/repo/deploy",
        "/abs/path",
        "s3://bucket/x",
        "a//b",
    ],
)
def test_a_local_path_is_local(entry: str) -> None:
    assert classify(entry) is None


def test_a_file_field_fetches_only_http_urls() -> None:
    assert classify("https://example.org/patch.yaml", may_be_folder=False) is not None
    assert classify("github.com/org/repo//patch.yaml", may_be_folder=False) is None


def test_a_remote_entry_is_listed_with_its_file_line_and_key(tmp_path: Path) -> None:
    write(
        tmp_path, "apps/kustomization.yaml", {"resources": ["cm.yaml", "github.com/org/repo//deploy?ref=v1"]}
    )
    reads = check_build(tmp_path, tmp_path / "apps", {}, "flux-system/apps")
    [use] = reads.remote
    assert (use.folder, use.file, use.line, use.key) == ("apps", "apps/kustomization.yaml", 3, "resources[1]")
    assert use.remote.ref == "v1"
    assert reads.opaque(tmp_path) == {(tmp_path / "apps").resolve()}


def test_a_local_file_named_like_a_repository_is_local(tmp_path: Path) -> None:
    write(tmp_path, "apps/github.com/org/repo.yaml", CONFIG_MAP)
    write(tmp_path, "apps/kustomization.yaml", {"resources": ["github.com/org/repo.yaml"]})
    assert check_build(tmp_path, tmp_path / "apps", {}, "x").remote == []


def test_a_kustomization_changing_a_remote_folder_is_built_by_flux_with_it(tmp_path: Path) -> None:
    write(tmp_path, "apps/kustomization.yaml", {"resources": ["ns", "plain"]})
    write(tmp_path, "apps/ns/kustomization.yaml", {"namespace": "x", "resources": ["../remote"]})
    write(tmp_path, "apps/plain/kustomization.yaml", {"resources": ["../remote2"]})
    write(tmp_path, "apps/remote/kustomization.yaml", {"resources": ["https://example.org/a.yaml"]})
    write(tmp_path, "apps/remote2/kustomization.yaml", {"resources": ["https://example.org/b.yaml"]})
    reads = check_build(tmp_path, tmp_path / "apps", {}, "x")
    root = tmp_path.resolve()
    assert reads.opaque(root) == {root / "apps/ns", root / "apps/remote2"}


def test_offline_a_remote_folder_stands_in_for_itself_beside_the_local_objects(tmp_path: Path) -> None:
    repo = remote_tree(tmp_path)
    folder = repo / "infrastructure"
    objects = list(yaml.safe_load_all(build_offline(repo, folder, {}, check_build(repo, folder, {}, "x"))))
    assert [o["metadata"]["name"] for o in objects if not is_standin(o)] == ["local"]
    standins = [o for o in objects if is_standin(o)]
    assert [o["metadata"]["name"] for o in standins] == [
        f"infrastructure/base/b{i}" for i in range(len(FORMS))
    ]
    assert [o["resources"] for o in standins] == [[f] for f in FORMS]


def test_the_walk_lists_each_remote_entry_and_substitutes_nothing_into_a_stand_in(tmp_path: Path) -> None:
    repo = remote_tree(tmp_path, ["https://example.org/${VAR}.yaml"])
    spec = {"path": "./infrastructure", "postBuild": {"substitute": {"OTHER": "x"}}}
    root = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization"}
    tree = walk(repo, "./infrastructure", {**root, "metadata": {"name": "infra"}, "spec": spec}, strict=True)
    assert [u.remote.entry for u in tree.remote] == ["https://example.org/${VAR}.yaml"]
    [standin] = [a.obj for a in tree.objects if is_standin(a.obj)]
    assert standin["resources"] == ["https://example.org/${VAR}.yaml"]


def test_import_carries_remote_folders_unchanged_and_reports_each(tmp_path: Path) -> None:
    repo, _out, result = imported_project(tmp_path)
    listed = yaml.safe_load(result.files["clusters/flux/infra/kustomization.yaml"])["resources"]
    assert listed[: len(FORMS)] == [f"remote/infrastructure/base/b{i}" for i in range(len(FORMS))]
    for i in range(len(FORMS)):
        for name in ("kustomization.yaml", "patch.yaml"):
            carried = result.files[f"clusters/flux/infra/remote/infrastructure/base/b{i}/{name}"]
            assert carried == (repo / f"infrastructure/base/b{i}/{name}").read_text()
    report = result.files["import-report.md"]
    for i, entry in enumerate(FORMS):
        assert f"- `infrastructure/base/b{i}/kustomization.yaml:2` resources[0]: {entry} (" in report
    assert report.count("built by Flux at apply time") == len(FORMS)


@pytest.mark.flux_manifests
def test_render_shows_the_local_objects_and_each_remote_folder(tmp_path: Path) -> None:
    _, out, _ = imported_project(tmp_path)
    _, objects, _ = render(out, "home")
    assert next(o for o in objects if o.get("metadata", {}).get("name") == "local")["kind"] == "ConfigMap"
    standins = sorted(o["metadata"]["name"] for o in objects if is_standin(o))
    assert standins == [f"clusters/flux/infra/remote/infrastructure/base/b{i}" for i in range(len(FORMS))]


@pytest.mark.flux_manifests
def test_a_stack_whose_flux_refuses_remote_bases_refuses_them(tmp_path: Path) -> None:
    _, out, _ = imported_project(tmp_path, ["github.com/org/repo//deploy?ref=v1"])
    path = out / "Pulumi.home.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["config"]["eoepca-gitops:flux"]["patches"] = {"kustomize-controller": {"args": ["--no-remote-bases"]}}
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        render(out, "home")
    assert str(info.value).startswith(
        "clusters/flux/infra/remote/infrastructure/base/b0/kustomization.yaml:2: resources[0]: "
        "github.com/org/repo//deploy?ref=v1 is a remote resource, and this stack's kustomize-controller "
        "runs with --no-remote-bases"
    )
