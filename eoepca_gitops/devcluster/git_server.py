"""`python -m eoepca_gitops.devcluster.git_server`: one repository over smart HTTP on 127.0.0.1.

Flux's source-controller clones the stack's repository from here, as it would from a Git host.
The Git protocol itself is git's own `git http-backend` (CGI); this module only carries HTTP
requests to it and its answers back. Read-only: http-backend refuses pushes over unauthenticated
HTTP. The repository is served as it is on disk, so a commit in it is what Flux fetches next.

go-git, and so Flux's source-controller, cannot clone a repository whose HEAD is detached at a
commit no branch names ("reference not found"): a CI checkout of a pull request's merge commit, a
`git checkout <sha>`. Such a checkout is served through a view, a bare repository borrowing its
objects whose one branch, `main` (the branch the stacks follow), is the checkout's HEAD at each request.

On a new commit of a branch (or of a detached HEAD, as `main`) it calls the webhooks listed in
`<git dir>/eoepca-webhooks.json` (`add_webhook`) as GitHub does on a push: the push payload,
`X-GitHub-Event: push` and the body's HMAC-SHA256 under the hook's secret in `X-Hub-Signature-256`
(Flux's github Receiver, the poller's /hooks/github).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from eoepca_gitops.errors import ClusterError, GitFailed
from eoepca_gitops.files import read_bytes, write_file, write_files
from eoepca_gitops.git_runner import run_git

__all__ = [
    "VIEW_BRANCH",
    "add_webhook",
    "announce_pushes",
    "argv",
    "main",
    "remove_webhooks",
    "repository_top",
    "serve",
    "served_git_dir",
]

VIEW_BRANCH = "main"
WEBHOOKS = "eoepca-webhooks.json"


def repository_top(path: Path) -> Path:
    """The top folder of the Git repository at `path`: what the Git server serves."""
    try:
        return Path(run_git("rev-parse", "--show-toplevel", cwd=path).strip()).resolve()
    except GitFailed:
        served = "the dev cluster's Git server serves one"
        raise ClusterError(f"{path} is not a Git repository: {served}") from None


def _git_dir(repo: Path) -> Path:
    return Path(run_git("rev-parse", "--absolute-git-dir", cwd=repo).strip())


def served_git_dir(git_dir: Path, view: Path) -> Path:
    """What is served of the repository at `git_dir`, up to date: itself while its HEAD names a
    branch, else `view` with branch VIEW_BRANCH at its HEAD."""
    try:
        run_git("symbolic-ref", "-q", "HEAD", cwd=git_dir)
        return git_dir
    except GitFailed:
        pass
    head = run_git("rev-parse", "--verify", "HEAD^{commit}", cwd=git_dir).strip()
    if not (view / "HEAD").is_file():
        run_git("init", "-q", "--bare", "-b", VIEW_BRANCH, str(view))
    objects = run_git("rev-parse", "--git-path", "objects", cwd=git_dir).strip()
    alternates = f"{(git_dir / objects).resolve()}\n"
    write_files(view / "objects" / "info", {"alternates": alternates}, replace=lambda _: True)
    run_git("update-ref", f"refs/heads/{VIEW_BRANCH}", head, cwd=view)
    return view


def serve(repo: Path, name: str, port: int, view: Path) -> ThreadingHTTPServer:
    """A server (not yet serving) for `repo` at http://127.0.0.1:PORT/NAME.git; `view` is where
    it is served from while its HEAD is detached."""
    git_dir = _git_dir(repo)
    prefix = f"/{name}.git/"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._backend()

        def do_POST(self) -> None:
            self._backend()

        def _backend(self) -> None:
            path, _, query = self.path.partition("?")
            if not path.startswith(prefix):
                self.send_error(404, f"only {prefix} is served here")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            served = served_git_dir(git_dir, view)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(served.parent),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": f"/{served.name}/{path[len(prefix) :]}",
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(length),
                "REMOTE_ADDR": self.client_address[0],
                "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            # Not through git_runner: a CGI reads the request body on stdin and wants exactly the CGI
            # environment, where GitPython's execute starts from os.environ and takes stdin from a file.
            result = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = result.stdout.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.strip().split()[0])
                elif key:
                    headers.append((key, value.strip()))
            if result.returncode != 0 and not head:
                self.send_error(500, result.stderr.decode(errors="replace")[:200])
                return
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            print(f"{self.address_string()} {format % args}", flush=True)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def add_webhook(repo: Path, url: str, secret: str) -> None:
    """Has the server of `repo` call `url` on every push, signed with `secret`."""
    git_dir = _git_dir(repo)
    hooks = _webhooks(git_dir)
    hooks.append({"url": url, "secret": secret})
    write_file(git_dir, WEBHOOKS, json.dumps(hooks), replace=True)


def remove_webhooks(repo: Path) -> None:
    """The server of `repo` calls no one on a push any more."""
    (_git_dir(repo) / WEBHOOKS).unlink(missing_ok=True)


def _webhooks(git_dir: Path) -> list[dict[str, str]]:
    if not (git_dir / WEBHOOKS).exists():
        return []
    hooks: list[dict[str, str]] = json.loads(read_bytes(git_dir / WEBHOOKS))
    return hooks


def _heads(git_dir: Path) -> dict[str, str]:
    """Each branch's commit; a detached HEAD counts as VIEW_BRANCH, as it is served."""
    out = run_git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", cwd=git_dir)
    heads = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    try:
        run_git("symbolic-ref", "-q", "HEAD", cwd=git_dir)
    except GitFailed:
        heads[f"refs/heads/{VIEW_BRANCH}"] = run_git("rev-parse", "HEAD", cwd=git_dir).strip()
    return heads


def _push(url: str, secret: str, payload: Mapping[str, object]) -> str:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": signature,
        "User-Agent": "GitHub-Hookshot/eoepca-dev-cluster",
    }
    try:
        request = urllib.request.Request(url, body, headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.status)
    except OSError as exc:
        return str(exc)


def announce_pushes(repo: Path, name: str, stop: threading.Event, every: float = 0.1) -> None:
    """Until `stop`: on each branch that moves, calls every webhook as GitHub does on a push. A
    repository git cannot read (gone, not one) announces nothing and says so once."""
    try:
        git_dir = _git_dir(repo)
        seen = _heads(git_dir)
    except GitFailed as exc:
        print(f"no pushes announced for {repo}: {exc}", flush=True)
        return
    while not stop.wait(every):
        try:
            now = _heads(git_dir)
        except GitFailed:
            continue  # a ref being written: read again
        for ref, after in sorted(now.items()):
            if seen.get(ref) == after:
                continue
            payload = {
                "ref": ref,
                "before": seen.get(ref, "0" * 40),
                "after": after,
                "repository": {"name": name, "full_name": f"dev-cluster/{name}"},
            }
            for hook in _webhooks(git_dir):
                said = _push(hook["url"], hook["secret"], payload)
                print(f"push {ref} {after[:12]} -> {hook['url'].split('?')[0]}: {said}", flush=True)
        seen = now


def argv(repo: Path, name: str, port: int, view: Path) -> list[str]:
    """The command line that runs this server as its own process."""
    return [
        sys.executable,
        "-m",
        __name__,
        f"--repo={repo}",
        f"--name={name}",
        f"--port={port}",
        f"--view={view}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eoepca_gitops.devcluster.git_server")
    parser.add_argument(
        "--repo", type=Path, required=True, help="the repository to serve (a checkout or bare)"
    )
    parser.add_argument("--name", required=True, help="served as /<name>.git")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--view", type=Path, required=True, help="where a checkout with a detached HEAD is served from"
    )
    args = parser.parse_args()
    server = serve(args.repo, args.name, args.port, args.view)
    stop = threading.Event()
    threading.Thread(target=announce_pushes, args=(args.repo, args.name, stop), daemon=True).start()
    try:
        server.serve_forever()
    finally:
        stop.set()


if __name__ == "__main__":
    main()
