"""Where revisions come from: the branch head by `git ls-remote` (no clone per tick), and a
worktree at an exact commit from one local bare cache, fetched only when the head moved.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

from eoepca_gitops.credentials import redact
from eoepca_gitops.errors import SourceError
from eoepca_gitops.git_runner import NO_PROMPT, GitFailed, run_git

__all__ = ["Checkout", "RemoteBranch", "SourceError"]

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


class RemoteBranch:
    """Branch head by `git ls-remote <url> refs/heads/<branch>`."""

    def __init__(self, url: str, branch: str, timeout: float = 20.0) -> None:
        if not url:
            raise ValueError("a Git URL is required")
        if not branch or branch.startswith("refs/") or " " in branch:
            raise ValueError(f"branch must be a plain branch name, got {branch!r}")
        self.url = url
        self.branch = branch
        self.timeout = timeout

    def current_commit(self) -> str:
        ref = f"refs/heads/{self.branch}"
        try:
            out = run_git("ls-remote", "--", self.url, ref, env=NO_PROMPT, timeout=self.timeout)
        except GitFailed as exc:
            raise SourceError(f"git ls-remote {redact(self.url)} failed: {_said(exc)}") from exc
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref and _SHA.fullmatch(sha):
                return sha
        raise SourceError(f"branch {self.branch!r} not found in {redact(self.url)}")


class Checkout:
    """A bare cache of the repository and one worktree per commit in use.

    Fetches the tracked branch only when the wanted commit is missing, then adds a detached
    worktree at exactly that commit. Thread-safe (one lock around the cache).
    """

    def __init__(self, url: str, branch: str, cache_dir: Path, timeout: float = 120.0) -> None:
        self.url = url
        self.branch = branch
        self.cache_dir = cache_dir
        self.trees_dir = cache_dir / "trees"
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cache = cache_dir / "repo.git"

    def _bare(self) -> Path:
        if not self._cache.exists():
            run_git("init", "-q", "--bare", str(self._cache))
        return self._cache

    def _has(self, repo: Path, revision: str) -> bool:
        try:
            run_git("cat-file", "-e", f"{revision}^{{commit}}", cwd=repo)
            return True
        except GitFailed:
            return False

    def worktree(self, revision: str) -> Path:
        """A directory holding the tree of `revision`; raises SourceError."""
        if not _SHA.fullmatch(revision):
            raise SourceError(f"not a full commit id: {revision!r}")
        path = self.trees_dir / revision
        with self._lock:
            if (path / ".git").exists():
                return path
            repo = self._bare()
            try:
                if not self._has(repo, revision):
                    refspec = f"+refs/heads/{self.branch}:refs/heads/{self.branch}"
                    fetch = ("fetch", "--no-tags", "--", self.url, refspec)
                    run_git(*fetch, cwd=repo, env=NO_PROMPT, timeout=self.timeout)
                if not self._has(repo, revision):
                    raise SourceError(f"commit {revision[:12]} is not on branch {self.branch!r}")
                if path.exists():
                    shutil.rmtree(path)
                run_git("worktree", "prune", cwd=repo)
                self.trees_dir.mkdir(exist_ok=True)  # in cache_dir, made with the bare repository
                run_git("worktree", "add", "--detach", "--force", str(path), revision, cwd=repo)
            except GitFailed as exc:
                raise SourceError(f"fetching {revision[:12]} failed: {_said(exc)}") from exc
            return path

    def prune(self, keep: set[str]) -> None:
        """Remove the worktrees of commits not in `keep`."""
        with self._lock:
            if not self.trees_dir.exists():
                return
            for entry in self.trees_dir.iterdir():
                if entry.name not in keep:
                    shutil.rmtree(entry, ignore_errors=True)
            if self._cache.exists():
                run_git("worktree", "prune", cwd=self._cache)


def _said(failed: GitFailed) -> str:
    """What git said, with any credential in it hidden."""
    return redact(failed.stderr.strip() or str(failed))
