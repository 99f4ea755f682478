"""A project as a Git revision has it: `git archive` of the revision into a temporary folder.

Nothing of the working tree is touched (no checkout, no stash); what the revision does not track is
not there, as Flux would not see it either.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from eoepca_gitops.errors import GitopsError

__all__ = ["at_revision", "git"]


def git(repo: Path, *args: str) -> bytes:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    if result.returncode != 0:
        raise GitopsError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


@contextlib.contextmanager
def at_revision(project: Path, revision: str) -> Iterator[Path]:
    """The project folder as `revision` has it, for the duration of the block."""
    repo = Path(git(project, "rev-parse", "--show-toplevel").decode().strip())
    commit = git(repo, "rev-parse", "--verify", "--end-of-options", f"{revision}^{{commit}}").decode().strip()
    with tempfile.TemporaryDirectory(prefix="eoepca-gitops-diff-") as tmp:
        archive = git(repo, "archive", "--format=tar", commit)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            try:
                tar.extractall(tmp, filter="data")
            except tarfile.FilterError as exc:  # a symlink to outside the repository, ...
                raise GitopsError(f"{revision}: {exc}") from None
        yield Path(tmp) / project.resolve().relative_to(repo.resolve())
