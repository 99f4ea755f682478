"""The confinement rule, the one writer and the render folder (eoepca_gitops.files, owned_folder) at
their public surface: what each function returns, creates, leaves, and refuses with which words.
(tests/test_files.py has the hostile layouts; these are the everyday edges an operator meets.)"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from eoepca_gitops import owned_folder
from eoepca_gitops.errors import PathError
from eoepca_gitops.files import (
    files_under,
    inside,
    inside_found,
    read_text,
    remove_file,
    write_file,
    write_files,
)
from eoepca_gitops.owned_folder import MARKER, OwnedFolder, claim


def test_the_root_itself_is_inside_and_a_sibling_with_its_name_as_prefix_is_not(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "repo-other").mkdir()
    assert inside(root, ".") == root.resolve()
    assert inside(root, root) == root.resolve()
    with pytest.raises(PathError) as exc:
        inside(root, "../repo-other")
    assert str(exc.value) == f"../repo-other: leads outside {root} (to {(tmp_path / 'repo-other').resolve()})"


def test_a_link_found_by_listing_is_named_with_its_target(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "in").symlink_to(root)
    assert inside_found(root, root / "in") == root.resolve()
    (root / "out").symlink_to("../elsewhere")
    with pytest.raises(PathError) as exc:
        inside_found(root, root / "out")
    assert str(exc.value) == f"out: a symlink to ../elsewhere, outside {root}"


def test_files_under_lists_every_file_sorted_and_does_not_descend_a_linked_folder(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for rel in ("b/z.yaml", "b/a.yaml", "a/c/d.yaml", "top.yaml"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(rel)
    (repo / "link").symlink_to(repo / "b")  # inside: allowed, not descended (as Flux's generator)
    assert [p.relative_to(repo).as_posix() for p in files_under(repo, repo)] == [
        "a/c/d.yaml",
        "b/a.yaml",
        "b/z.yaml",
        "top.yaml",
    ]
    assert files_under(repo, repo / "a") == [repo / "a" / "c" / "d.yaml"]
    with pytest.raises(PathError) as exc:
        files_under(repo, repo / "none")
    assert str(exc.value) == f"{repo / 'none'}: cannot read the folder: No such file or directory"


def test_read_text_of_a_folder_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with pytest.raises(PathError) as exc:
        read_text(tmp_path, "sub")
    assert str(exc.value) == "sub: a folder, not a regular file; refusing to read it"
    (tmp_path / "f").write_text("text")
    assert read_text(tmp_path, tmp_path / "f") == "text"


def test_write_file_creates_folders_returns_the_path_and_writes_readable_files(tmp_path: Path) -> None:
    written = write_file(tmp_path, "a/b/c.yaml", "x: 1\n", replace=False)
    assert written == tmp_path / "a" / "b" / "c.yaml"
    assert written.read_text() == "x: 1\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o644 & ~_umask()
    assert write_file(tmp_path, "t.txt", "é\n", replace=False).read_bytes() == "é\n".encode()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("rel", ["a/../b", "..", "/a", ""])
def test_a_path_must_be_plain_and_relative(tmp_path: Path, rel: str) -> None:
    with pytest.raises(PathError) as exc:
        write_file(tmp_path, rel, "x", replace=True)
    assert str(exc.value) == f"{rel}: not a path inside {tmp_path}"
    with pytest.raises(PathError):
        remove_file(tmp_path, rel)
    assert list(tmp_path.iterdir()) == []


def test_a_dot_in_a_path_is_the_folder_it_is_in(tmp_path: Path) -> None:
    assert write_file(tmp_path, "./a/./b.yaml", "x", replace=False) == tmp_path / "a" / "b.yaml"


def test_a_folder_where_the_file_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for replace in (False, True):
        with pytest.raises(PathError) as exc:
            write_file(tmp_path, "a/b", "x", replace=replace)
        assert str(exc.value) == f"{tmp_path / 'a' / 'b'}: exists and is not a file"
    with pytest.raises(PathError) as exc:
        write_files(tmp_path, {"a/b": "x"}, replace=lambda rel: True)
    assert str(exc.value) == f"{tmp_path / 'a' / 'b'}: exists and is not a file"
    (tmp_path / "file").write_text("x")
    with pytest.raises(PathError) as exc:
        write_file(tmp_path, "file/under", "x", replace=True)
    assert str(exc.value) == f"{tmp_path / 'file'}: a symlink or not a folder; refusing to go through it"


def test_write_files_asks_about_each_file_and_writes_them_all(tmp_path: Path) -> None:
    (tmp_path / "keep.yaml").write_text("old")
    asked: list[str] = []

    def replace(rel: str) -> bool:
        asked.append(rel)
        return rel == "keep.yaml"

    write_files(tmp_path, {"keep.yaml": "new", "n/new.yaml": "n"}, replace=replace)
    assert (tmp_path / "keep.yaml").read_text() == "new" and (tmp_path / "n" / "new.yaml").read_text() == "n"
    assert sorted(set(asked)) == ["keep.yaml", "n/new.yaml"]
    write_files(tmp_path, {}, replace=replace)  # nothing to write: nothing happens


def test_a_file_written_where_a_folder_does_not_exist_yet_is_checked_without_creating_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(PathError):
        write_files(tmp_path, {"x/a.yaml": "a", "b": "b", "..": "c"}, replace=lambda rel: False)
    assert list(tmp_path.iterdir()) == []


def test_remove_file_keeps_folders_that_hold_something_else_and_refuses_a_folder(tmp_path: Path) -> None:
    write_file(tmp_path, "a/b/one.yaml", "1", replace=False)
    write_file(tmp_path, "a/two.yaml", "2", replace=False)
    remove_file(tmp_path, "a/b/one.yaml")
    assert not (tmp_path / "a" / "b").exists() and (tmp_path / "a" / "two.yaml").exists()
    remove_file(tmp_path, "a/two.yaml")
    assert list(tmp_path.iterdir()) == []  # up to the root, never the root itself
    (tmp_path / "d").mkdir()
    with pytest.raises(PathError) as exc:
        remove_file(tmp_path, "d")
    assert str(exc.value) == f"{tmp_path / 'd'}: a folder, not a file this command wrote"
    remove_file(tmp_path, "gone/a/b.yaml")  # a folder on the way is gone already: so is the file
    assert not (tmp_path / "gone").exists()  # and none is made looking for it
    (tmp_path / "f").write_text("x")
    with pytest.raises(PathError, match="a symlink or not a folder"):
        remove_file(tmp_path, "f/x")


# -- the render folder --------------------------------------------------------------------------


def test_a_new_folder_is_claimed_without_writing_anything(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    folder = claim(out, [], force=False)
    assert folder == OwnedFolder(out, frozenset())
    assert not (tmp_path / "new").exists()
    folder.replace({"a.yaml": "a"})
    assert (out / MARKER).read_text() == (
        "# Files eoepca-gitops render wrote here; it deletes or replaces only these.\na.yaml\n"
    )
    assert claim(tmp_path / "empty", [], force=False).owned == frozenset()


def test_an_empty_folder_is_claimed_and_a_marked_one_by_its_list(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert claim(tmp_path / "empty", [], force=False).owned == frozenset()
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text("# comment\n\na/one.yaml\nb.yaml\n")
    assert claim(out, [], force=False) == OwnedFolder(out, frozenset({"a/one.yaml", "b.yaml"}))


@pytest.mark.parametrize(
    ("line", "number"),
    [("/etc/passwd", 2), ("a/../../x", 2), (MARKER, 2)],
)
def test_a_marker_naming_what_is_not_a_file_of_the_folder_deletes_nothing(
    tmp_path: Path, line: str, number: int
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text(f"ok.yaml\n{line}\n")
    with pytest.raises(PathError) as exc:
        claim(out, [], force=True)
    assert (
        str(exc.value)
        == f"{out / MARKER}: line {number}: not a file of this folder; delete the folder yourself"
    )


def test_an_unreadable_marker_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_bytes(b"\xff\xfe\n")
    with pytest.raises(PathError, match=r"unreadable \(.*\); delete the folder yourself$"):
        claim(out, [], force=False)


def test_a_marker_that_is_a_link_is_no_marker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "list").write_text("a.yaml\n")
    (out / MARKER).symlink_to(tmp_path / "list")
    with pytest.raises(PathError, match="not empty and not written by render"):
        claim(out, [], force=False)
    assert claim(out, [], force=True).owned == frozenset()


def test_the_folder_itself_must_be_a_folder_and_not_a_link(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(PathError) as exc:
        claim(tmp_path / "file", [], force=True)
    assert str(exc.value) == f"--out {tmp_path / 'file'}: not a folder"
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(PathError) as exc:
        claim(tmp_path / "link", [], force=True, option="--dir")
    assert str(exc.value) == f"--dir {tmp_path / 'link'}: a symlink; give the folder itself"


def test_a_folder_that_is_or_holds_a_kept_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    project = tmp_path / "work" / "project"
    project.mkdir(parents=True)
    with pytest.raises(PathError) as exc:
        claim(tmp_path / "work", [project], force=False)
    assert str(exc.value) == (
        f"--out {tmp_path / 'work'}: it is or holds {project}; choose a new or empty folder"
    )
    assert claim(project / "out", [project], force=False).path == project / "out"  # under it is fine
    assert claim(tmp_path / "sibling", [project], force=False).owned == frozenset()


def test_replace_checks_every_file_before_it_writes_or_lists_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    claim(out, [], force=False).replace({"old.yaml": "o"})
    (out / "b").mkdir()  # where the new run would write b
    with pytest.raises(PathError, match="exists and is not a file"):
        claim(out, [], force=False).replace({"a.yaml": "a", "b": "b", "c.yaml": "c"})
    assert (out / MARKER).read_text().splitlines()[1:] == ["old.yaml"]
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "b", "old.yaml"]


def test_replace_lists_every_file_before_writing_so_an_interrupted_run_owns_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    claim(out, [], force=False).replace({"old.yaml": "o"})

    def write(root: Path, rel: str, content: str, *, replace: bool) -> Path:
        if rel == "b.yaml":  # the disk fills up midway
            raise PathError(f"{root / rel}: cannot write: No space left on device")
        return write_file(root, rel, content, replace=replace)

    monkeypatch.setattr(owned_folder, "write_file", write)
    with pytest.raises(PathError, match="No space left"):
        claim(out, [], force=False).replace({"a.yaml": "a", "b.yaml": "b", "c.yaml": "c"})
    monkeypatch.undo()
    listed = (out / MARKER).read_text().splitlines()[1:]
    assert listed == ["a.yaml", "b.yaml", "c.yaml", "old.yaml"]
    assert (out / "a.yaml").read_text() == "a" and not (out / "c.yaml").exists()
    claim(out, [], force=False).replace({"c.yaml": "c"})  # the next run cleans up after it
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "c.yaml"]


def test_a_folder_that_cannot_be_created_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(PathError) as exc:
        OwnedFolder(tmp_path / "file" / "out", frozenset()).replace({"a": "a"})
    assert str(exc.value) == f"{tmp_path / 'file' / 'out'}: cannot create the folder: Not a directory"


def test_every_folder_a_removal_leaves_empty_goes_up_to_the_root(tmp_path: Path) -> None:
    write_file(tmp_path, "a/b/c/d/file.yaml", "x", replace=False)
    write_file(tmp_path, "a/keep.yaml", "k", replace=False)
    remove_file(tmp_path, "a/b/c/d/file.yaml")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/keep.yaml"]


def test_a_file_that_cannot_be_deleted_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_file(tmp_path, "a/f.yaml", "x", replace=False)

    def unlink(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "unlink", unlink)  # as on a read-only mount
    with pytest.raises(PathError) as exc:
        remove_file(tmp_path, "a/f.yaml")
    assert str(exc.value) == f"{tmp_path / 'a' / 'f.yaml'}: cannot delete: Permission denied"


def test_write_files_checks_every_file_before_it_writes_the_first(tmp_path: Path) -> None:
    (tmp_path / "z.yaml").write_text("theirs")
    with pytest.raises(PathError, match=r"z\.yaml: exists already"):
        write_files(tmp_path, {"a.yaml": "ours", "z.yaml": "ours"}, replace=lambda rel: False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.yaml"]  # a.yaml, first in order, not written


def test_a_folder_that_cannot_be_looked_into_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.stat

    def stat_(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if kwargs.get("dir_fd") is not None:
            raise PermissionError(13, "Permission denied")
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat_)
    with pytest.raises(PathError) as exc:
        write_files(tmp_path, {"a/b.yaml": "x"}, replace=lambda rel: False)
    assert str(exc.value) == f"{tmp_path / 'a' / 'b.yaml'}: cannot write: Permission denied"


def test_a_folder_someone_else_filled_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "theirs.txt").write_text("x")
    with pytest.raises(PathError) as exc:
        claim(tmp_path, [], force=False)
    assert str(exc.value) == (
        f"--out {tmp_path}: not empty and not written by render (no {MARKER}); choose a new or empty "
        "folder, or --force to add the files without deleting or replacing anything there"
    )


def test_a_link_planted_where_the_temporary_file_goes_is_not_written_through(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "out" / f".f.yaml.{os.getpid()}.{threading.get_ident()}.tmp").symlink_to(victim)
    with pytest.raises(PathError) as exc:
        write_file(tmp_path / "out", "f.yaml", "x", replace=True)
    assert str(exc.value) == f"{tmp_path / 'out' / 'f.yaml'}: exists already"
    assert victim.read_text() == "keep" and not (tmp_path / "out" / "f.yaml").exists()


def test_a_full_disk_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def replace(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PathError) as exc:
        write_file(tmp_path, "f.yaml", "x", replace=True)
    assert str(exc.value) == f"{tmp_path / 'f.yaml'}: cannot write: No space left on device"
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too
