"""The dev cluster's Git server: a clone over smart HTTP sees what is committed, and nothing is pushed."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from eoepca_gitops.devcluster.git_server import serve, served_git_dir


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    import os

    return subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "a.txt").write_text("one\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    server = serve(repo, "project", 0, tmp_path / "view")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield repo, f"http://127.0.0.1:{server.server_address[1]}/project.git"
    server.shutdown()
    server.server_close()


def test_a_clone_sees_each_new_commit(served: tuple[Path, str], tmp_path: Path) -> None:
    repo, url = served
    clone = tmp_path / "clone"
    git("clone", "-q", "--depth", "1", url, str(clone), cwd=tmp_path)
    assert (clone / "a.txt").read_text() == "one\n"
    (repo / "a.txt").write_text("two\n")
    git("commit", "-q", "-am", "two", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    assert git("ls-remote", url, "refs/heads/main", cwd=tmp_path).split()[0] == head
    git("pull", "-q", cwd=clone)
    assert (clone / "a.txt").read_text() == "two\n"


def test_pushes_are_refused_and_other_paths_not_served(served: tuple[Path, str], tmp_path: Path) -> None:
    repo, url = served
    clone = tmp_path / "clone"
    git("clone", "-q", url, str(clone), cwd=tmp_path)
    (clone / "b.txt").write_text("x\n")
    git("add", "-A", cwd=clone)
    git("commit", "-q", "-m", "b", cwd=clone)
    with pytest.raises(subprocess.CalledProcessError):
        git("push", "-q", "origin", "main", cwd=clone)
    assert not (repo / "b.txt").exists()
    with pytest.raises(subprocess.CalledProcessError):
        git("ls-remote", url.replace("project.git", "other.git"), cwd=tmp_path)


def test_another_path_is_answered_404_saying_what_is_served(served: tuple[Path, str]) -> None:
    import urllib.error
    import urllib.request

    _, url = served
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url.replace("project.git", "other.git") + "/info/refs")
    with exc.value:
        assert exc.value.code == 404
        assert b"only /project.git/ is served here" in exc.value.read()


def test_what_git_http_backend_answers_when_it_fails_is_passed_on(
    served: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error
    import urllib.request

    _, url = served
    answers = iter(
        [
            subprocess.CompletedProcess([], 1, b"Status: 403 Forbidden\r\n\r\nnot for you", b""),
            subprocess.CompletedProcess([], 128, b"", b"fatal: not a git repository"),
        ]
    )
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: next(answers))
    # its own answer when it gave one; else a 500 with what it said on stderr
    for code, said in ((403, b"not for you"), (500, b"fatal: not a git repository")):
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(url + "/info/refs")
        with exc.value:
            assert exc.value.code == code
            assert said in exc.value.read()


def test_a_detached_checkout_is_served_with_head_as_main(served: tuple[Path, str], tmp_path: Path) -> None:
    """Flux's go-git cannot clone a repository whose HEAD is detached at a commit no branch names
    ("reference not found"): such a checkout is served through a view whose main is the checkout's
    HEAD at every request, and the checkout itself is left as it is."""
    repo, url = served
    first = git("rev-parse", "HEAD", cwd=repo)
    assert served_git_dir(repo / ".git", tmp_path / "view") == repo / ".git"  # HEAD names a branch
    git("commit", "-q", "--allow-empty", "-m", "two", cwd=repo)
    second = git("rev-parse", "HEAD", cwd=repo)
    git("checkout", "-q", "--detach", first, cwd=repo)
    assert git("ls-remote", "--symref", url, cwd=tmp_path) == "\n".join(
        ["ref: refs/heads/main\tHEAD", f"{first}\tHEAD", f"{first}\trefs/heads/main"]
    )
    git("checkout", "-q", "--detach", second, cwd=repo)  # a new HEAD is what is fetched next
    git("clone", "-q", "--branch", "main", "--depth", "1", url, str(tmp_path / "clone"), cwd=tmp_path)
    assert git("rev-parse", "HEAD", cwd=tmp_path / "clone") == second
    assert git("rev-parse", "main", cwd=repo) == second and git("status", "--porcelain", cwd=repo) == ""
    assert not (repo / ".git" / "objects" / "info" / "alternates").exists()


def test_a_commit_calls_each_webhook_as_github_does_on_a_push(served: tuple[Path, str]) -> None:
    from eoepca_gitops.devcluster.git_server import add_webhook, announce_pushes
    from eoepca_gitops.poller.metrics import HealthServer, Metrics
    from eoepca_gitops.poller.webhook import answer

    repo, _ = served
    calls: list[tuple[int, str]] = []
    received = threading.Event()

    def hook(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        said = answer(b"the-secret", body, headers, "main")
        calls.append((said.status, json.loads(body)["after"]))
        received.set()
        return said.status, said.text

    receiver = HealthServer("127.0.0.1", 0, Metrics(), lambda: True, lambda: True, hook)
    receiver.start()
    stop = threading.Event()
    announcer = threading.Thread(target=announce_pushes, args=(repo, "project", stop, 0.05), daemon=True)
    try:
        add_webhook(repo, "http://{}:{}/hooks/github".format(*receiver.address), "the-secret")
        announcer.start()
        time.sleep(0.3)  # the announcer has read the heads as they are
        (repo / "a.txt").write_text("two\n")
        git("commit", "-qam", "two", cwd=repo)
        head = git("rev-parse", "HEAD", cwd=repo)
        assert received.wait(10)
        assert calls == [(202, head)]  # signed as GitHub signs: the poller's check accepts it
    finally:
        stop.set()
        announcer.join(5)
        receiver.stop()
