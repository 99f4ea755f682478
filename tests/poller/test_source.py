"""Where revisions come from, against a real Git repository on disk: the branch head by ls-remote,
a worktree at exactly one commit, fetched only when missing, and pruning."""

from __future__ import annotations

import subprocess
import time
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


def test_the_default_timeouts() -> None:
    assert RemoteBranch("https://h/r.git", "main").timeout == 20.0
    assert Checkout("https://h/r.git", "main", Path("cache")).timeout == 120.0


def _fake_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    script = tmp_path / "ssh"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(script))


URL = "ssh://git@example.invalid/org/repo.git"
REFUSED = "denied: key rejected\nfatal: Could not read from remote repository."


def test_git_never_prompts_and_its_error_is_passed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "env"
    _fake_ssh(
        tmp_path,
        monkeypatch,
        f"env | grep -E '^(GIT_TERMINAL_PROMPT|GIT_ASKPASS|LC_ALL)=' | sort >> {seen}\n"
        "echo 'denied: key rejected' >&2\nexit 1",
    )
    with pytest.raises(SourceError) as head:
        RemoteBranch(URL, "main").current_commit()
    assert str(head.value).startswith(f"git ls-remote {URL} failed: {REFUSED}")
    with pytest.raises(SourceError) as fetch:
        Checkout(URL, "main", tmp_path / "cache").worktree("a" * 40)
    assert str(fetch.value).startswith(f"fetching aaaaaaaaaaaa failed: {REFUSED}")
    # no terminal prompt, no password helper, messages in English: both times
    assert seen.read_text() == "GIT_ASKPASS=true\nGIT_TERMINAL_PROMPT=0\nLC_ALL=C\n" * 2


def test_a_remote_that_does_not_answer_is_given_up_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_ssh(tmp_path, monkeypatch, "sleep 30")
    started = time.monotonic()
    with pytest.raises(SourceError, match="did not complete in 1 secs"):
        RemoteBranch(URL, "main", timeout=1).current_commit()
    with pytest.raises(SourceError, match="did not complete in 1 secs"):
        Checkout(URL, "main", tmp_path / "cache", timeout=1).worktree("a" * 40)
    assert time.monotonic() - started < 15


def test_a_url_is_never_read_as_a_git_option(tmp_path: Path) -> None:
    url = f"--upload-pack=touch {tmp_path / 'ran'}"
    with pytest.raises(SourceError, match="strange pathname"):
        RemoteBranch(url, "main").current_commit()
    with pytest.raises(SourceError, match="strange pathname"):
        Checkout(url, "main", tmp_path / "cache").worktree("a" * 40)
    assert not (tmp_path / "ran").exists()


def test_only_the_branch_itself_is_its_head(repo: Path) -> None:
    # ls-remote's pattern also matches refs/heads/<anything>/refs/heads/main
    git(repo, "branch", "team/refs/heads/main")
    git(repo, "branch", "-m", "main", "other")
    with pytest.raises(SourceError, match="branch 'main' not found"):
        RemoteBranch(str(repo), "main").current_commit()


def test_the_cache_is_a_bare_repository_without_tags_and_kept_across_restarts(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no repository around the working directory to be used instead
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "v1")
    second = commit(repo, "a.txt", "two")
    cache = tmp_path / "cache"
    Checkout(str(repo), "main", cache).worktree(first)
    assert git(cache / "repo.git", "rev-parse", "--is-bare-repository") == "true"
    assert git(cache / "repo.git", "tag") == ""  # --no-tags
    # a restarted poller (a new Checkout) uses the cache as it is: no second repository
    restarted = Checkout(str(repo), "main", cache)
    tree = restarted.worktree(second)
    assert (tree / "a.txt").read_text() == "two"
    assert Path(git(tree, "rev-parse", "--git-common-dir")).resolve() == (cache / "repo.git").resolve()
    # restarted again, pruning before any fetch: the worktree of `first` goes, and its registration
    Checkout(str(repo), "main", cache).prune({second})
    assert sorted(p.name for p in cache.iterdir()) == ["repo.git", "trees"]
    assert sorted(p.name for p in (cache / "trees").iterdir()) == [second]
    assert git(cache / "repo.git", "worktree", "list").count("\n") == 1  # the bare repository and `second`


def test_a_commit_in_the_cache_is_not_fetched_again(repo: Path, tmp_path: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    checkout = Checkout(str(repo), "main", tmp_path / "cache")
    tree = checkout.worktree(first)
    (tree / "marker").write_text("kept")
    assert checkout.worktree(first) == tree
    assert (tree / "marker").read_text() == "kept"  # the worktree there is used as it is
    checkout.prune(set())
    subprocess.run(["rm", "-rf", str(repo)], check=True)  # the remote is gone
    assert (checkout.worktree(first) / "a.txt").read_text() == "one"  # from the cache alone


def test_prune_removes_what_it_can_and_creates_nothing(tmp_path: Path) -> None:
    trees = tmp_path / "cache" / "trees"
    trees.mkdir(parents=True)
    (trees / "stray-file").write_text("not a worktree")
    Checkout("https://h/r.git", "main", tmp_path / "cache").prune(set())
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["trees"]
