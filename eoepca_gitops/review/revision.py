"""A project as a Git revision has it: `git archive` of the revision into a temporary folder.

Nothing of the working tree is touched (no checkout, no stash); what the revision does not track is
not there, as Flux would not see it either. The archive is checked first: files, folders and
symlinks only, none leading out of the repository; then `tar` unpacks it (about a third of the
CPU of Python's tarfile, which unpacks it where there is no tar).
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from eoepca_gitops.errors import GitFailed, GitopsError
from eoepca_gitops.git_runner import run_git_bytes

__all__ = ["at_revision"]


def _git(repo: Path, *args: str) -> bytes:
    try:
        return run_git_bytes(*args, cwd=repo)
    except GitFailed as exc:
        raise GitopsError(f"git {' '.join(args)}: {exc.stderr.strip()}") from None


@contextlib.contextmanager
def at_revision(project: Path, revision: str) -> Iterator[Path]:
    """The project folder as `revision` has it, for the duration of the block."""
    repo = Path(_git(project, "rev-parse", "--show-toplevel").decode().strip())
    wanted = f"{revision}^{{commit}}"
    commit = _git(repo, "rev-parse", "--verify", "--end-of-options", wanted).decode().strip()
    with tempfile.TemporaryDirectory(prefix="eoepca-gitops-diff-") as tmp:
        archive = _git(repo, "archive", "--format=tar", commit)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            for member in tar.getmembers():
                _check(member, revision)
            unpack = shutil.which("tar")
            if unpack is None:
                tar.extractall(tmp, filter="data")
        if unpack is not None:
            command = [unpack, "-x", "--no-same-owner", "--no-same-permissions", "-C", tmp]
            result = subprocess.run(command, input=archive, capture_output=True, check=False)
            if result.returncode != 0:
                raise GitopsError(f"{revision}: tar: {result.stderr.decode(errors='replace').strip()}")
        yield Path(tmp) / project.resolve().relative_to(repo.resolve())


def _check(member: tarfile.TarInfo, revision: str) -> None:
    """Refuses what `git archive` should never hold: other kinds of entries, paths out of the
    folder, a symlink that leads out of the repository (the diff would read through it)."""
    name = PurePosixPath(member.name)
    if not (member.isfile() or member.isdir() or member.issym()) or name.is_absolute() or ".." in name.parts:
        raise GitopsError(f"{revision}: {member.name}: not a file, folder or symlink of the repository")
    if member.issym():
        target = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
        if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
            raise GitopsError(
                f"{revision}: {member.name} is a symlink to {member.linkname}, outside the repository"
            )
