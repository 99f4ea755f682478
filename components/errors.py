"""The one exception tree of eoepca-gitops: every failure a user can act on is one of these."""

from __future__ import annotations

__all__ = ["ConfigError", "GitopsError", "ManifestSourceError"]


class GitopsError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(GitopsError):
    """A stack or building-block file says something invalid. Raised before anything is applied."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file = file
        self.key = key
        self.message = message
        super().__init__(f"{file}: {key}: {message}")


class ManifestSourceError(GitopsError):
    """The Flux install manifest for a version could not be read, downloaded or parsed."""
