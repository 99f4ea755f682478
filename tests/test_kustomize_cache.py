"""kustomize builds kept by what they read (eoepca_gitops.kustomize_cache)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops import kustomize_cache
from eoepca_gitops.errors import PathError
from eoepca_gitops.fluxtree import BuildError, documents, kustomize
from eoepca_gitops.kustomize_cache import build_key, cached_kustomize_all

CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"


def kustomization(folder: Path, **doc: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(doc))


def tree(root: Path) -> Path:
    """apps/dev builds ../base (a kustomization) and its own file; other/ is read by nothing."""
    kustomization(root / "apps" / "base", resources=["cm.yaml"])
    (root / "apps" / "base" / "cm.yaml").write_text(CONFIG_MAP.format("base"))
    kustomization(root / "apps" / "dev", resources=["../base", "extra.yaml"])
    (root / "apps" / "dev" / "extra.yaml").write_text(CONFIG_MAP.format("extra"))
    (root / "other").mkdir()
    (root / "other" / "x.yaml").write_text(CONFIG_MAP.format("x"))
    return root


@pytest.fixture
def builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """A cache of its own, no build of an earlier test in memory, and every real build recorded."""
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(kustomize_cache, "_building", {})
    done: list[Path] = []
    real = kustomize

    def recorded(
        folder: Path, spec: Mapping[str, Any] | None = None, exclude: frozenset[Path] = frozenset()
    ) -> str:
        done.append(folder)
        return real(folder, spec, exclude)

    monkeypatch.setattr("eoepca_gitops.fluxtree.offline.kustomize", recorded)
    return done


def key(root: Path, folder: str = "apps/dev", spec: Mapping[str, Any] | None = None) -> str:
    return build_key(root, root / folder, spec or {}, "flux-system/apps")


def test_the_key_covers_what_kustomize_may_read_and_nothing_else(tmp_path: Path) -> None:
    root = tree(tmp_path / "a")
    first = key(root)
    assert key(tree(tmp_path / "b")) == first  # the same files elsewhere: the same build
    (root / "other" / "x.yaml").write_text(CONFIG_MAP.format("changed"))
    assert key(root) == first  # read by nothing
    (root / "apps" / "base" / "cm.yaml").write_text(CONFIG_MAP.format("changed"))
    assert key(root) != first  # a folder its kustomization leads to
    changed = key(root)
    (root / "apps" / "dev" / "notes.md").write_text("x")
    assert key(root) != changed  # any file below the folder (a generated kustomization takes it)
    assert key(root, spec={"targetNamespace": "x"}) != key(root)  # the build fields
    assert key(root, spec={"interval": "1m"}) == key(root)  # not a build field


def test_a_symlink_is_part_of_the_key(tmp_path: Path) -> None:
    root = tree(tmp_path / "a")
    plain = root / "plain"
    plain.mkdir()
    (plain / "a.yaml").symlink_to(root / "apps" / "base" / "cm.yaml")
    before = key(root, "plain")
    (root / "apps" / "base" / "cm.yaml").write_text(CONFIG_MAP.format("changed"))
    assert key(root, "plain") != before  # what it points to


def test_a_build_that_reads_outside_the_repository_is_refused_before_kustomize(
    tmp_path: Path, builds: list[Path]
) -> None:
    root = tree(tmp_path / "a")
    (tmp_path / "secret.yaml").write_text(CONFIG_MAP.format("secret"))
    (root / "plain").mkdir()
    (root / "plain" / "s.yaml").symlink_to(tmp_path / "secret.yaml")
    with pytest.raises(PathError, match="outside"):
        cached_kustomize_all(root, [("flux-system/apps", root / "plain", {})])
    assert builds == []


def test_a_folder_is_built_once_in_a_run_and_across_runs(tmp_path: Path, builds: list[Path]) -> None:
    base, head = tree(tmp_path / "base"), tree(tmp_path / "head")
    (head / "other" / "x.yaml").write_text(CONFIG_MAP.format("changed"))
    first = cached_kustomize_all(base, [("apps", base / "apps" / "dev", {})])
    again = cached_kustomize_all(
        head, [("apps", head / "apps" / "dev", {}), ("apps-too", head / "apps" / "dev", {})]
    )
    assert builds == [base / "apps" / "dev"] and again == [*first, *first]
    assert "name: extra" in first[0] and "name: base" in first[0]
    kustomize_cache._building.clear()  # a new process: read from the cache folder
    assert cached_kustomize_all(head, [("apps", head / "apps" / "dev", {})]) == first
    assert len(builds) == 1
    (head / "apps" / "dev" / "extra.yaml").write_text(CONFIG_MAP.format("more"))
    assert "name: more" in cached_kustomize_all(head, [("apps", head / "apps" / "dev", {})])[0]
    assert len(builds) == 2


def test_a_failed_build_is_not_kept(tmp_path: Path, builds: list[Path]) -> None:
    root = tree(tmp_path / "a")
    (root / "apps" / "dev" / "extra.yaml").write_text("kind: [\n")
    for _ in range(2):
        with pytest.raises(BuildError):
            cached_kustomize_all(root, [("apps", root / "apps" / "dev", {})])
    assert len(builds) == 2
    assert not list((tmp_path / "cache").rglob("*.yaml"))


def test_a_cache_that_cannot_be_written_is_not_used(tmp_path: Path, builds: list[Path]) -> None:
    root = tree(tmp_path / "a")
    (tmp_path / "cache").write_text("a file, not a folder")
    [built] = cached_kustomize_all(root, [("apps", root / "apps" / "dev", {})])
    assert "name: extra" in built and len(builds) == 1


def test_entries_are_files_named_by_their_key(tmp_path: Path, builds: list[Path]) -> None:
    root = tree(tmp_path / "a")
    cached_kustomize_all(root, [("apps", root / "apps" / "dev", {})])
    [entry] = (tmp_path / "cache" / "kustomize").rglob("*.yaml")
    assert entry.name == f"{key(root)}.yaml" and entry.parent.name == key(root)[:2]
    shutil.rmtree(tmp_path / "cache")  # safe to delete at any time
    kustomize_cache._building.clear()
    cached_kustomize_all(root, [("apps", root / "apps" / "dev", {})])
    assert len(builds) == 2


def test_each_folder_is_built_with_its_spec_in_the_order_given(tmp_path: Path, builds: list[Path]) -> None:
    root = tmp_path / "repo"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        (root / name / "cm.yaml").write_text(CONFIG_MAP.format(name))
    built = cached_kustomize_all(root, [("b", root / "b", {"targetNamespace": "x"}), ("a", root / "a", {})])
    assert [list(documents(text)) for text in built] == [
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "x"}}],
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}],
    ]
