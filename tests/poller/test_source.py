"""Where revisions come from, against a real Git repository on disk: the branch head by ls-remote,
a worktree at exactly one commit, fetched only when missing, and pruning."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from eoepca_gitops.errors import SourceError
from eoepca_gitops.poller.source import Checkout, RemoteBranch


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", name)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "origin"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, "a.txt", "one")
    return path


def test_the_head_of_the_branch(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    branch = RemoteBranch(str(repo), "main")
    assert branch.current_commit() == first
    second = commit(repo, "a.txt", "two")
    assert branch.current_commit() == second != first


def test_a_missing_branch_is_named(repo: Path) -> None:
    with pytest.raises(SourceError) as info:
        RemoteBranch(str(repo), "develop").current_commit()
    assert str(info.value) == f"branch 'develop' not found in {repo}"


def test_a_branch_whose_name_only_starts_like_the_tracked_one_is_not_it(repo: Path) -> None:
    git(repo, "branch", "main-old")
    git(repo, "branch", "-m", "main", "other")
    with pytest.raises(SourceError, match="branch 'main' not found"):
        RemoteBranch(str(repo), "main").current_commit()


@pytest.mark.parametrize(
    ("url", "branch", "message"),
    [
        ("", "main", "a Git URL is required"),
        ("https://h/r.git", "", "branch must be a plain branch name, got ''"),
        ("https://h/r.git", "refs/heads/main", "branch must be a plain branch name, got 'refs/heads/main'"),
        ("https://h/r.git", "my branch", "branch must be a plain branch name, got 'my branch'"),
    ],
)
def test_a_remote_branch_needs_a_url_and_a_plain_branch(url: str, branch: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        RemoteBranch(url, branch)
    assert str(info.value) == message


def test_a_worktree_holds_exactly_the_commit(repo: Path, tmp_path: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    second = commit(repo, "a.txt", "two")
    checkout = Checkout(str(repo), "main", tmp_path / "cache")
    old = checkout.worktree(first)
    new = checkout.worktree(second)
    assert (old, new) == (tmp_path / "cache" / "trees" / first, tmp_path / "cache" / "trees" / second)
    assert ((old / "a.txt").read_text(), (new / "a.txt").read_text()) == ("one", "two")
    assert checkout.worktree(second) == new  # already there: no fetch


def test_a_commit_made_after_the_first_fetch_is_fetched(repo: Path, tmp_path: Path) -> None:
    checkout = Checkout(str(repo), "main", tmp_path / "cache")
    checkout.worktree(git(repo, "rev-parse", "HEAD"))
    later = commit(repo, "b.txt", "three")
    assert (checkout.worktree(later) / "b.txt").read_text() == "three"


def test_a_commit_not_on_the_branch_is_refused(repo: Path, tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    elsewhere = commit(repo, "c.txt", "topic")
    checkout = Checkout(str(repo), "main", tmp_path / "cache")
    with pytest.raises(SourceError) as info:
        checkout.worktree(elsewhere)
    assert str(info.value) == f"commit {elsewhere[:12]} is not on branch 'main'"


@pytest.mark.parametrize("revision", ["main", "abc123", "A" * 40, "a" * 39])
def test_only_a_full_commit_id_is_checked_out(revision: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        Checkout("https://h/r.git", "main", tmp_path).worktree(revision)
    assert str(info.value) == f"not a full commit id: {revision!r}"


def test_a_broken_worktree_folder_is_replaced(repo: Path, tmp_path: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    leftover = tmp_path / "cache" / "trees" / head
    leftover.mkdir(parents=True)
    (leftover / "junk").write_text("from a killed run")
    tree = Checkout(str(repo), "main", tmp_path / "cache").worktree(head)
    assert sorted(p.name for p in tree.iterdir()) == [".git", "a.txt"]


def test_prune_keeps_only_the_commits_in_use(repo: Path, tmp_path: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    second = commit(repo, "a.txt", "two")
    checkout = Checkout(str(repo), "main", tmp_path / "cache")
    checkout.worktree(first)
    checkout.worktree(second)
    checkout.prune({second})
    assert [p.name for p in (tmp_path / "cache" / "trees").iterdir()] == [second]
    assert git(tmp_path / "cache" / "repo.git", "worktree", "list").count("\n") == 1  # bare + second
    Checkout(str(repo), "main", tmp_path / "empty").prune(set())  # nothing checked out yet: no error
