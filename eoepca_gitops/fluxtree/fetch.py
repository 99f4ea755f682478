"""`import --fetch-remote`: what a remote resource of a kustomization holds, fetched as kustomize
fetches it, within a time cap and a size cap, with no credentials sent.

An HTTP(S) URL is fetched as a file (redirects followed to http(s) only); when that fails and the
URL names a Git repository (remote.classify), it is cloned instead, as kustomize does. A Git
repository is fetched with `git` at its ref (`?ref=`, else the default branch), depth 1, over
http(s) only, with a scratch HOME and no global or system git configuration (no credential
helper, no ~/.netrc, no ~/.gitconfig rewrite), never prompting. An SSH or file:// repository is
not fetched: it needs the credentials (or the file system) of the kustomize-controller that builds
it. Each failure is one FetchError naming file:line, the URL and, past a cap, which one.

kustomize itself is not asked to fetch: it has no size cap and would use the user's git set-up.
What is fetched lives in a scratch folder for the run (`fetching`); offline.py builds with it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError, PathError
from eoepca_gitops.files import files_under, write_file
from eoepca_gitops.fluxtree.confine import check_build
from eoepca_gitops.fluxtree.remote import Remote, RemoteUse

__all__ = ["FetchError", "Fetcher", "Limits", "fetching"]

_CHUNK = 64 * 1024
_POLL = 0.05  # seconds between two looks at a running git


class FetchError(GitopsError):
    """A remote resource could not be fetched (unreachable, missing, past a cap)."""


class CapError(FetchError):
    """Fetching a remote resource went past the time cap or the size cap."""


@dataclass(frozen=True)
class Limits:
    seconds: float = 60.0  # per remote resource, from the first byte asked to the last written
    max_bytes: int = 100 * 1024 * 1024  # a file's body, or a clone's files (.git included)


class _HttpOnly(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to another http(s) URL (urllib's own would follow one to ftp:)."""

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        target = urllib.parse.urljoin(req.full_url, headers.get("location") or headers.get("uri") or "")
        if urllib.parse.urlsplit(target).scheme.lower() not in ("http", "https"):
            raise FetchError(f"redirected to {target}, which is not an http(s) URL")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


# No HTTPBasicAuthHandler, no cookie jar: nothing a server could ask for is sent.
_OPENER = urllib.request.build_opener(_HttpOnly())


def _left(deadline: float, limits: Limits) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _past_time(limits)
    return left


def _past_time(limits: Limits) -> CapError:
    return CapError(f"past the time cap ({limits.seconds:g} s)")


def _past_size(limits: Limits) -> CapError:
    return CapError(f"larger than the size cap ({limits.max_bytes} bytes)")


def _body(response: http.client.HTTPResponse, deadline: float, limits: Limits) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(_CHUNK):  # what one read of the socket brings: a slow body stops too
        size += len(chunk)
        if size > limits.max_bytes:
            raise _past_size(limits)
        chunks.append(chunk)
        _left(deadline, limits)
    return b"".join(chunks)


def _get(url: str, deadline: float, limits: Limits) -> bytes:
    """The body of `url` (status 200 after redirects); FetchError otherwise."""
    request = urllib.request.Request(url, headers={"User-Agent": "eoepca-gitops"})
    try:
        with _OPENER.open(request, timeout=_left(deadline, limits)) as response:
            return _body(response, deadline, limits)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from None
    except TimeoutError:
        raise _past_time(limits) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _past_time(limits) from None
        raise FetchError(f"unreachable: {exc.reason}") from None
    except OSError as exc:
        raise FetchError(f"unreachable: {exc.strerror or exc}") from None
    except http.client.InvalidURL as exc:  # a control character, a port that is no number
        raise FetchError(f"not a URL an HTTP request can carry: {exc}") from None
    except http.client.HTTPException as exc:  # an answer cut short or not HTTP
        raise FetchError(f"a broken HTTP answer: {type(exc).__name__} {exc}") from None


def _git_env(home: Path) -> dict[str, str]:
    """git with nothing of the user's: no configuration, no credential, no prompt, http(s) only.

    Why this git is not run through git_runner: GitPython starts every command from os.environ
    (a GIT_DIR or GIT_CONFIG_* of the user's would come along), and the fetch below is
    watched for size while it runs."""
    kept = ("PATH", "LANG", "LC_ALL", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY")
    return {
        **{k: os.environ[k] for k in kept if k in os.environ},
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GIT_ALLOW_PROTOCOL": "http:https",
    }


def _failed(args: list[str], code: int, error: str) -> FetchError:
    lines = [line for line in error.splitlines() if line.strip()]
    return FetchError(f"git {args[0]} failed: {lines[-1] if lines else f'exit {code}'}")


def _git(args: list[str], folder: Path, home: Path, deadline: float, limits: Limits) -> str:
    """The output of one git command in `folder`, stopped past the time cap."""
    argv = ["git", "-c", "credential.helper=", "-c", "core.askPass=", "-C", str(folder), *args]
    try:
        done = subprocess.run(
            argv,
            env=_git_env(home),
            capture_output=True,
            text=True,
            timeout=_left(deadline, limits),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _past_time(limits) from None
    if done.returncode != 0:
        raise _failed(args, done.returncode, done.stderr)
    return done.stdout


def _size(folder: Path) -> int:
    total = 0
    for path in files_under(folder, folder):
        with contextlib.suppress(OSError):  # git renames its temporary files as it goes
            total += path.lstat().st_size
    return total


def _git_fetch(remote: Remote, into: Path, home: Path, deadline: float, limits: Limits) -> None:
    """git fetch of the ref at depth 1, stopped as soon as what it received passes a cap."""
    args = ["fetch", "-q", "--depth=1", "--no-tags", remote.repo, remote.ref or "HEAD"]
    argv = ["git", "-c", "credential.helper=", "-c", "core.askPass=", "-C", str(into), *args]
    # -q: git writes only its error to stderr, which the pipe holds while it runs
    with subprocess.Popen(
        argv, env=_git_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            while proc.poll() is None:
                time.sleep(_POLL)
                if _size(into / ".git") > limits.max_bytes:
                    raise _past_size(limits)
                _left(deadline, limits)
        finally:
            if proc.poll() is None:
                proc.kill()
        error = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise _failed(args, proc.returncode, error)


def _clone(remote: Remote, into: Path, home: Path, deadline: float, limits: Limits) -> Path:
    """The folder `remote` names in its repository at its ref, fetched into `into`."""
    if not remote.repo.lower().startswith(("https://", "http://")):
        raise FetchError("not fetched: an SSH or file:// repository needs the credentials or files of Flux")
    into.mkdir(parents=True)
    _git(["init", "-q", "--template="], into, home, deadline, limits)  # no hooks, nothing to count
    _git_fetch(remote, into, home, deadline, limits)
    # what the checkout writes, known before it is written
    listed = _git(["ls-tree", "-r", "-l", "FETCH_HEAD"], into, home, deadline, limits)
    sizes = (line.split(maxsplit=4)[3] for line in listed.splitlines())
    if _size(into / ".git") + sum(int(s) for s in sizes if s.isdigit()) > limits.max_bytes:
        raise _past_size(limits)
    _git(["checkout", "-q", "FETCH_HEAD"], into, home, deadline, limits)
    folder = (into / remote.path).resolve()
    if not folder.is_dir() or not folder.is_relative_to(into.resolve()):
        raise FetchError(f"no folder {remote.path or '/'} in {remote.repo} at {remote.ref or 'HEAD'}")
    return folder


def _objects(text: str) -> bool:
    """Whether `text` reads as Kubernetes objects (else kustomize tries the URL as a repository)."""
    try:
        docs = [d for d in yaml_io.load_all(text) if d is not None]
    except yaml.YAMLError:
        return False
    return bool(docs) and all(isinstance(d, dict) and "kind" in d for d in docs)


@dataclass
class Fetcher:
    """What each remote entry holds, fetched once per run into `scratch`."""

    scratch: Path
    limits: Limits = field(default_factory=Limits)
    _found: dict[str, Path] = field(default_factory=dict)

    def fetch(self, use: RemoteUse) -> Path:
        """The file or folder `use` names, fetched; FetchError naming file:line, the URL and why."""
        remote = use.remote
        if remote.entry not in self._found:
            n = len(self._found)
            try:
                self._found[remote.entry] = self._fetch(remote, n)
            except FetchError as exc:
                where = f"{use.file}:{use.line}" if use.line else use.file
                raise FetchError(f"{where}: {use.key}: {remote.entry}: {exc}") from None
        return self._found[remote.entry]

    def _fetch(self, remote: Remote, n: int) -> Path:
        home = self.scratch / "home"
        home.mkdir(exist_ok=True)
        deadline = time.monotonic() + self.limits.seconds
        as_file = ""
        if remote.kind == "http":
            try:
                text = _get(remote.entry, deadline, self.limits).decode("utf-8")
            except UnicodeDecodeError:
                as_file = "not UTF-8 text"
            except CapError:
                raise
            except FetchError as exc:
                as_file = str(exc)
            else:
                if _objects(text) or not remote.repo:
                    return write_file(self.scratch, f"files/{n}.yaml", text, replace=False)
                as_file = "not Kubernetes objects"
            if not remote.repo:
                raise FetchError(as_file)
        repo = self.scratch / "repos" / str(n)
        try:
            folder = _clone(remote, repo, home, deadline, self.limits)
        except FetchError as exc:
            raise FetchError(f"{as_file}; as a Git repository: {exc}" if as_file else str(exc)) from None
        try:  # what it names stays in the repository, and kustomize builds it without the network
            nested = check_build(repo, folder, {}, remote.entry).remote
        except PathError as exc:
            raise FetchError(str(exc)) from None
        if nested:
            raise FetchError(
                f"names a remote resource itself ({nested[0].remote.entry}): --fetch-remote fetches one level"
            )
        return folder


@contextlib.contextmanager
def fetching(limits: Limits | None) -> Iterator[Fetcher | None]:
    """A Fetcher whose scratch folder is removed afterwards; None (nothing fetched) without limits."""
    if limits is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="fluxtree-fetch-") as tmp:
        yield Fetcher(Path(tmp), limits)
