"""The only user of pulumi.automation: up, refresh-preview for drift, correction, cancel, pending operations.

Every call builds a LocalWorkspace on the worktree of one commit (`<tree>/<project_dir>`), so what
runs is exactly what is in Git at that commit. Errors come back as an Outcome with a named reason
and a short, redacted message; only bugs escape to the loop (OPERATION_ERRORS is what is caught).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from pulumi import automation as auto

from eoepca_gitops.credentials import env_secrets, redact
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import read_file
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.model.defaults import PIN_COMMIT
from eoepca_gitops.project import load_stack_file, stack_file_name

from .conditions import Reason
from .drift import DriftItem, describe_step
from .failures import classify, summary
from .ports import OutcomeLike
from .takeover import keep_others_fields
from .unchanged import Unchanged

__all__ = ["AutomationSettings", "LockHolder", "Outcome", "StackAutomation", "classify"]

MESSAGE_PREFIX = "eoepca-gitops"
T = TypeVar("T")
_NOT_DRIFT = {"same", "read", "refresh", "discard", "discard-replaced"}
# What an operation may fail with: the CLI's errors, a missing binary or project folder. Anything
# else is a bug and escapes to the loop, which records it as one.
OPERATION_ERRORS = (auto.CommandError, auto.InvalidVersionError, OSError)
_LOCK = re.compile(r"created by (?P<user>\S*)@(?P<host>\S+) \(pid (?P<pid>\d+)\)")


@dataclass(frozen=True)
class LockHolder:
    user: str
    host: str
    pid: int

    def stale(self, previous_host: str | None = None) -> bool:
        """True when the holder is certainly gone: a dead process on this host, or our own previous
        incarnation on another host (a pod replaced by its Deployment)."""
        if self.host == socket.gethostname():
            try:
                stat = read_file(f"/proc/{self.pid}/stat")
            except GitopsError:  # gone, or not ours to read
                return not Path(f"/proc/{self.pid}").exists()
            # A zombie (killed, not yet reaped: PID 1 in a container may never reap it) is dead.
            return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
        return previous_host is not None and self.host == previous_host


def lock_holders(text: str) -> list[LockHolder]:
    return [LockHolder(m["user"], m["host"], int(m["pid"])) for m in _LOCK.finditer(text)]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: Reason
    message: str = ""
    transient: bool = False
    changes: Mapping[str, int] = field(default_factory=dict)
    drift: bool = False
    duration: float = 0.0
    notes: tuple[str, ...] = ()
    drift_items: tuple[DriftItem, ...] = ()
    drifted: tuple[str, ...] = ()  # the URNs a drift check would change


@dataclass(frozen=True)
class AutomationSettings:
    project_dir: str = "."
    env: Mapping[str, str] = field(default_factory=dict)
    pulumi_root: Path | None = None  # holds bin/pulumi; None: `pulumi` from PATH
    parallel: int | None = None


class StackAutomation:
    def __init__(self, stack_name: str, settings: AutomationSettings) -> None:
        self.stack_name = stack_name
        self.settings = settings
        self._command: auto.PulumiCommand | None = None
        self._env = {**os.environ, **settings.env}
        self._secrets = env_secrets(self._env)
        self._unchanged = Unchanged()  # what the last drift checks saw
        #: The commit a roll-back holds the stack at (poller.hold): the program pins Flux's source to it.
        self.pin: str | None = None
        #: The stack last selected, by the pin it was selected with: each selection is a
        #: `pulumi stack select` process; one serves every commit's folder until a failure.
        self._selected: tuple[str | None, auto.Stack] | None = None

    # -- plumbing ------------------------------------------------------------------------------
    def _cmd(self) -> auto.PulumiCommand:
        if self._command is None:
            root = str(self.settings.pulumi_root) if self.settings.pulumi_root else None
            self._command = auto.PulumiCommand(root=root, skip_version_check=True)
        return self._command

    def _stack(self, tree: Path) -> auto.Stack:
        work_dir = (tree / self.settings.project_dir).resolve()
        if not (work_dir / "Pulumi.yaml").exists() and not (work_dir / "Pulumi.yml").exists():
            raise FileNotFoundError(f"no Pulumi.yaml in {self.settings.project_dir!r} at this commit")
        if self._selected is not None and self._selected[0] == self.pin:
            # Every command the stack runs names it (--stack): a commit's folder needs no selection of
            # its own (a `pulumi stack select` process, 0.24 s on each push's path).
            stack = self._selected[1]
            stack.workspace.work_dir = str(work_dir)
            return stack
        env = {**self.settings.env, **({PIN_COMMIT: self.pin} if self.pin else {})}
        ws = auto.LocalWorkspace(work_dir=str(work_dir), env_vars=env, pulumi_command=self._cmd())
        stack = auto.Stack.create_or_select(self.stack_name, ws)
        self._selected = (self.pin, stack)
        return stack

    def _cluster(self, tree: Path) -> ClusterAccess:
        """The stack's cluster, as the stack file at this commit names it; raises GitopsError."""
        project = (tree / self.settings.project_dir).resolve()
        return ClusterAccess.for_stack(load_stack_file(project / stack_file_name(self.stack_name)))

    def _fail(self, exc: BaseException, started: float, notes: tuple[str, ...] = ()) -> Outcome:
        self._selected = None  # selected again next time: the stack may be gone (`pulumi stack rm`)
        text = redact(str(exc), self._secrets)
        if isinstance(exc, auto.ConcurrentUpdateError):
            holders = ", ".join(f"{h.user}@{h.host} pid {h.pid}" for h in lock_holders(text)) or "unknown"
            return Outcome(
                False,
                Reason.CONCURRENT_UPDATE,
                f"stack locked by another update ({holders})",
                transient=True,
                duration=time.monotonic() - started,
                notes=notes,
            )
        if isinstance(exc, FileNotFoundError):
            return Outcome(False, Reason.CONFIG_INVALID, str(exc), duration=time.monotonic() - started)
        reason, transient = classify(text)
        elapsed = time.monotonic() - started
        return Outcome(False, reason, summary(text), transient=transient, duration=elapsed, notes=notes)

    def _with_stale_lock_retry(
        self, stack: auto.Stack, op: str, previous_host: str | None, fn: Callable[[auto.Stack], T]
    ) -> tuple[T, tuple[str, ...]]:
        """Runs `fn`; on a stale lock (every holder certainly dead) cancels it once and retries."""
        try:
            return fn(stack), ()
        except auto.ConcurrentUpdateError as exc:
            holders = lock_holders(str(exc))
            if not holders or not all(h.stale(previous_host) for h in holders):
                raise
            who = ", ".join(f"{h.host} pid {h.pid}" for h in holders)
            note = f"removed a stale lock left by a dead process ({who}) before {op}"
            stack.cancel()
            return fn(stack), (note,)

    # -- operations ----------------------------------------------------------------------------
    def already_applied(self, tree: Path, revision: str) -> bool:
        """True when the stack's last update succeeded with this revision (another poller did it)."""
        try:
            stack = self._stack(tree)
            history = stack.history(page_size=1, page=1)
        except (auto.CommandError, FileNotFoundError):
            return False
        return bool(
            history
            and history[0].kind == "update"
            and history[0].result == "succeeded"
            and history[0].message == self.message(revision)
        )

    def message(self, revision: str) -> str:
        return f"{MESSAGE_PREFIX} {revision}" + (" (held)" if self.pin else "")

    def update(
        self,
        tree: Path,
        revision: str,
        *,
        refresh: bool = False,
        previous_host: str | None = None,
        targets: Sequence[str] = (),
    ) -> Outcome:
        started = time.monotonic()
        notes: tuple[str, ...] = ()
        self._unchanged.forget()
        try:
            stack = self._stack(tree)

            def up(s: auto.Stack) -> auto.UpResult:
                return s.up(
                    message=self.message(revision),
                    refresh=refresh or None,
                    target=list(targets) or None,
                    parallel=self.settings.parallel,
                    show_secrets=False,
                    suppress_outputs=True,
                    color="never",
                )

            result, notes = self._with_stale_lock_retry(stack, "update", previous_host, up)
        except OPERATION_ERRORS as exc:
            return self._fail(exc, started, notes)
        changes = {str(k): int(v) for k, v in (result.summary.resource_changes or {}).items()}
        elapsed = time.monotonic() - started
        return Outcome(True, Reason.SYNCED, "", changes=changes, duration=elapsed, notes=notes)

    def check_drift(self, tree: Path, *, previous_host: str | None = None) -> Outcome:
        """Refresh-preview: drift is any planned change other than `same` after a refresh. Not previewed
        when the stack's objects are at the versions the last clean check of this commit saw
        (unchanged.py)."""
        started = time.monotonic()
        notes: tuple[str, ...] = ()
        cluster, record, at = (lambda: self._cluster(tree)), self._unchanged, (tree, self.pin)
        if record.still_clean(at, cluster):
            unchanged = "no object changed since the last clean check: not previewed"
            return Outcome(True, Reason.SYNCED, duration=time.monotonic() - started, notes=(unchanged,))
        record.before_preview(cluster)
        try:
            stack = self._stack(tree)

            found: list[DriftItem] = []
            urns: dict[str, None] = {}

            def on_event(ev: auto.EngineEvent) -> None:
                pre = ev.resource_pre_event
                if pre is not None:
                    record.saw(pre.metadata.type, pre.metadata.old.outputs if pre.metadata.old else None)
                if (
                    pre is None
                    or str(pre.metadata.op.value) in _NOT_DRIFT
                    or pre.metadata.type.startswith("pulumi:")
                ):
                    return
                md = pre.metadata
                urns[md.urn] = None
                found.extend(
                    describe_step(
                        str(md.op.value),
                        md.urn.rsplit("::", 1)[-1],
                        md.type,
                        md.old.outputs if md.old else None,
                        md.new.inputs if md.new else None,
                        {str(k): v for k, v in (md.detailed_diff or {}).items()},
                    )
                )

            def preview(s: auto.Stack) -> auto.PreviewResult:
                return s.preview(
                    refresh=True, diff=True, parallel=self.settings.parallel, color="never", on_event=on_event
                )

            result, notes = self._with_stale_lock_retry(stack, "drift check", previous_host, preview)
        except OPERATION_ERRORS as exc:
            return self._fail(exc, started, notes)
        changes = {str(k): int(v) for k, v in result.change_summary.items()}
        drift = any(v for k, v in changes.items() if k != "same")
        record.after_preview(at, not drift, cluster)
        items = tuple(found)
        shown = "; ".join(redact(str(i), self._secrets) for i in items[:5]) + (
            "; ..." if len(items) > 5 else ""
        )
        return Outcome(
            True,
            Reason.DRIFT_DETECTED if drift else Reason.SYNCED,
            f"{_describe(changes)} ({shown})" if drift else "",
            changes=changes,
            drift=drift,
            duration=time.monotonic() - started,
            notes=notes,
            drift_items=items,
            drifted=tuple(urns),
        )

    def correct(self, tree: Path, revision: str, found: OutcomeLike) -> Outcome:
        """A refresh-update of what a drift check found changed (only those resources: refreshing
        the rest again would double the time to correct), with other managers' fields kept out of
        the provider's takeover first (takeover.py)."""
        try:
            kept = keep_others_fields(self._cluster(tree), found.drift_items)
        except GitopsError as exc:
            kept = [f"kept no other managers' fields: {exc}"]
        out = self.update(tree, revision, refresh=True, targets=found.drifted)
        if out.ok and found.drifted:
            kept.extend(self._reread(tree, found.drifted))
        return replace(out, notes=(*kept, *out.notes))

    def _reread(self, tree: Path, urns: Sequence[str]) -> list[str]:
        """Refreshes the corrected resources once more. The provider can record an object as it was
        before its update: when two Deployments of one namespace are updated in the same run, its
        shared watch may hand back the older one (seen with a label-only change). The cluster is
        right either way; this keeps the state right too, so a `pulumi preview` shows no change."""
        try:
            self._stack(tree).refresh(target=list(urns), color="never")
        except OPERATION_ERRORS as exc:
            why = summary(redact(str(exc), self._secrets))
            return [f"the state of the corrected resources was not re-read: {why}"]
        return []

    def recover(self, tree: Path, previous_host: str | None) -> Outcome:
        """After a run died mid-operation: remove its stale lock, report and clear pending operations.

        Pending creates are dropped from the state by a refresh (`--clear-pending-creates`); the
        next `up` re-creates them (server-side apply makes that an upsert of whatever was created).
        """
        started = time.monotonic()
        notes: list[str] = []
        try:
            stack = self._stack(tree)
            deployment = stack.export_stack().deployment or {}
            pending = deployment.get("pending_operations") or []
            for op in pending:
                res = op.get("resource", {})
                notes.append(f"pending {op.get('type', '?')} of {res.get('urn', '?')} left by a killed run")

            def refresh(s: auto.Stack) -> auto.RefreshResult:
                return s.refresh(clear_pending_creates=True if pending else None, color="never")

            _, lock_notes = self._with_stale_lock_retry(stack, "recovery", previous_host, refresh)
            notes.extend(lock_notes)
        except OPERATION_ERRORS as exc:
            return self._fail(exc, started, tuple(notes))
        reason = Reason.PENDING_OPERATIONS if pending else Reason.SYNCED
        elapsed = time.monotonic() - started
        return Outcome(True, reason, "; ".join(notes), duration=elapsed, notes=tuple(notes))


def _describe(changes: Mapping[str, int]) -> str:
    parts = [f"{v} to {k}" for k, v in sorted(changes.items()) if k != "same" and v]
    return "drift: " + ", ".join(parts)


def interrupt_pulumi_children(sig: int = signal.SIGINT) -> list[int]:
    """Sends `sig` to the pulumi CLI processes this process started (graceful cancel on SIGINT:
    the engine finishes in-flight resource operations and writes its checkpoint)."""
    me = os.getpid()
    hit: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = read_file(entry / "stat")
            comm = read_file(entry / "comm").strip()
        except GitopsError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and comm == "pulumi":
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), sig)
                hit.append(int(entry.name))
    return hit
