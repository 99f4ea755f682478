"""`python -m eoepca_gitops.devcluster.git_server`: one repository over smart HTTP on 127.0.0.1.

Flux's source-controller clones the stack's repository from here, as it would from a Git host.
The Git protocol itself is git's own `git http-backend` (CGI); this module only carries HTTP
requests to it and its answers back. Read-only: http-backend refuses pushes over unauthenticated
HTTP. The repository is served as it is on disk, so a commit in it is what Flux fetches next.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from eoepca_gitops.git_runner import run_git

__all__ = ["argv", "main", "serve"]


def _git_dir(repo: Path) -> Path:
    return Path(run_git("rev-parse", "--absolute-git-dir", cwd=repo).strip())


def serve(repo: Path, name: str, port: int) -> ThreadingHTTPServer:
    """A server (not yet serving) for `repo` at http://127.0.0.1:PORT/NAME.git."""
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
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(git_dir.parent),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": f"/{git_dir.name}/{path[len(prefix) :]}",
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


def argv(repo: Path, name: str, port: int) -> list[str]:
    """The command line that runs this server as its own process."""
    return [sys.executable, "-m", __name__, f"--repo={repo}", f"--name={name}", f"--port={port}"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eoepca_gitops.devcluster.git_server")
    parser.add_argument(
        "--repo", type=Path, required=True, help="the repository to serve (a checkout or bare)"
    )
    parser.add_argument("--name", required=True, help="served as /<name>.git")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.repo, args.name, args.port).serve_forever()


if __name__ == "__main__":
    main()
