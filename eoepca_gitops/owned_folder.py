"""What a command that writes a folder of files (`render --out DIR`) may delete: only what it wrote.

The command leaves MARKER in the folder, listing every file it wrote there. Writing the folder
again replaces and deletes only files that list names; anything else in the folder stays as it is.
A folder without the marker is the command's only while it is empty; into a non-empty one it
writes only with --force, and even then deletes and replaces nothing there. Refused outright: the
working folder, the project, $HOME, and every folder holding one of them (`/` included), a file,
a symlink. Files are written and deleted through eoepca_gitops.files (no symlink followed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from eoepca_gitops.errors import PathError
from eoepca_gitops.files import remove_file, write_file

__all__ = ["MARKER", "OwnedFolder", "claim"]

MARKER = ".eoepca-gitops-render"
_HEADER = "# Files eoepca-gitops render wrote here; it deletes or replaces only these.\n"


@dataclass(frozen=True)
class OwnedFolder:
    path: Path
    owned: frozenset[str]  # what the command wrote here before

    def replace(self, files: Mapping[str, str]) -> None:
        """Makes the folder hold `files` (relative path -> content) and nothing else the command wrote."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PathError(f"{self.path}: cannot create the folder: {exc.strerror or exc}") from None
        # Listed before they exist: an interrupted run leaves nothing the next one would not own.
        self._mark(self.owned | set(files))
        for rel, content in sorted(files.items()):
            write_file(self.path, rel, content, replace=rel in self.owned)
        for rel in sorted(self.owned - set(files)):
            remove_file(self.path, rel)
        self._mark(set(files))

    def _mark(self, files: Iterable[str]) -> None:
        write_file(self.path, MARKER, _HEADER + "".join(f"{rel}\n" for rel in sorted(files)), replace=True)


def _owned(marker: Path) -> frozenset[str]:
    try:
        lines = marker.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
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
    if out.is_symlink():
        raise PathError(f"{what}: a symlink; give the folder itself")
    if out.exists() and not out.is_dir():
        raise PathError(f"{what}: not a folder")
    real = out.resolve()
    for kept in (Path.cwd(), Path.home(), *keep):
        kept = kept.resolve()
        if real == kept or real in kept.parents:
            raise PathError(f"{what}: it is or holds {kept}; choose a new or empty folder")
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
