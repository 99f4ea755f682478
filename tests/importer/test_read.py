"""Reading a Flux tree for the import (importer/read.py): the folder and its repository, flux-system's
install manifest, controller patches and sync objects, the stack's `git` config, and where each
object is written. Each test writes the few files it needs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.importer.read import SourceIndex, TreeRoot, git_config, read_flux_system, tree_root
from eoepca_gitops.importer.report import Report, ReportItem

CLUSTER = "clusters/prod"
SYSTEM = f"{CLUSTER}/flux-system"
VERSION = "# Flux Version: v2.9.3\n"
ALL_SIX = (
    "# Components: source-controller,kustomize-controller,helm-controller,notification-controller,"
    "image-reflector-controller,image-automation-controller\n"
)
FOUR = "# Components: source-controller,kustomize-controller,helm-controller,notification-controller\n"
INSTALL_BODY = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _docs(*docs: dict[str, Any]) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in docs)


def _tree(root: Path, files: dict[str, str], cluster: str = CLUSTER) -> TreeRoot:
    _write(root, files)
    (root / cluster).mkdir(parents=True, exist_ok=True)
    return TreeRoot(root, root / cluster, f"./{cluster}")


def _flux(root: Path, files: dict[str, str]) -> tuple[dict[str, Any], list[ReportItem]]:
    """(the stack's `flux` config the tree says, the report's lines)."""
    report = Report()
    system = read_flux_system(_tree(root, files), report)
    return system.flux, report.items


def _patched(
    root: Path, kustomization: dict[str, Any], files: dict[str, str] | None = None
) -> dict[str, Any]:
    """The stack's `flux.patches` of a flux-system/kustomization.yaml (the four default controllers)."""
    flux, _ = _flux(
        root,
        {
            f"{SYSTEM}/gotk-components.yaml": VERSION + FOUR,
            f"{SYSTEM}/kustomization.yaml": yaml.safe_dump(kustomization),
            **{f"{SYSTEM}/{name}": text for name, text in (files or {}).items()},
        },
    )
    patches: dict[str, Any] = flux.get("patches", {})
    return patches


def _controller(name: str, pod: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"template": {"spec": pod}},
    }


# The folder and its repository


def test_a_tree_root_is_the_folder_within_its_repository(tmp_path: Path) -> None:
    (tmp_path / CLUSTER).mkdir(parents=True)
    tree = tree_root(tmp_path / CLUSTER, tmp_path)
    assert tree == TreeRoot(tmp_path.resolve(), (tmp_path / CLUSTER).resolve(), "./clusters/prod")
    assert tree.rel(tree.path / "apps.yaml") == "clusters/prod/apps.yaml"


def test_a_tree_root_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "apps.yaml").write_text("")
    with pytest.raises(GitopsError, match=r"apps\.yaml: not a folder$"):
        tree_root(tmp_path / "apps.yaml", tmp_path)


def test_a_tree_root_outside_the_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(GitopsError, match=r"elsewhere is not inside the repository root .*repo$"):
        tree_root(tmp_path / "elsewhere", tmp_path / "repo")


def test_without_a_repository_root_it_is_the_git_work_tree(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / CLUSTER).mkdir(parents=True)
    tree = tree_root(tmp_path / CLUSTER, None)
    assert (tree.repo_root, tree.root_path) == (tmp_path.resolve(), "./clusters/prod")


def test_without_a_repository_root_outside_git_it_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # wherever tmp_path is
    with pytest.raises(GitopsError, match=r"is not inside a Git work tree: pass --repo-root DIR"):
        tree_root(tmp_path, None)


# flux-system: the install manifest


def test_the_install_manifest_says_the_flux_version(tmp_path: Path) -> None:
    text = VERSION + FOUR + INSTALL_BODY
    report = Report()
    system = read_flux_system(_tree(tmp_path, {f"{SYSTEM}/gotk-components.yaml": text}), report)
    assert (system.flux, system.install_text, report.items) == ({"version": "v2.9.3"}, text, [])


def test_an_install_manifest_without_a_version_header_is_reported(tmp_path: Path) -> None:
    flux, report = _flux(tmp_path, {f"{SYSTEM}/gotk-components.yaml": FOUR + INSTALL_BODY})
    assert flux == {}
    assert report == [
        ReportItem(
            f"{SYSTEM}/gotk-components.yaml",
            1,
            "no '# Flux Version:' header; the stack uses the default version",
        )
    ]


def test_without_an_install_manifest_the_stack_uses_the_default_flux(tmp_path: Path) -> None:
    report = Report()
    system = read_flux_system(_tree(tmp_path, {f"{CLUSTER}/apps.yaml": ""}), report)
    assert (system.flux, system.install_text) == ({}, None)
    assert report.items == [
        ReportItem(
            "./clusters/prod", 0, "no flux-system/gotk-components.yaml: the stack uses the default Flux"
        )
    ]


def test_the_image_controllers_installed_are_the_extra_components(tmp_path: Path) -> None:
    flux, report = _flux(tmp_path, {f"{SYSTEM}/gotk-components.yaml": VERSION + ALL_SIX})
    assert flux == {
        "version": "v2.9.3",
        "componentsExtra": ["image-reflector-controller", "image-automation-controller"],
    }
    assert report == []


def test_fewer_controllers_installed_are_the_stacks_components(tmp_path: Path) -> None:
    header = "# Components: source-controller, kustomize-controller,\n"
    flux, _ = _flux(tmp_path, {f"{SYSTEM}/gotk-components.yaml": VERSION + header})
    assert flux == {"version": "v2.9.3", "components": ["source-controller", "kustomize-controller"]}


def test_controllers_flux_does_not_make_are_reported_and_left_out(tmp_path: Path) -> None:
    header = FOUR.rstrip("\n") + ",tf-controller,image-automation-controller,zz-controller\n"
    flux, report = _flux(tmp_path, {f"{SYSTEM}/gotk-components.yaml": VERSION + header})
    assert flux == {"version": "v2.9.3", "componentsExtra": ["image-automation-controller"]}
    assert report == [
        ReportItem(
            f"{SYSTEM}/gotk-components.yaml",
            1,
            "components not modelled, left out: tf-controller, zz-controller",
        )
    ]


def test_an_install_manifest_without_a_components_header_installs_the_default_ones(tmp_path: Path) -> None:
    flux, _ = _flux(tmp_path, {f"{SYSTEM}/gotk-components.yaml": VERSION + INSTALL_BODY})
    assert flux == {"version": "v2.9.3"}


def test_a_components_line_below_the_header_is_not_the_header(tmp_path: Path) -> None:
    text = VERSION + "#" * 2100 + "\n" + FOUR.replace(",helm-controller,notification-controller", "")
    flux, _ = _flux(tmp_path, {f"{SYSTEM}/gotk-components.yaml": text})
    assert flux == {"version": "v2.9.3"}


# flux-system: the controllers' patches


def test_a_strategic_merge_patch_of_a_controller_is_a_flux_patch(tmp_path: Path) -> None:
    pod = {
        "containers": [
            {"name": "manager", "resources": {"limits": {"memory": "1Gi"}}, "args": ["--concurrent=8"]},
            {"name": "sidecar", "resources": {"limits": {"memory": "9Gi"}}, "args": ["--other"]},
        ],
        "nodeSelector": {"role": "infra"},
        "tolerations": [{"key": "infra", "operator": "Exists"}],
    }
    patches = _patched(
        tmp_path,
        {"resources": ["gotk-components.yaml"], "patchesStrategicMerge": ["helm.yaml"]},
        {"helm.yaml": _docs(_controller("helm-controller", pod))},
    )
    assert patches == {
        "helm-controller": {
            "resources": {"limits": {"memory": "1Gi"}},
            "args": ["--concurrent=8"],
            "nodeSelector": {"role": "infra"},
            "tolerations": [{"key": "infra", "operator": "Exists"}],
        }
    }


def test_inline_patches_and_patch_files_of_one_controller_are_merged(tmp_path: Path) -> None:
    resources = {"name": "manager", "resources": {"requests": {"cpu": "1"}}}
    inline = _docs(_controller("kustomize-controller", {"containers": [resources]}))
    patches = _patched(
        tmp_path,
        {
            "patches": [
                {"patch": inline, "target": {"kind": "Deployment", "name": "kustomize-controller"}},
                {"path": "selector.yaml"},
            ]
        },
        {"selector.yaml": _docs(_controller("kustomize-controller", {"nodeSelector": {"role": "infra"}}))},
    )
    assert patches == {
        "kustomize-controller": {"resources": {"requests": {"cpu": "1"}}, "nodeSelector": {"role": "infra"}}
    }


def test_a_patch_that_changes_nothing_the_stack_says_is_no_flux_patch(tmp_path: Path) -> None:
    pod = {"containers": [{"name": "manager", "image": "mine"}], "nodeSelector": {}, "tolerations": []}
    kustomization = {"patchesStrategicMerge": ["source.yaml", "missing.yaml"]}
    files = {"source.yaml": _docs(_controller("source-controller", pod))}
    assert _patched(tmp_path, kustomization, files) == {}


def test_a_json_patch_adding_arguments_adds_them_to_the_controllers_it_targets(tmp_path: Path) -> None:
    ops = '[{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--log-level=debug"}]'
    kustomization = {
        "patches": [
            {"patch": ops, "target": {"kind": "Deployment", "name": "(helm|source)-controller"}},
            {
                "patch": ops.replace("debug", "info"),
                "target": {"kind": "Deployment", "name": "helm-controller"},
            },
        ]
    }
    assert _patched(tmp_path, kustomization) == {
        "helm-controller": {"args": ["--log-level=debug", "--log-level=info"]},
        "source-controller": {"args": ["--log-level=debug"]},
    }


def test_a_json_patch_without_a_name_adds_to_every_controller_installed(tmp_path: Path) -> None:
    ops = '[{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": 5}]'
    patches = _patched(tmp_path, {"patches": [{"patch": ops, "target": {"kind": "Deployment"}}]})
    assert patches == {
        "source-controller": {"args": ["5"]},
        "kustomize-controller": {"args": ["5"]},
        "helm-controller": {"args": ["5"]},
        "notification-controller": {"args": ["5"]},
    }


def test_a_patch_of_a_controller_not_installed_is_left_out(tmp_path: Path) -> None:
    pod = {"nodeSelector": {"role": "infra"}}
    inline = _docs(_controller("image-automation-controller", pod))
    assert _patched(tmp_path, {"patches": [{"patch": inline}]}) == {}


def test_a_json_patch_of_another_kind_is_ignored(tmp_path: Path) -> None:
    ops = '[{"op": "add", "path": "/spec/x/args/-", "value": "a"}]'
    assert (
        _patched(tmp_path, {"patches": [{"patch": ops, "target": {"kind": "Service"}}, "not-a-patch"]}) == {}
    )


def test_json_patch_operations_other_than_adding_an_argument_are_reported(tmp_path: Path) -> None:
    ops = [
        {"op": "replace", "path": "/spec/replicas", "value": 2},
        {"op": "add", "path": "/spec/template/spec/nodeSelector", "value": {"a": "b" * 100}},
    ]
    kustomization = {"patches": [{"patch": yaml.safe_dump(ops), "target": {"kind": "Deployment"}}]}
    _, report = _flux(
        tmp_path,
        {
            f"{SYSTEM}/gotk-components.yaml": VERSION + FOUR,
            f"{SYSTEM}/kustomization.yaml": yaml.safe_dump(kustomization),
        },
    )
    where = f"{SYSTEM}/kustomization.yaml"
    assert report == [
        ReportItem(
            where,
            0,
            "flux-system JSON patch {'op': 'replace', 'path': '/spec/replicas', 'value': 2} not modelled, "
            "left out",
        ),
        ReportItem(
            where,
            0,
            # the operation's first 80 characters
            "flux-system JSON patch {'op': 'add', 'path': '/spec/template/spec/nodeSelector', 'value': "
            "{'a': 'bbbbbb not modelled, left out",
        ),
    ]


def test_patches_of_other_objects_are_reported_but_the_sync_kustomizations(tmp_path: Path) -> None:
    sync = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization"}
    others = _docs(
        {**sync, "metadata": {"name": "flux-system"}, "spec": {"prune": False}},
        {**sync, "metadata": {"name": "apps"}},
        _controller("coredns", {"nodeSelector": {"a": "b"}}),
    )
    kustomization = {"patchesStrategicMerge": ["others.yaml"]}
    _, report = _flux(
        tmp_path,
        {
            f"{SYSTEM}/gotk-components.yaml": VERSION + FOUR,
            f"{SYSTEM}/kustomization.yaml": yaml.safe_dump(kustomization),
            f"{SYSTEM}/others.yaml": others,
        },
    )
    assert report == [
        ReportItem(
            f"{SYSTEM}/others.yaml", 0, "flux-system patch of Kustomization apps not modelled, left out"
        ),
        ReportItem(
            f"{SYSTEM}/others.yaml", 0, "flux-system patch of Deployment coredns not modelled, left out"
        ),
    ]


# flux-system: the sync objects

GIT_REPOSITORY = {
    "apiVersion": "source.toolkit.fluxcd.io/v1",
    "kind": "GitRepository",
    "metadata": {"name": "flux-system", "namespace": "flux-system"},
    "spec": {"url": "https://example.org/fleet", "ref": {"branch": "main"}},
}


def _root(path: str, **source: str) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {"path": path, "sourceRef": {"kind": "GitRepository", "name": "flux-system", **source}},
    }


def _sync(root: Path, files: dict[str, str]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    system = read_flux_system(_tree(root, files), Report())
    return system.root_kustomization, system.git_repository


@pytest.mark.parametrize(
    "path", ["./clusters/prod", "clusters/prod", "./clusters/prod/", "./clusters/x/../prod"]
)
def test_the_sync_objects_are_the_kustomization_of_the_folder_and_its_git_source(
    tmp_path: Path, path: str
) -> None:
    files = {f"{SYSTEM}/gotk-sync.yaml": _docs(GIT_REPOSITORY, _root(path))}
    assert _sync(tmp_path, files) == (_root(path), GIT_REPOSITORY)


def test_the_sync_objects_may_be_in_any_file_of_the_tree(tmp_path: Path) -> None:
    files = {
        f"{CLUSTER}/a/source.yml": _docs(GIT_REPOSITORY),
        f"{CLUSTER}/b/root.yaml": _docs(_root(CLUSTER)),
    }
    assert _sync(tmp_path, files) == (_root(CLUSTER), GIT_REPOSITORY)


def test_a_tree_without_the_kustomization_of_its_folder_has_no_sync_objects(tmp_path: Path) -> None:
    files = {
        f"{SYSTEM}/gotk-sync.yaml": _docs(GIT_REPOSITORY, _root("./clusters/staging")),
        f"{SYSTEM}/other.json": _docs(_root(CLUSTER)),
    }
    assert _sync(tmp_path, files) == (None, None)


def test_files_that_are_not_valid_yaml_or_not_objects_are_skipped(tmp_path: Path) -> None:
    files = {
        f"{CLUSTER}/a-broken.yaml": "kind: [\n",
        f"{CLUSTER}/b-list.yaml": "- a\n---\nplain text\n",
        f"{SYSTEM}/gotk-sync.yaml": _docs(GIT_REPOSITORY, _root(CLUSTER)),
    }
    assert _sync(tmp_path, files) == (_root(CLUSTER), GIT_REPOSITORY)


def test_the_git_source_is_the_one_of_the_sources_name_and_namespace(tmp_path: Path) -> None:
    other_name = {**GIT_REPOSITORY, "metadata": {"name": "fleet", "namespace": "flux-system"}}
    other_namespace = {**GIT_REPOSITORY, "metadata": {"name": "flux-system", "namespace": "apps"}}
    bucket = {**GIT_REPOSITORY, "kind": "Bucket"}
    files = {f"{SYSTEM}/gotk-sync.yaml": _docs(other_name, bucket, other_namespace, _root(CLUSTER))}
    assert _sync(tmp_path, files) == (_root(CLUSTER), None)


def test_the_git_source_is_in_the_namespace_its_reference_says(tmp_path: Path) -> None:
    source = {**GIT_REPOSITORY, "metadata": {"name": "flux-system", "namespace": "apps"}}
    files = {f"{SYSTEM}/gotk-sync.yaml": _docs(GIT_REPOSITORY, source, _root(CLUSTER, namespace="apps"))}
    assert _sync(tmp_path, files) == (_root(CLUSTER, namespace="apps"), source)


def test_without_namespaces_the_sync_objects_are_in_fluxs(tmp_path: Path) -> None:
    source = {**GIT_REPOSITORY, "metadata": {"name": "flux-system"}}
    root = {**_root(CLUSTER), "metadata": {"name": "flux-system"}}
    files = {f"{SYSTEM}/gotk-sync.yaml": _docs(source, root)}
    assert _sync(tmp_path, files) == (root, source)


def test_the_git_source_is_in_the_namespace_of_its_kustomization(tmp_path: Path) -> None:
    source = {**GIT_REPOSITORY, "metadata": {"name": "flux-system", "namespace": "apps"}}
    root = {**_root(CLUSTER), "metadata": {"name": "flux-system", "namespace": "apps"}}
    files = {f"{SYSTEM}/gotk-sync.yaml": _docs(GIT_REPOSITORY, source, root)}
    assert _sync(tmp_path, files) == (root, source)


# The stack's `git` config


def _git(spec: dict[str, Any]) -> tuple[dict[str, Any], list[ReportItem]]:
    report = Report()
    git = git_config({"kind": "GitRepository", "spec": spec}, "./clusters/prod", report)
    return git, report.items


def test_without_a_git_source_the_git_config_is_left_to_set(tmp_path: Path) -> None:
    report = Report()
    assert git_config(None, "./clusters/prod", report) == {}
    assert report.items == [
        ReportItem(
            "./clusters/prod", 0, "no GitRepository the tree syncs from: set eoepca-gitops:git.url and a ref"
        )
    ]


def test_the_git_config_is_the_sources_url_ref_interval_timeout_and_ignore() -> None:
    spec = {
        "url": "https://example.org/fleet",
        "ref": {"tag": "v1.2.0", "name": "refs/tags/v1.2.0"},
        "interval": "1m0s",
        "timeout": "60s",
        "ignore": "/docs\n",
        "recurseSubmodules": True,
    }
    assert _git(spec) == (
        {
            "url": "https://example.org/fleet",
            "tag": "v1.2.0",
            "interval": "1m0s",
            "timeout": "60s",
            "ignore": "/docs\n",
        },
        [],
    )


@pytest.mark.parametrize("ref", [None, {}, {"name": "refs/heads/main"}])
def test_a_source_without_a_branch_tag_semver_or_commit_follows_master(ref: dict[str, str] | None) -> None:
    assert _git({"url": "https://example.org/fleet", "ref": ref}) == (
        {"url": "https://example.org/fleet", "branch": "master"},
        [],
    )


def test_a_commit_is_the_only_ref_kept() -> None:
    git, _ = _git({"url": "u", "ref": {"branch": "main", "commit": "3f2a1c9e"}})
    assert git == {"url": "u", "commit": "3f2a1c9e"}


def test_a_branch_and_semver_are_kept_both() -> None:
    git, _ = _git({"url": "u", "ref": {"branch": "main", "semver": ">=1.0.0"}})
    assert git == {"url": "u", "branch": "main", "semver": ">=1.0.0"}


def test_a_source_without_a_spec_has_an_empty_url() -> None:
    report = Report()
    assert git_config({"kind": "GitRepository"}, "./x", report) == {"url": "", "branch": "master"}


@pytest.mark.parametrize(
    ("url", "auth"),
    [
        ("https://example.org/fleet", "https"),
        ("http://git.local/fleet", "https"),
        ("ssh://git@x/fleet", "ssh"),
    ],
)
def test_the_git_credentials_are_a_stack_secret_of_the_urls_kind(url: str, auth: str) -> None:
    git, report = _git({"url": url, "secretRef": {"name": "flux-system"}})
    assert git == {"url": url, "branch": "master", "auth": {"type": auth}}
    assert report == [
        ReportItem(
            "./clusters/prod",
            0,
            "Git credentials (Secret flux-system, made by flux bootstrap) become a stack secret: set "
            "gitSshPrivateKey or gitPassword with --secret",
        )
    ]


def test_a_secret_ref_without_a_name_is_no_credentials() -> None:
    assert _git({"url": "u", "ref": {"branch": "main"}, "secretRef": {}}) == (
        {"url": "u", "branch": "main"},
        [],
    )


# Where each object is written


def test_an_object_is_where_its_kind_line_is(tmp_path: Path) -> None:
    text = (
        "# apps\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: web\n"
        "---\n"
        "# the second\n"
        "\n"
        "apiVersion: v1\n"
        "kind: 'Secret'\n"
        "metadata:\n"
        "  labels:\n"
        "    a: b\n"
        '  name: "web"\n'
        "--- # a third\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: db\n"
    )
    _write(tmp_path, {"apps/web.yaml": text})
    sources = SourceIndex(tmp_path, [tmp_path])
    assert sources.where({"kind": "ConfigMap", "metadata": {"name": "web"}}, "apps") == ("apps/web.yaml", 3)
    assert sources.where({"kind": "Secret", "metadata": {"name": "web"}}, "apps") == ("apps/web.yaml", 10)
    assert sources.where({"kind": "ConfigMap", "metadata": {"name": "db"}}, "apps") == ("apps/web.yaml", 16)


def test_a_name_in_metadata_s_labels_is_not_the_object_s_name(tmp_path: Path) -> None:
    doc = "kind: ConfigMap\nmetadata:\n  labels:\n    name: other\n  name: web\n"
    _write(tmp_path, {"apps/web.yaml": doc, "apps/bare.yaml": "kind: ConfigMap\nmetadata:\n  labels: {}\n"})
    sources = SourceIndex(tmp_path, [tmp_path / "apps"])
    assert sources.index == {("ConfigMap", "web"): [("apps/web.yaml", 1, None)]}


def test_an_object_at_the_top_of_a_document_is_on_its_first_line(tmp_path: Path) -> None:
    _write(tmp_path, {"a.yml": "---\nkind: Namespace\nmetadata:\n  name: web\n"})
    sources = SourceIndex(tmp_path, [tmp_path])
    assert sources.where({"kind": "Namespace", "metadata": {"name": "web"}}, ".") == ("a.yml", 2)


def test_an_object_written_twice_is_the_one_in_the_folder_applied(tmp_path: Path) -> None:
    doc = "kind: ConfigMap\nmetadata:\n  name: web\n"
    _write(tmp_path, {"apps/base/web.yaml": doc, "apps/prod/web.yaml": doc, "apps/prod-eu/web.yaml": doc})
    sources = SourceIndex(tmp_path, [tmp_path])
    web = {"kind": "ConfigMap", "metadata": {"name": "web"}}
    assert sources.where(web, "./apps/prod-eu") == ("apps/prod-eu/web.yaml", 1)
    assert sources.where(web, "apps/prod") == ("apps/prod/web.yaml", 1)
    assert sources.where(web, "apps/staging") == ("apps/base/web.yaml", 1)


def test_an_object_not_written_in_the_tree_is_its_folder(tmp_path: Path) -> None:
    _write(tmp_path, {"apps/web.yaml": "kind: ConfigMap\nmetadata:\n  name: web\n"})
    sources = SourceIndex(tmp_path, [tmp_path])
    assert sources.where({"kind": "ConfigMap", "metadata": {"name": "db"}}, "apps") == ("apps", 0)
    assert sources.where({"kind": "Secret"}, "apps") == ("apps", 0)


def test_only_yaml_files_of_the_folders_are_indexed_each_once(tmp_path: Path) -> None:
    doc = "kind: ConfigMap\nmetadata:\n  name: web\n"
    _write(
        tmp_path, {"apps/web.yaml": doc, "apps/web.json": doc, "apps/web._yaml": doc, "other/web.yaml": doc}
    )
    sources = SourceIndex(tmp_path, [tmp_path / "apps", tmp_path / "apps"])
    assert sources.index == {("ConfigMap", "web"): [("apps/web.yaml", 1, None)]}


def test_of_two_objects_of_one_kind_and_name_the_one_of_the_objects_namespace_is_named(
    tmp_path: Path,
) -> None:
    spec = "spec:\n  sourceRef:\n    namespace: flux-system\n"  # a namespace, but not metadata's
    _write(
        tmp_path,
        {
            "apps/a.yaml": f"kind: HelmRelease\nmetadata:\n  name: web\n  namespace: rm\n{spec}",
            "apps/b.yaml": (
                f"kind: HelmRelease\nmetadata:\n    labels: {{}}\n    namespace: user1\n    name: web\n{spec}"
            ),
            "apps/c.yaml": f"kind: HelmRelease\nmetadata:\n  name: web\n{spec}",
        },
    )
    sources = SourceIndex(tmp_path, [tmp_path / "apps"])
    assert [e[2] for e in sources.index[("HelmRelease", "web")]] == ["rm", "user1", None]

    def where(namespace: str) -> tuple[str, int]:
        return sources.where(
            {"kind": "HelmRelease", "metadata": {"name": "web", "namespace": namespace}}, "apps"
        )

    assert where("user1") == ("apps/b.yaml", 1)
    assert where("rm") == ("apps/a.yaml", 1)
    assert where("web") == ("apps/c.yaml", 1)  # set by a kustomization's namespace: the file naming none


def test_a_document_without_a_kind_or_a_name_is_not_indexed(tmp_path: Path) -> None:
    _write(tmp_path, {"a.yaml": "kind: ConfigMap\ndata: {}\n---\nmetadata:\n  name: web\n---\nkind: List\n"})
    assert SourceIndex(tmp_path, [tmp_path]).index == {}
