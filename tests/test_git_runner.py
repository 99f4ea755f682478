"""git_runner: git's output, or one GitFailed with what git said; never run in another folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.git_runner import NO_PROMPT, GitFailed, run_git, run_git_bytes


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    run_git("init", "-q", "-b", "main", str(repo))
    (repo / "a b.txt").write_text("x\n")
    run_git("add", "-A", cwd=repo)
    return repo


def test_output_as_text_and_as_bytes(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert run_git("rev-parse", "--show-toplevel", cwd=repo) == f"{repo.resolve()}\n"
    assert run_git_bytes("ls-files", "-z", cwd=repo) == b"a b.txt\0"


def test_a_failure_is_one_gitops_error_with_what_git_said(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    with pytest.raises(GitFailed) as bad:
        run_git("rev-parse", "--verify", "nothing^{commit}", cwd=repo)
    assert isinstance(bad.value, GitopsError)
    assert bad.value.status == 128
    assert str(bad.value) == "git rev-parse: fatal: Needed a single revision"
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    run_git("commit", "-q", "-m", "one", cwd=repo, env=env)
    with pytest.raises(GitFailed) as empty:  # git says this one on stdout
        run_git("commit", "-m", "two", cwd=repo, env=env)
    assert "nothing to commit" in empty.value.stdout


def test_a_missing_folder_fails_rather_than_running_here(tmp_path: Path) -> None:
    with pytest.raises(GitFailed):
        run_git("status", cwd=tmp_path / "absent")


def test_no_prompt_and_a_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ssh = tmp_path / "ssh"
    ssh.write_text(
        f"#!/bin/sh\nenv | grep -E '^GIT_(TERMINAL_PROMPT|ASKPASS)=' | sort > {tmp_path}/env\nexec sleep 30\n"
    )
    ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(ssh))
    with pytest.raises(GitFailed) as stuck:
        run_git("ls-remote", "ssh://git@example.invalid/r.git", env=NO_PROMPT, timeout=1)
    assert "did not complete" in stuck.value.stderr
    assert (tmp_path / "env").read_text() == "GIT_ASKPASS=true\nGIT_TERMINAL_PROMPT=0\n"
