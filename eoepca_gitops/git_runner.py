"""The one way eoepca-gitops runs git: GitPython's `Git.execute`, its output or one GitFailed.

Every caller passes its arguments and, where it needs them, a folder, extra environment and a time
limit; git's own environment (LC_ALL=C, the user's configuration and credentials) comes through
as GitPython sets it. `NO_PROMPT` is for git run without a terminal: it fails instead of asking.

Two runs stay outside on purpose: `git http-backend` (devcluster/git_server.py), a CGI that takes
the request body on stdin and exactly the CGI environment, and fluxtree/fetch.py's fetch of a
remote base, which runs with nothing of the user's environment and is watched for size while it
runs; GitPython's execute starts every command from os.environ and feeds stdin only from a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import git

from eoepca_gitops.errors import GitFailed

__all__ = ["NO_PROMPT", "GitFailed", "run_git", "run_git_bytes"]

#: No terminal prompt and no password helper: a missing credential is an error, not a wait.
NO_PROMPT: Mapping[str, str] = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}


def _execute(
    args: tuple[str, ...], cwd: Path | None, env: Mapping[str, str] | None, timeout: float | None, text: bool
) -> str | bytes:
    # -C rather than a working directory: GitPython would run in the current one if `cwd` is missing.
    status, out, err = git.Git().execute(
        ["git", *(["-C", str(cwd)] if cwd is not None else []), *args],
        with_extended_output=True,
        with_exceptions=False,
        stdout_as_string=text,
        strip_newline_in_stdout=False,
        kill_after_timeout=timeout,
        env=dict(env or {}),
    )
    if status != 0:
        raise GitFailed(args, status, _text(err), _text(out))
    return out if out is not None else ("" if text else b"")


def _text(output: str | bytes | None) -> str:
    return output if isinstance(output, str) else (output or b"").decode(errors="replace")


def run_git(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float | None = None
) -> str:
    """git's standard output as text; raises GitFailed."""
    out = _execute(args, cwd, env, timeout, text=True)
    assert isinstance(out, str)
    return out


def run_git_bytes(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float | None = None
) -> bytes:
    """git's standard output as it is (an archive, NUL-separated names); raises GitFailed."""
    out = _execute(args, cwd, env, timeout, text=False)
    assert isinstance(out, bytes)
    return out
