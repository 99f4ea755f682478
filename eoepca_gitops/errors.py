"""The one exception tree of eoepca-gitops: every failure a user can act on is one of these.

Commands catch GitopsError in one place (eoepca_gitops.cli.common.reported) and print it as one
line with exit code 2; anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "ClusterError",
    "ConfigError",
    "GitFailed",
    "GitopsError",
    "KubeApiError",
    "NoKubeconfigError",
    "PathError",
    "SourceError",
    "ToolsMissingError",
]


class GitopsError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(GitopsError):
    """A stack or building-block file says something invalid. Raised before anything is applied."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file = file
        self.key = key
        self.message = message
        super().__init__(f"{file}: {key}: {message}")


class PathError(GitopsError):
    """A path a command was given or found is not one it may read, write or delete there."""


class SourceError(GitopsError):
    """A Git source could not be read (unreachable, branch missing, bad URL)."""


class GitFailed(GitopsError):
    """A git command exited non-zero (or ran past its time); `stderr` is what git said (some say it
    on stdout: `commit` with nothing to commit)."""

    def __init__(self, args: tuple[str, ...], status: int | None, stderr: str, stdout: str = "") -> None:
        self.command = args
        self.status = status
        self.stderr = stderr
        self.stdout = stdout
        super().__init__(f"git {args[0] if args else ''}: {stderr.strip() or f'exit {status}'}")


class ToolsMissingError(GitopsError):
    """A binary the dev cluster needs is not built yet (scripts/tools.sh builds it)."""


class ClusterError(GitopsError):
    """The dev cluster did not start or stop (the message holds the failing part's last log lines)."""


class NoKubeconfigError(GitopsError):
    """No Kubernetes configuration reaches a cluster: no kubeconfig (nor a pod's service account), a
    context it lacks, or one the client cannot use. A command that can do without the cluster says so
    and goes on (the upgrade gate checks Git only)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"no Kubernetes configuration: {reason}")


class KubeApiError(GitopsError):
    """The Kubernetes API answered a raw request (eoepca_gitops.kube.raw) with an error status.

    Not lightkube's ApiError: that one is what the lightkube client raises, caught in the adapter.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
