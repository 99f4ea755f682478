"""Where revisions come from: the branch head by `git ls-remote` (no clone per tick), and a
worktree at an exact commit from one local bare cache, fetched only when the head moved.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import git

from eoepca_gitops.credentials import redact
from eoepca_gitops.errors import SourceError

__all__ = ["Checkout", "RemoteBranch", "SourceError"]

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}


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
        self._git = git.Git()

    def current_commit(self) -> str:
        ref = f"refs/heads/{self.branch}"
        try:
            out = self._git.execute(
                ["git", "ls-remote", "--", self.url, ref],
                kill_after_timeout=self.timeout,
                env=_GIT_ENV,
            )
        except git.GitCommandError as exc:
            detail = redact(str(exc.stderr or exc).strip())
            raise SourceError(f"git ls-remote {redact(self.url)} failed: {detail}") from exc
        for line in str(out).splitlines():
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
        self._repo: git.Repo | None = None

    def _bare(self) -> git.Repo:
        if self._repo is None:
            bare = self.cache_dir / "repo.git"
            self._repo = git.Repo(bare) if bare.exists() else git.Repo.init(bare, bare=True)
        return self._repo

    def _has(self, repo: git.Repo, revision: str) -> bool:
        try:
            repo.git.cat_file("-e", f"{revision}^{{commit}}")
            return True
        except git.GitCommandError:
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
                    with repo.git.custom_environment(**_GIT_ENV):
                        repo.git.fetch(
                            "--no-tags",
                            "--",
                            self.url,
                            f"+refs/heads/{self.branch}:refs/heads/{self.branch}",
                            kill_after_timeout=self.timeout,
                        )
                if not self._has(repo, revision):
                    raise SourceError(f"commit {revision[:12]} is not on branch {self.branch!r}")
                if path.exists():
                    shutil.rmtree(path)
                repo.git.worktree("prune")
                self.trees_dir.mkdir(exist_ok=True)  # in cache_dir, made with the bare repository
                repo.git.worktree("add", "--detach", "--force", str(path), revision)
            except git.GitCommandError as exc:
                detail = redact(str(exc.stderr or exc).strip())
                raise SourceError(f"fetching {revision[:12]} failed: {detail}") from exc
            return path

    def prune(self, keep: set[str]) -> None:
        """Remove the worktrees of commits not in `keep`."""
        with self._lock:
            if not self.trees_dir.exists():
                return
            for entry in self.trees_dir.iterdir():
                if entry.name not in keep:
                    shutil.rmtree(entry, ignore_errors=True)
            if self._repo is not None or (self.cache_dir / "repo.git").exists():
                self._bare().git.worktree("prune")
