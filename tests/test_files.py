"""The one writer, the confinement rule and what render may delete (eoepca_gitops.files, owned_folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoepca_gitops.errors import PathError
from eoepca_gitops.files import files_under, inside, read_text, remove_file, write_file, write_files
from eoepca_gitops.owned_folder import MARKER, claim


def test_inside_resolves_links_and_refuses_what_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a").mkdir(parents=True)
    (tmp_path / "secret").write_text("x")
    (root / "a" / "in").symlink_to(root / "a")
    (root / "a" / "out").symlink_to(tmp_path / "secret")
    assert inside(root, "a/in") == (root / "a").resolve()
    assert inside(root, root / "a") == (root / "a").resolve()
    for escaping in ("../secret", "a/out", "/etc/passwd", "a/../../secret"):
        with pytest.raises(PathError, match="leads outside"):
            inside(root, escaping)


def test_read_text_reads_only_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.yaml").write_text("name: café\n")
    (tmp_path / "secret").write_text("x")
    (root / "out.yaml").symlink_to(tmp_path / "secret")
    assert read_text(root, "a.yaml") == "name: café\n"
    for escaping in ("out.yaml", "../secret", str(tmp_path / "secret")):
        with pytest.raises(PathError, match="leads outside"):
            read_text(root, escaping)
    with pytest.raises(PathError, match=r"nope\.yaml: cannot read"):
        read_text(root, "nope.yaml")


def test_files_under_lists_files_and_refuses_a_symlink_out(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "apps" / "base").mkdir(parents=True)
    (repo / "apps" / "base" / "cm.yaml").write_text("a")
    (repo / "apps" / "base" / "kustomization.yaml").write_text("b")
    (tmp_path / "secret").write_text("x")
    assert files_under(repo, repo / "apps") == [
        repo / "apps" / "base" / "cm.yaml",
        repo / "apps" / "base" / "kustomization.yaml",
    ]
    (repo / "apps" / "base" / "leak.yaml").symlink_to(tmp_path / "secret")
    with pytest.raises(PathError, match=r"^apps/base/leak\.yaml: a symlink to .*secret, outside"):
        files_under(repo, repo / "apps")


def test_write_files_writes_none_when_one_is_refused(tmp_path: Path) -> None:
    root, victim = tmp_path / "project", tmp_path / "victim"
    (root / "clusters").mkdir(parents=True)
    victim.mkdir()
    (root / "Pulumi.x.yaml").write_text("mine")
    files = {"Pulumi.x.yaml": "new", "a.md": "a", "clusters/flux/b.yaml": "b"}
    with pytest.raises(PathError, match=r"Pulumi\.x\.yaml: exists already"):
        write_files(root, files, replace=lambda rel: rel != "Pulumi.x.yaml")
    (root / "clusters" / "flux").symlink_to(victim)
    with pytest.raises(PathError, match="clusters/flux: a symlink or not a folder"):
        write_files(root, files, replace=lambda rel: True)
    assert (root / "Pulumi.x.yaml").read_text() == "mine"
    assert sorted(p.name for p in root.iterdir()) == ["Pulumi.x.yaml", "clusters"]
    assert list(victim.iterdir()) == []
    (root / "clusters" / "flux").unlink()
    write_files(root, files, replace=lambda rel: True)
    assert (root / "clusters" / "flux" / "b.yaml").read_text() == "b"
    assert (root / "Pulumi.x.yaml").read_text() == "new"


def test_write_file_follows_no_symlink_and_stays_in_its_folder(tmp_path: Path) -> None:
    root, victim = tmp_path / "out", tmp_path / "victim"
    root.mkdir()
    victim.mkdir()
    (root / "dir").symlink_to(victim)
    (root / "file").symlink_to(victim / "file")
    for rel, problem in (
        ("dir/x.yaml", "a symlink or not a folder"),
        ("file", "a symlink; refusing to write through it"),
        ("../victim/x", "not a path inside"),
        ("/etc/x", "not a path inside"),
        ("", "not a path inside"),
    ):
        with pytest.raises(PathError, match=problem):
            write_file(root, rel, "x", replace=True)
    assert list(victim.iterdir()) == []


def test_write_file_replaces_only_when_asked(tmp_path: Path) -> None:
    write_file(tmp_path, "a/b.yaml", "one", replace=False)
    with pytest.raises(PathError, match="exists already"):
        write_file(tmp_path, "a/b.yaml", "two", replace=False)
    assert (tmp_path / "a" / "b.yaml").read_text() == "one"
    write_file(tmp_path, "a/b.yaml", "two", replace=True)
    assert (tmp_path / "a" / "b.yaml").read_text() == "two"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.yaml"]  # no temporary left


def test_remove_file_removes_a_link_never_its_target(tmp_path: Path) -> None:
    (tmp_path / "target").write_text("keep")
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "sub" / "link").symlink_to(tmp_path / "target")
    remove_file(tmp_path / "out", "sub/link")
    assert (tmp_path / "target").read_text() == "keep"
    assert not (tmp_path / "out" / "sub").exists()  # the folder it left empty goes too
    remove_file(tmp_path / "out", "sub/link")  # gone already: nothing to do


def test_render_folder_deletes_only_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    claim(out, [], force=False).replace({"a/one.yaml": "1", "b/two.yaml": "2"})
    (out / "a" / "mine.txt").write_text("mine")
    claim(out, [], force=False).replace({"a/one.yaml": "1'"})
    assert (out / "a" / "one.yaml").read_text() == "1'"
    assert (out / "a" / "mine.txt").read_text() == "mine"
    assert not (out / "b").exists()
    assert (out / MARKER).read_text().splitlines()[1:] == ["a/one.yaml"]


def test_force_adds_files_but_replaces_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "one.yaml").write_text("theirs")
    with pytest.raises(PathError, match="not empty and not written by render"):
        claim(out, [], force=False)
    with pytest.raises(PathError, match="exists already"):
        claim(out, [], force=True).replace({"one.yaml": "ours"})
    assert (out / "one.yaml").read_text() == "theirs"
    claim(out, [], force=True).replace({"two.yaml": "ours"})
    assert (out / "two.yaml").read_text() == "ours"


def test_a_hostile_marker_deletes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "victim").write_text("keep")
    (out / MARKER).write_text("../victim\n")
    with pytest.raises(PathError, match="line 1: not a file of this folder"):
        claim(out, [], force=False)
    assert (tmp_path / "victim").read_text() == "keep"


def test_never_the_working_folder_home_the_project_or_what_holds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "home" / "work" / "project"
    project.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(project / "..")
    for out in (Path("."), Path(".."), tmp_path, project, project.parent, Path("/")):
        with pytest.raises(PathError, match="it is or holds"):
            claim(out, [project], force=True)
