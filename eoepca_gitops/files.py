"""Every file the project reads, every tree it walks and every file it writes, through one module.

Reading (what a command reads is bounded, whatever the user or a tree points it at):
- `read_bytes(path, root=None)`: the bytes of a regular file of at most MAX_FILE_BYTES; a FIFO, a
  device (`/dev/zero` behind a symlink), a folder or a socket is refused without being read, as is
  a larger file. `read_file(path)` is its text (UTF-8, or one error naming the line), `read_text(root,
  path)` the same for a file that must stay in root (`inside` first).
- `inside(root, path)`: the real path of `path` (relative to `root`, or absolute) once every symlink
  is resolved, which must be `root` or lie under it; PathError otherwise, a symlink loop included.
  Whatever reads a file named by user input that must stay in a tree (a repository being imported,
  a project's Git layer) asks it first, so `../..` and a symlink pointing out are refused alike.
- `walk(folder, root=None)`: the folders and files below `folder` as os.walk gives them (sorted; a
  symlink to a folder is listed, never descended into, as Flux's generated kustomization does not
  descend), each entry `inside` root when one is given; a tree deeper than MAX_TREE_DEPTH or larger
  than MAX_TREE_ENTRIES, a name that is not UTF-8 or an unreadable folder is one PathError.
  `files_under(root, folder)`: the files it finds.

Writing:
- `write_file(root, rel, content, replace=...)`: the only way a command writes a file. `rel` is a
  relative path that stays in `root` (no `..`, not absolute), whose names are UTF-8 without control
  characters and short enough for the file system; no symlink is followed on the way, neither a
  folder nor the file itself (each folder is opened with O_NOFOLLOW from the one above, so a link
  swapped in meanwhile is refused too); an existing file is replaced only when `replace` says so
  (stack files: only with --force); the content appears at once or not at all (a temporary file
  renamed into place).
- `write_files(root, files, replace=...)`: many files, each checked as write_file checks it
  (`check_writable`) before the first is written, and written with Ctrl-C held back until the last
  is (`no_interrupt`), so a command that writes a set of files (`import`) writes all or none.
- `remove_file(root, rel)`: the same walk to delete one file (and the folders it leaves empty);
  only eoepca_gitops.owned_folder calls it, for files a command wrote itself.

Every failure, a full disk or a read-only folder included, is one PathError naming the path (or a
ConfigError naming the file and line of text that is not UTF-8).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from types import FrameType

from eoepca_gitops.credentials import literal
from eoepca_gitops.errors import ConfigError, PathError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_TREE_DEPTH",
    "MAX_TREE_ENTRIES",
    "OutsideError",
    "check_writable",
    "decoded",
    "files_under",
    "inside",
    "inside_found",
    "no_interrupt",
    "read_bytes",
    "read_file",
    "read_text",
    "remove_file",
    "resolved",
    "walk",
    "write_file",
    "write_files",
]

#: The largest file any command reads: Flux's install manifests are about 1 MB, a stack file a few kB.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Folders below a walked folder: Flux trees nest a dozen deep.
MAX_TREE_DEPTH = 64
#: Entries (files and folders) a walk lists in all.
MAX_TREE_ENTRIES = 100_000
_MAX_NAME_BYTES = 255  # what Linux file systems allow in one name
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symlink loop"
    return exc.strerror or str(exc)


class OutsideError(PathError):
    """What `inside` raises for a path that leads out of its root."""


def resolved(path: Path) -> Path:
    """`path` with every symlink resolved (Path.resolve); PathError for a loop or a path too long."""
    return _resolve(path)


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except RuntimeError:  # Python 3.11's word for a symlink loop
        raise PathError(f"{path}: a symlink loop") from None
    except OSError as exc:
        raise PathError(f"{path}: cannot follow: {_why(exc)}") from None
    except ValueError:  # a NUL character, which no path may hold
        raise PathError(f"{literal(str(path), one_line=True)}: not a path (a NUL character)") from None


def inside(root: Path, path: Path | str) -> Path:
    """The real path of `path` (relative to root, or absolute), which must be root or under it."""
    real_root = _resolve(root)
    real = _resolve(root / path)
    if real != real_root and real_root not in real.parents:
        raise OutsideError(f"{path}: leads outside {root} (to {real})")
    return real


def inside_found(root: Path, path: Path) -> Path:
    """`inside` for a path found by listing a folder under root, where only a symlink can lead out."""
    try:
        return inside(root, path)
    except PathError as exc:
        if not path.is_symlink():
            raise
        rel = os.path.relpath(path, root)
        if "symlink loop" in str(exc):
            raise PathError(f"{rel}: a symlink loop") from None
        raise PathError(f"{rel}: a symlink to {os.readlink(path)}, outside {root}") from None


def _kind(mode: int) -> str | None:
    """What a file of this mode is, if not a regular file."""
    return next((what for test, what in _KINDS if test(mode)), None if stat.S_ISREG(mode) else "not a file")


def read_bytes(path: Path | str, *, root: Path | None = None, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file (see the module doc); inside `root` when one is given."""
    real = inside(root, path) if root is not None else Path(path)
    try:
        kind = _kind(os.stat(real).st_mode)  # before opening: opening a FIFO or a device may block
        if kind:
            raise PathError(f"{path}: {kind}, not a regular file; refusing to read it")
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise PathError(f"{path}: cannot read: {_why(exc)}") from None
    except ValueError:
        raise PathError(f"{literal(str(path), one_line=True)}: not a path (a NUL character)") from None
    try:
        found = os.fstat(fd)
        kind = _kind(found.st_mode)  # swapped meanwhile
        if kind:
            raise PathError(f"{path}: {kind}, not a regular file; refusing to read it")
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise PathError(f"{path}: cannot read: {_why(exc)}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise PathError(
            f"{path}: larger than {limit // (1024 * 1024)} MiB; refusing to read it (not a file this "
            "project reads)"
        )
    return b"".join(chunks)


def decoded(data: bytes, path: Path | str) -> str:
    """`data` as UTF-8 text (a byte-order mark dropped); ConfigError naming the line otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            str(path), f"line {line}", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        ) from None


def read_file(path: Path | str) -> str:
    """The text of a file a user named (a stack file, a kubeconfig, an install manifest)."""
    return decoded(read_bytes(path), path)


def read_text(root: Path, path: Path | str) -> str:
    """The text of a file inside root (see `inside`)."""
    return decoded(read_bytes(path, root=root), path)


def _name(name: str, where: Path) -> str:
    """`name` if it is UTF-8 without control characters (what a report or a terminal can show)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise PathError(f"{literal(str(where))}: a name that is not UTF-8; rename it") from None
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
        raise PathError(f"{literal(str(where), one_line=True)}: a name with a control character; rename it")
    return name


def walk(folder: Path, root: Path | None = None) -> Iterator[tuple[Path, list[str], list[str]]]:
    """(folder, sub-folders, files) for `folder` and each folder below it, in order, as os.walk gives
    them (see the module doc): a symlink to a folder is among the sub-folders and never descended
    into; removing a name from the sub-folders leaves it out of the walk."""
    count = 0
    todo: list[tuple[Path, int]] = [(folder, 0)]
    while todo:
        here, depth = todo.pop()
        try:
            with os.scandir(here) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            raise PathError(f"{here}: cannot read the folder: {_why(exc)}") from None
        count += len(entries)
        if count > MAX_TREE_ENTRIES:
            raise PathError(f"{folder}: more than {MAX_TREE_ENTRIES} files and folders; refusing to read it")
        folders: list[str] = []
        files: list[str] = []
        links: set[str] = set()
        for entry in entries:
            _name(entry.name, here / entry.name)
            if root is not None:
                inside_found(root, here / entry.name)
            try:
                if entry.is_symlink():
                    links.add(entry.name)
                is_folder = entry.is_dir()
            except OSError as exc:
                raise PathError(f"{here / entry.name}: cannot read: {_why(exc)}") from None
            (folders if is_folder else files).append(entry.name)
        yield here, folders, files
        below = [name for name in folders if name not in links]
        if below and depth >= MAX_TREE_DEPTH:
            raise PathError(f"{here / below[0]}: nested more than {MAX_TREE_DEPTH} folders below {folder}")
        todo += [(here / name, depth + 1) for name in reversed(below)]


def files_under(root: Path, folder: Path) -> list[Path]:
    """Every file below `folder` (sorted), each inside root (see `walk`)."""
    return sorted(here / name for here, _, names in walk(folder, root) for name in names)


@contextlib.contextmanager
def no_interrupt() -> Iterator[None]:
    """Ctrl-C (SIGINT) held back until the block ends, then raised: what it writes is written whole.
    Only the main thread receives signals; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _parts(root: Path, rel: str) -> tuple[str, ...]:
    path = PurePosixPath(rel)
    if path.is_absolute() or not path.parts or any(p in ("..", ".") for p in path.parts):
        raise PathError(f"{rel}: not a path inside {root}")
    for part in path.parts:
        if len(_name(part, root / rel).encode("utf-8")) > _MAX_NAME_BYTES:
            raise PathError(f"{root / rel}: a name longer than {_MAX_NAME_BYTES} bytes")
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


def check_writable(root: Path, rel: str, *, replace: bool) -> None:
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


def write_files(root: Path, files: Mapping[str, str | bytes], *, replace: Callable[[str], bool]) -> None:
    """Writes each of `files` (relative path -> content) with write_file, after checking them all."""
    for rel in sorted(files):
        check_writable(root, rel, replace=replace(rel))
    with no_interrupt():
        for rel, content in sorted(files.items()):
            write_file(root, rel, content, replace=replace(rel))


def write_file(root: Path, rel: str, content: str | bytes, *, replace: bool, durable: bool = False) -> Path:
    """Writes `content` to root/rel as described in the module doc; returns the path written.
    `durable`: on the disk before it replaces the file (a state a restart reads)."""
    parts = _parts(root, rel)
    target = root.joinpath(*parts)
    try:
        with _folders(root, parts[:-1], create=True) as fds:
            folder, name = fds[-1], parts[-1]
            _writable(_entry(name, folder), target, replace=replace)
            # unique to this thread: two threads may write the same file (a chart both releases use)
            tmp = f".{name[:200]}.{os.getpid()}.{threading.get_ident()}.tmp"
            fd = os.open(tmp, _NEW_FILE_FLAGS, 0o644, dir_fd=folder)
            try:
                data = content.encode("utf-8") if isinstance(content, str) else content
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    if durable:
                        handle.flush()
                        os.fsync(handle.fileno())
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
