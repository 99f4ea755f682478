"""Merging an import into a project (importer/merge.py): a block already declared is shared, changed
by a stack override, or declared again under a new name; plain manifests and kustomize components
likewise. Each test writes the project's few files by hand."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.importer.assemble import AssembledBlock
from eoepca_gitops.importer.merge import Placed, place
from eoepca_gitops.importer.report import Report, ReportItem
from eoepca_gitops.model.blocks import Block, BlockOverride, ReleaseOverride

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "apps"}}


def _release(**changes: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "namespace": "apps",
        "chart": "web",
        "version": "1.0.0",
        "sourceRef": {"name": "charts"},
        "values": {"replicas": 1, "ingress": {"host": "web.example.org", "tls": True}},
        **changes,
    }


def _block(name: str = "apps", **changes: Any) -> dict[str, Any]:
    """A block as its clusters/blocks/ file says it (camelCase)."""
    return {
        "name": name,
        "kustomization": {"path": name, "interval": "10m", "substitute": {"env": "staging", "tier": "1"}},
        "helmReleases": [_release()],
        **changes,
    }


def _assembled(
    block: dict[str, Any],
    shared: Sequence[dict[str, Any]] = (),
    own: Sequence[dict[str, Any]] = (),
    components: dict[str, Path] | None = None,
) -> AssembledBlock:
    return AssembledBlock(Block.model_validate(block), list(shared), list(own), components or {})


def _project(tmp_path: Path, blocks: list[dict[str, Any]], enabled_elsewhere: Sequence[str] = ()) -> Path:
    """A project where an earlier import declared `blocks` and another stack enables `enabled_elsewhere`."""
    out = tmp_path / "project"
    (out / "clusters/blocks").mkdir(parents=True)
    for block in blocks:
        (out / f"clusters/blocks/{block['name']}.yaml").write_text(yaml.safe_dump(block))
    if enabled_elsewhere:
        (out / "Pulumi.other.yaml").write_text(
            yaml.safe_dump({"config": {"eoepca-gitops:blocks": list(enabled_elsewhere)}})
        )
    return out


def _placed(out: Path, *blocks: AssembledBlock, report: Report | None = None) -> list[Placed]:
    return place(out, "prod", list(blocks), report if report is not None else Report())


def _renamed(name: str) -> ReportItem:
    return ReportItem(
        f"clusters/blocks/{name}.yaml",
        0,
        f"block {name} differs from the one declared beyond what an override says (chart versions, values, "
        f"postBuild variables, interval); declared as {name}-prod",
    )


# Blocks


def test_a_block_the_project_does_not_declare_is_declared(tmp_path: Path) -> None:
    out = _project(tmp_path, [])
    [placed] = _placed(out, _assembled(_block(), shared=[CONFIG_MAP]))
    assert placed == Placed(Block.model_validate(_block()), True, None, [CONFIG_MAP], [], {}, False)


def test_a_block_the_project_declares_the_same_is_shared_without_an_override(tmp_path: Path) -> None:
    out = _project(tmp_path, [{**_block(), "description": "written by hand"}], ["apps"])
    [placed] = _placed(out, _assembled(_block()))
    assert (placed.declared, placed.override) == (False, BlockOverride())


def test_chart_versions_values_and_suspension_that_differ_are_a_release_override(tmp_path: Path) -> None:
    out = _project(tmp_path, [_block()], ["apps"])
    release = _release(
        version="1.1.0",
        values={"replicas": 3, "ingress": {"host": "web.example.org", "tls": True, "class": "nginx"}},
        suspend=True,
    )
    [placed] = _placed(out, _assembled(_block(helmReleases=[release])))
    assert placed.override == BlockOverride(
        releases={
            "web": ReleaseOverride(
                version="1.1.0", values={"replicas": 3, "ingress": {"class": "nginx"}}, suspend=True
            )
        }
    )
    assert placed.declared is False


def test_only_what_differs_of_a_release_is_in_its_override(tmp_path: Path) -> None:
    out = _project(tmp_path, [_block()], ["apps"])
    [placed] = _placed(out, _assembled(_block(helmReleases=[_release(version="2.0.0")])))
    assert placed.override == BlockOverride(releases={"web": ReleaseOverride(version="2.0.0")})


def test_a_value_of_another_type_is_a_release_override(tmp_path: Path) -> None:
    out = _project(tmp_path, [_block()], ["apps"])
    [placed] = _placed(
        out, _assembled(_block(helmReleases=[_release(values={"replicas": 1, "ingress": "none"})]))
    )
    assert placed.override == BlockOverride(releases={"web": ReleaseOverride(values={"ingress": "none"})})


def test_postbuild_variables_and_an_interval_that_differ_are_an_override(tmp_path: Path) -> None:
    out = _project(tmp_path, [_block()], ["apps"])
    kustomization = {
        "path": "apps",
        "interval": "1h",
        "substitute": {"env": "prod", "tier": "1", "zone": "eu"},
    }
    [placed] = _placed(out, _assembled(_block(kustomization=kustomization)))
    assert placed.override == BlockOverride(substitute={"env": "prod", "zone": "eu"}, interval="1h")


@pytest.mark.parametrize(
    "change",
    [
        {"helmReleases": [_release(values={"replicas": 1})]},
        {"helmReleases": [_release(values={"replicas": 1, "ingress": {"host": "web.example.org"}})]},
        {"helmReleases": [_release(name="api")]},
        {
            "helmReleases": [
                _release(chart="", version="", sourceRef={"kind": "OCIRepository", "name": "web"})
            ]
        },
        {"kustomization": {"path": "apps", "interval": "10m", "substitute": {"env": "staging"}}},
        {"namespaces": ["apps"]},
    ],
    ids=[
        "a value removed",
        "a nested value removed",
        "another release",
        "a whole chart",
        "a variable removed",
        "other fields",
    ],
)
def test_a_block_that_differs_beyond_an_override_from_one_enabled_elsewhere_is_renamed(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    out = _project(tmp_path, [_block()], ["apps"])
    report = Report()
    [placed] = _placed(out, _assembled(_block(**change)), report=report)
    assert (placed.block.name, placed.declared, placed.override) == ("apps-prod", True, None)
    assert report.items == [_renamed("apps")]


def test_a_versioned_chart_where_a_whole_one_was_is_renamed(tmp_path: Path) -> None:
    whole = _release(chart="", version="", sourceRef={"kind": "OCIRepository", "name": "web"})
    out = _project(tmp_path, [_block(helmReleases=[whole])], ["apps"])
    [placed] = _placed(out, _assembled(_block()))
    assert placed.block.name == "apps-prod"


def test_a_renamed_block_keeps_the_trees_kustomization_name_and_its_dependents_follow(tmp_path: Path) -> None:
    out = _project(tmp_path, [_block()], ["apps"])
    web = _assembled(_block("web", dependsOn=["apps"], kustomization={"path": "web"}))
    changed = _assembled(_block(namespaces=["apps"]))
    placed = {p.block.name: p.block for p in _placed(out, web, changed)}
    assert placed["apps-prod"].kustomization is not None
    assert placed["apps-prod"].kustomization.model_dump(exclude_defaults=True) == {
        "path": "apps-prod",
        "name": "apps",
        "interval": "10m",
        "substitute": {"env": "staging", "tier": "1"},
    }
    assert placed["web"].depends_on == ["apps-prod"]


def test_a_block_without_a_kustomization_is_renamed_as_it_is(tmp_path: Path) -> None:
    out = _project(tmp_path, [_block(kustomization=None)], ["apps"])
    [placed] = _placed(out, _assembled(_block(kustomization=None, namespaces=["apps"])))
    assert placed.block == Block.model_validate(_block("apps-prod", kustomization=None, namespaces=["apps"]))


def test_a_block_is_placed_after_the_blocks_it_depends_on(tmp_path: Path) -> None:
    out = _project(tmp_path, [])
    web = _assembled(_block("web", dependsOn=["apps", "infra"], kustomization={"path": "web"}))
    names = [p.block.name for p in _placed(out, web, _assembled(_block()))]
    assert names == ["apps", "web"]


def test_a_block_only_this_stack_enables_is_replaced(tmp_path: Path) -> None:
    out = _project(tmp_path, [_block()])
    (out / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": {"eoepca-gitops:blocks": ["apps"]}}))
    report = Report()
    [placed] = _placed(out, _assembled(_block(namespaces=["apps"])), report=report)
    assert (placed.block.name, placed.declared, placed.override) == ("apps", True, None)
    assert report.items == []


def test_a_block_file_the_model_refuses_is_not_the_same_block(tmp_path: Path) -> None:
    out = _project(tmp_path, [{**_block(), "unknown": True}], ["apps"])
    [placed] = _placed(out, _assembled(_block()))
    assert (placed.block.name, placed.declared) == ("apps-prod", True)


def test_a_new_name_another_block_of_the_import_took_is_not_taken_again(tmp_path: Path) -> None:
    out = _project(tmp_path, [_block()], ["apps"])
    first = _assembled(_block(namespaces=["apps"]))
    second = _assembled(_block("apps-prod", kustomization={"path": "apps-prod"}))
    assert [p.block.name for p in _placed(out, first, second)] == ["apps-prod", "apps-prod-prod"]


def test_a_block_both_names_of_which_differ_and_are_enabled_elsewhere_is_an_error(tmp_path: Path) -> None:
    out = _project(
        tmp_path, [_block(), _block("apps-prod", kustomization={"path": "x"})], ["apps", "apps-prod"]
    )
    with pytest.raises(
        GitopsError,
        match=r"^block apps: clusters/blocks/apps\.yaml and apps-prod\.yaml are declared differently and "
        r"enabled by other stacks; rename or remove one before importing$",
    ):
        _placed(out, _assembled(_block(namespaces=["apps"])))


# Plain manifests


def test_plain_manifests_that_differ_from_another_clusters_stay_this_clusters(tmp_path: Path) -> None:
    out = _project(tmp_path, [])
    (out / "clusters/flux/apps").mkdir(parents=True)
    (out / "clusters/flux/apps/kustomization.yaml").write_text("resources: []\n")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "apps"}}
    report = Report()
    [placed] = _placed(out, _assembled(_block(), shared=[CONFIG_MAP], own=[secret]), report=report)
    assert (placed.shared, placed.own, placed.separate) == ([], [secret, CONFIG_MAP], True)
    assert report.items == [
        ReportItem(
            "clusters/flux/apps",
            0,
            "block apps: this cluster's plain manifests differ from the shared ones; kept in "
            "clusters/prod/apps",
        )
    ]


def test_plain_manifests_where_no_cluster_has_any_are_shared(tmp_path: Path) -> None:
    out = _project(tmp_path, [])
    [placed] = _placed(out, _assembled(_block(), shared=[CONFIG_MAP]))
    assert (placed.shared, placed.own, placed.separate) == ([CONFIG_MAP], [], False)


# Kustomize components


def _component(root: Path, rel: str, text: str) -> Path:
    (root / rel).mkdir(parents=True)
    (root / rel / "kustomization.yaml").write_text(text)
    return root / rel


def _with_component(folder: Path) -> AssembledBlock:
    kustomization = {"path": "apps", "components": ["debug"]}
    return _assembled(_block(kustomization=kustomization), components={"debug": folder})


def test_a_component_is_placed_under_its_name(tmp_path: Path) -> None:
    out = _project(tmp_path, [])
    folder = _component(tmp_path, "tree/components/debug", "kind: Component\n")
    [placed] = _placed(out, _with_component(folder))
    assert placed.components == {"debug": folder}
    assert placed.block.kustomization is not None and placed.block.kustomization.components == ["debug"]


def test_a_component_the_project_holds_the_same_is_shared(tmp_path: Path) -> None:
    out = _project(tmp_path, [])
    _component(out, "clusters/components/debug", "kind: Component\n")
    folder = _component(tmp_path, "tree/components/debug", "kind: Component\n")
    [placed] = _placed(out, _with_component(folder))
    assert placed.components == {"debug": folder}


def test_a_component_the_project_holds_otherwise_gets_the_stacks_name(tmp_path: Path) -> None:
    out = _project(tmp_path, [])
    _component(out, "clusters/components/debug", "kind: Component\nresources: [a.yaml]\n")
    folder = _component(tmp_path, "tree/components/debug", "kind: Component\n")
    [placed] = _placed(out, _with_component(folder))
    assert placed.components == {"debug-prod": folder}
    assert placed.block.kustomization is not None and placed.block.kustomization.components == ["debug-prod"]


def test_a_component_the_project_holds_with_other_bytes_of_the_same_size_and_time_gets_the_stacks_name(
    tmp_path: Path,
) -> None:
    out = _project(tmp_path, [])
    theirs = _component(out, "clusters/components/debug", "kind: Component\nresources: [a.yaml]\n")
    folder = _component(tmp_path, "tree/components/debug", "kind: Component\nresources: [b.yaml]\n")
    for f in (theirs, folder):
        os.utime(f / "kustomization.yaml", (1_700_000_000, 1_700_000_000))
    [placed] = _placed(out, _with_component(folder))
    assert placed.components == {"debug-prod": folder}


def test_a_component_both_names_of_which_hold_other_content_is_an_error(tmp_path: Path) -> None:
    out = _project(tmp_path, [])
    _component(out, "clusters/components/debug", "kind: Component\nresources: [a.yaml]\n")
    _component(out, "clusters/components/debug-prod", "kind: Component\nresources: [b.yaml]\n")
    folder = _component(tmp_path, "tree/components/debug", "kind: Component\n")
    with pytest.raises(
        GitopsError,
        match=r"^kustomize component .*tree/components/debug: clusters/components/debug and "
        r"clusters/components/debug-prod both hold other content; move one away$",
    ):
        _placed(out, _with_component(folder))
