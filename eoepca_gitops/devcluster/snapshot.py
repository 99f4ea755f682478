"""A checkout as it is now, committed in a repository of its own: what a dev cluster's Git server
serves when tests or benchmarks commit without touching the checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

from eoepca_gitops.git_runner import run_git, run_git_bytes

__all__ = ["snapshot_repository"]


def snapshot_repository(source: Path, dest: Path) -> Path:
    """`source`'s files (what Git tracks plus untracked files it does not ignore) committed in a new
    repository `dest` on branch main."""
    listed = run_git_bytes("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=source)
    for rel in (r.decode() for r in listed.split(b"\0") if r):
        if (source / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, dest / rel)
    who = {"GIT_AUTHOR_NAME": "eoepca-gitops", "GIT_AUTHOR_EMAIL": "dev@localhost"}
    env = {
        **who,
        "GIT_COMMITTER_NAME": who["GIT_AUTHOR_NAME"],
        "GIT_COMMITTER_EMAIL": who["GIT_AUTHOR_EMAIL"],
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        run_git(*args, cwd=dest, env=env)
    return dest
