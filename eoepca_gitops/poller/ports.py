"""What the loop needs from its adapters: the branch head, worktrees, and Pulumi operations.

The real ones are source.RemoteBranch, source.Checkout and automation.StackAutomation; the loop's
tests pass fakes with the same methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from .conditions import Reason
from .drift import DriftItem

__all__ = ["CheckoutLike", "OutcomeLike", "Source", "StackAutomationLike"]


class Source(Protocol):
    def current_commit(self) -> str:
        """The commit the tracked branch points at now; raises SourceError."""
        ...


class OutcomeLike(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def reason(self) -> Reason: ...
    @property
    def message(self) -> str: ...
    @property
    def transient(self) -> bool: ...
    @property
    def drift(self) -> bool: ...
    @property
    def duration(self) -> float: ...
    @property
    def notes(self) -> tuple[str, ...]: ...
    @property
    def changes(self) -> Mapping[str, int]: ...
    @property
    def drift_items(self) -> tuple[DriftItem, ...]: ...


class StackAutomationLike(Protocol):
    def update(
        self, tree: Path, revision: str, *, refresh: bool = ..., previous_host: str | None = ...
    ) -> OutcomeLike: ...
    def check_drift(self, tree: Path, *, previous_host: str | None = ...) -> OutcomeLike: ...
    def recover(self, tree: Path, previous_host: str | None) -> OutcomeLike: ...
    def already_applied(self, tree: Path, revision: str) -> bool: ...


class CheckoutLike(Protocol):
    def worktree(self, revision: str) -> Path: ...
    def prune(self, keep: set[str]) -> None: ...
