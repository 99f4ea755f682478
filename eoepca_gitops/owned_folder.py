"""Where a command may write a folder of files: what it owns (`render --out DIR`), or a project
(`import --out DIR`).

`claim`: the command leaves MARKER in the folder, listing every file it wrote there. Writing the
folder again replaces and deletes only files that list names; anything else in the folder stays as
it is. A folder without the marker is the command's only while it is empty; into a non-empty one
it writes only with --force, and even then deletes and replaces nothing there. Refused outright:
the working folder, the project, $HOME, and every folder holding one of them (`/` included), a
file, a symlink. Every file is checked before the first is written (a name too long for the file
system, a file that exists already), and Ctrl-C waits until the last one is written.

`claim_project`: a project to write into (Pulumi.yaml, a stack file or clusters/blocks in it), or a
new or empty folder to start one in; never `/`, $HOME or a folder holding it, a file, a symlink.

Files are written and deleted through eoepca_gitops.files (no symlink followed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from eoepca_gitops.errors import GitopsError, PathError
from eoepca_gitops.files import (
    check_writable,
    no_interrupt,
    read_file,
    remove_file,
    resolved,
    write_file,
    write_files,
)

__all__ = ["MARKER", "OwnedFolder", "ProjectFolder", "claim", "claim_project"]

MARKER = ".eoepca-gitops-render"
_HEADER = "# Files eoepca-gitops render wrote here; it deletes or replaces only these.\n"


@dataclass(frozen=True)
class OwnedFolder:
    path: Path
    owned: frozenset[str]  # what the command wrote here before

    def replace(self, files: Mapping[str, str]) -> None:
        """Makes the folder hold `files` (relative path -> content) and nothing else the command wrote."""
        _make(self.path)
        for rel in sorted(files):
            check_writable(self.path, rel, replace=rel in self.owned)
        with no_interrupt():
            # Listed before they exist: a run that fails halfway leaves nothing the next one would not own.
            self._mark(self.owned | set(files))
            for rel, content in sorted(files.items()):
                write_file(self.path, rel, content, replace=rel in self.owned)
            for rel in sorted(self.owned - set(files)):
                remove_file(self.path, rel)
            self._mark(set(files))

    def _mark(self, files: Iterable[str]) -> None:
        write_file(self.path, MARKER, _HEADER + "".join(f"{rel}\n" for rel in sorted(files)), replace=True)


def _make(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PathError(f"{folder}: cannot create the folder: {exc.strerror or exc}") from None


def _owned(marker: Path) -> frozenset[str]:
    try:
        lines = read_file(marker).splitlines()
    except GitopsError as exc:
        raise PathError(f"{marker}: unreadable ({exc}); delete the folder yourself") from None
    owned = set()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        rel = PurePosixPath(line)
        if rel.is_absolute() or ".." in rel.parts or rel.as_posix() == MARKER:
            raise PathError(f"{marker}: line {number}: not a file of this folder; delete the folder yourself")
        owned.add(rel.as_posix())
    return frozenset(owned)


def claim(out: Path, keep: Iterable[Path], *, force: bool, option: str = "--out") -> OwnedFolder:
    """The folder `out` if the command may write it (see the module doc); nothing is written yet.

    `keep` are folders never written into nor over, besides the working folder and $HOME.
    """
    what = f"{option} {out}"
    _refuse_holders(out, what, [Path.cwd(), *keep])
    if not out.exists():
        return OwnedFolder(out, frozenset())
    marker = out / MARKER
    if marker.is_file() and not marker.is_symlink():
        return OwnedFolder(out, _owned(marker))
    if not force and any(out.iterdir()):
        raise PathError(
            f"{what}: not empty and not written by render (no {MARKER}); choose a new or empty "
            "folder, or --force to add the files without deleting or replacing anything there"
        )
    return OwnedFolder(out, frozenset())


def _refuse_holders(out: Path, what: str, keep: Iterable[Path]) -> Path:
    """The real path of the folder `out`, which must not be `keep`, $HOME nor hold them."""
    if out.is_symlink():
        raise PathError(f"{what}: a symlink; give the folder itself")
    if out.exists() and not out.is_dir():
        raise PathError(f"{what}: not a folder")
    real = resolved(out)
    for kept in (Path.home(), *keep):
        kept = resolved(kept)
        if real == kept or real in kept.parents:
            raise PathError(f"{what}: it is or holds {kept}; choose a new or empty folder")
    return real


@dataclass(frozen=True)
class ProjectFolder:
    path: Path

    def write(self, files: Mapping[str, str], *, replace: Callable[[str], bool]) -> None:
        """Writes `files` (relative path -> content) with files.write_files: all of them, or none."""
        _make(self.path)
        write_files(self.path, files, replace=replace)


def claim_project(out: Path, option: str = "--out") -> ProjectFolder:
    """The project folder `out` if a command may write a project's files into it (see the module
    doc); nothing is written yet."""
    what = f"{option} {out}"
    _refuse_holders(out, what, [])
    project = (out / "Pulumi.yaml").is_file() or (out / "clusters" / "blocks").is_dir()
    if out.exists() and not project and not any(out.glob("Pulumi.*.yaml")) and any(out.iterdir()):
        raise PathError(
            f"{what}: not a project (no Pulumi.yaml, stack file or clusters/blocks) and not empty; give "
            "the project folder, or a new or empty folder"
        )
    return ProjectFolder(out)
