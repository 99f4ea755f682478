"""Where a command may read and write: one confinement rule and one writer for the whole project.

- `inside(root, path)`: the real path of `path` (relative to `root`, or absolute) once every symlink
  is resolved, which must be `root` or lie under it; PathError otherwise. Whatever reads a file
  named by user input that must stay in a tree (a repository being imported, a project) asks it
  first, so `../..` and a symlink pointing out are refused alike.
- `write_file(root, rel, content, replace=...)`: the only way a command writes a file. `rel` is a
  relative path that stays in `root` (no `..`, not absolute); no symlink is followed on the way,
  neither a folder nor the file itself (each folder is opened with O_NOFOLLOW from the one above,
  so a link swapped in meanwhile is refused too); an existing file is replaced only when
  `replace` says so (stack files: only with --force); the content appears at once or not at all
  (a temporary file renamed into place).
- `write_files(root, files, replace=...)`: many files, each checked as write_file checks it
  before the first is written, so a command that writes a set of files (`import`) is refused
  before it has written any of them.
- `read_text(root, path)`: the text of a file that must stay in root (`inside` first);
  `files_under(root, folder)`: the files below a folder, each of which must (a symlink found
  there pointing out is refused by name).
- `remove_file(root, rel)`: the same walk to delete one file (and the folders it leaves empty);
  only eoepca_gitops.owned_folder calls it, for files a command wrote itself.

Every failure, a full disk or a read-only folder included, is one PathError naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from eoepca_gitops.errors import PathError

__all__ = ["files_under", "inside", "inside_found", "read_text", "remove_file", "write_file", "write_files"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def inside(root: Path, path: Path | str) -> Path:
    """The real path of `path` (relative to root, or absolute), which must be root or under it."""
    real_root = root.resolve()
    real = (root / path).resolve()
    if real != real_root and real_root not in real.parents:
        raise PathError(f"{path}: leads outside {root} (to {real})")
    return real


def inside_found(root: Path, path: Path) -> Path:
    """`inside` for a path found by listing a folder under root, where only a symlink can lead out."""
    try:
        return inside(root, path)
    except PathError:
        rel = os.path.relpath(path, root)
        raise PathError(f"{rel}: a symlink to {os.readlink(path)}, outside {root}") from None


def files_under(root: Path, folder: Path) -> list[Path]:
    """Every file below `folder` (sorted; a folder that is a symlink is not descended into, as Flux's
    generated kustomization does not descend), each inside root."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames.sort()
        for name in [*dirnames, *filenames]:
            inside_found(root, here / name)
        out += [here / f for f in filenames]
    return sorted(out)


def read_text(root: Path, path: Path | str) -> str:
    """The text of a file inside root (see `inside`); bytes that are not UTF-8 shown as U+FFFD."""
    real = inside(root, path)
    try:
        return real.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise PathError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _parts(root: Path, rel: str) -> tuple[str, ...]:
    path = PurePosixPath(rel)
    if path.is_absolute() or not path.parts or any(p in ("..", ".") for p in path.parts):
        raise PathError(f"{rel}: not a path inside {root}")
    return path.parts


@contextlib.contextmanager
def _folders(root: Path, parts: tuple[str, ...], *, create: bool) -> Iterator[list[int]]:
    """Descriptors of root and each folder of `parts` under it, opened without following a symlink."""
    fds = [os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)]
    try:
        for i, part in enumerate(parts):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, dir_fd=fds[-1])
            try:
                fds.append(os.open(part, _DIR_FLAGS, dir_fd=fds[-1]))
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    where = root.joinpath(*parts[: i + 1])
                    raise PathError(
                        f"{where}: a symlink or not a folder; refusing to go through it"
                    ) from None
                raise
        yield fds
    finally:
        for fd in fds:
            os.close(fd)


def _entry(name: str, folder: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _writable(found: os.stat_result | None, target: Path, *, replace: bool) -> None:
    if found is not None and stat.S_ISLNK(found.st_mode):
        raise PathError(f"{target}: a symlink; refusing to write through it")
    if found is not None and not stat.S_ISREG(found.st_mode):
        raise PathError(f"{target}: exists and is not a file")
    if found is not None and not replace:
        raise PathError(f"{target}: exists already")


def _check(root: Path, rel: str, *, replace: bool) -> None:
    """What write_file would refuse, found without writing (a folder not there yet is no obstacle)."""
    parts = _parts(root, rel)
    target = root.joinpath(*parts)
    try:
        with _folders(root, parts[:-1], create=False) as fds:
            _writable(_entry(parts[-1], fds[-1]), target, replace=replace)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise PathError(f"{target}: cannot write: {exc.strerror or exc}") from None


def write_files(root: Path, files: Mapping[str, str], *, replace: Callable[[str], bool]) -> None:
    """Writes each of `files` (relative path -> content) with write_file, after checking them all."""
    for rel in sorted(files):
        _check(root, rel, replace=replace(rel))
    for rel, content in sorted(files.items()):
        write_file(root, rel, content, replace=replace(rel))


def write_file(root: Path, rel: str, content: str, *, replace: bool) -> Path:
    """Writes `content` to root/rel as described in the module doc; returns the path written."""
    parts = _parts(root, rel)
    target = root.joinpath(*parts)
    try:
        with _folders(root, parts[:-1], create=True) as fds:
            folder, name = fds[-1], parts[-1]
            _writable(_entry(name, folder), target, replace=replace)
            tmp = f".{name}.{os.getpid()}.tmp"
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder
            )
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(content)
                if replace:
                    os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
                else:  # a hard link never replaces what appeared meanwhile
                    os.link(tmp, name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp, dir_fd=folder)
    except FileExistsError:
        raise PathError(f"{target}: exists already") from None
    except OSError as exc:
        raise PathError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return target


def remove_file(root: Path, rel: str) -> None:
    """Deletes root/rel (a symlink there is removed, never followed) and the folders it leaves empty."""
    parts = _parts(root, rel)
    try:
        with _folders(root, parts[:-1], create=False) as fds:
            found = _entry(parts[-1], fds[-1])
            if found is None:
                return
            if stat.S_ISDIR(found.st_mode):
                raise PathError(f"{root.joinpath(*parts)}: a folder, not a file this command wrote")
            os.unlink(parts[-1], dir_fd=fds[-1])
            for depth in range(len(parts) - 1, 0, -1):
                try:
                    os.rmdir(parts[depth - 1], dir_fd=fds[depth - 1])
                except OSError:
                    break  # not empty: something else lives there
    except FileNotFoundError:
        return  # a folder on the way is gone already: so is the file
    except OSError as exc:
        raise PathError(f"{root.joinpath(*parts)}: cannot delete: {exc.strerror or exc}") from None
