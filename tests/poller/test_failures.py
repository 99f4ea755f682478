"""How the poller reads a failed Pulumi operation: its named reason and whether it is transient
(classify), the short message kept (Outcome.message), and which stack locks are stale."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

from eoepca_gitops.errors import PathError
from eoepca_gitops.model.defaults import PIN_COMMIT
from eoepca_gitops.poller import automation as automation_module
from eoepca_gitops.poller.automation import (
    AutomationSettings,
    LockHolder,
    StackAutomation,
    _describe,
    classify,
    lock_holders,
)
from eoepca_gitops.poller.conditions import Reason

HOST = socket.gethostname()

UNREACHABLE = [
    "dial tcp 127.0.0.1:6443: connect: connection refused",
    'Get "https://10.0.0.1:6443/api": dial tcp 10.0.0.1:6443: i/o timeout',
    "dial tcp: lookup cluster.example on 127.0.0.53:53: no such host",
    "error: context deadline exceeded",
    "configured Kubernetes cluster is unreachable: unable to load schema information",
    "error: unable to load schema information from the API server",
    "net/http: TLS handshake timeout",
    "read tcp 10.0.0.2:5000->10.0.0.1:6443: read: connection reset by peer",
    "the server is currently unable to handle the request",
    "the server could not find the requested resource (get deployments.apps)",
    "CONNECTION REFUSED",
]


@pytest.mark.parametrize("text", UNREACHABLE)
def test_an_unreachable_cluster_is_transient(text: str) -> None:
    assert classify(text) == (Reason.CLUSTER_UNREACHABLE, True)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('Server-Side Apply field conflict; conflicts with "kubectl-patch"', Reason.FIELD_CONFLICT),
        ("Apply failed with 1 conflict: conflict with kubectl", Reason.FIELD_CONFLICT),
        ("Apply failed with 2 conflicts: ...", Reason.FIELD_CONFLICT),
        ("error: Missing required configuration variable 'eoepca-gitops:cluster'", Reason.CONFIG_INVALID),
        ("error: configuration key 'x' not found", Reason.CONFIG_INVALID),
        ("Traceback (most recent call last):\n  File ...", Reason.CONFIG_INVALID),
        ("error: program failed with an unhandled exception", Reason.CONFIG_INVALID),
        ("pydantic validation error for Stack", Reason.CONFIG_INVALID),
        ("error: invalid config: blocks", Reason.CONFIG_INVALID),
        ("error: failed to decrypt encrypted configuration value", Reason.CONFIG_INVALID),
        ("kubernetes:apps/v1:Deployment demo/web updating failed", Reason.PROVIDER_ERROR),
        ("kubernetes:core/v1:Service x error: boom", Reason.PROVIDER_ERROR),
        ('Deployment.apps "web" is invalid: spec.replicas', Reason.PROVIDER_ERROR),
        ('namespaces "x" is forbidden: User cannot create', Reason.PROVIDER_ERROR),
        ('admission webhook "validate.kyverno.svc" denied the request', Reason.PROVIDER_ERROR),
        ("the server rejected our request for an unknown reason", Reason.PROVIDER_ERROR),
        ("422 Unprocessable Entity", Reason.PROVIDER_ERROR),
        ("error: something else", Reason.UPDATE_FAILED),
        ("", Reason.UPDATE_FAILED),
    ],
)
def test_other_failures_are_named_and_not_transient(text: str, reason: Reason) -> None:
    assert classify(text) == (reason, False)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # unreachable first: any failure while the cluster is down is retried, never stalls
        ('connection refused while applying; conflicts with "kubectl"', Reason.CLUSTER_UNREACHABLE),
        ('conflicts with "kubectl"; validation error', Reason.FIELD_CONFLICT),
        ("validation error: x is invalid", Reason.CONFIG_INVALID),
    ],
)
def test_the_first_matching_reason_wins_in_order(text: str, reason: Reason) -> None:
    assert classify(text)[0] == reason


def _fail(text: str) -> tuple[Reason, str, bool]:
    out = StackAutomation("dev", AutomationSettings())._fail(OSError(text), time.monotonic())
    assert out.ok is False
    return out.reason, out.message, out.transient


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # error: lines and the last exception line, each once, in order
        (
            "Updating (dev)\n  error: one\n  pulumi:pulumi:Stack dev\nerror: one\nerror: two\n",
            "error: one | error: two",
        ),
        (
            "kubernetes:apps/v1:Deployment x: Error applying\nValueError: bad value\nother",
            "kubernetes:apps/v1:Deployment x: Error applying | ValueError: bad value",
        ),
        ("pulumi.RunError: stack failed\n", "pulumi.RunError: stack failed"),
        # "error" inside a line is no error line (only kubernetes: lines count it)
        ("warning: no error here\nerror: real", "error: real"),
        (
            "kubernetes:core/v1:Service ok\nkubernetes: note",
            "kubernetes:core/v1:Service ok | kubernetes: note",
        ),
        # no error line: the last five lines that say something
        ("a\n\nb\nc\nd\ne\nf\n  \n", "b | c | d | e | f"),
    ],
)
def test_the_message_keeps_the_informative_lines(text: str, message: str) -> None:
    assert _fail(text)[1] == message


def test_a_long_message_is_cut_at_1500_characters() -> None:
    reason, message, transient = _fail("error: " + "x" * 2000)
    assert (reason, len(message), message[-4:], transient) == (Reason.UPDATE_FAILED, 1500, "x...", False)
    assert _fail("error: " + "x" * 1493)[1] == "error: " + "x" * 1493  # 1500 exactly: kept whole


def test_a_failure_is_classified_from_its_text() -> None:
    assert _fail("error: dial tcp 10.0.0.1:6443: i/o timeout") == (
        Reason.CLUSTER_UNREACHABLE,
        "error: dial tcp 10.0.0.1:6443: i/o timeout",
        True,
    )


def test_a_missing_project_is_an_invalid_config() -> None:
    out = StackAutomation("dev", AutomationSettings())._fail(
        FileNotFoundError("no Pulumi.yaml in 'x' at this commit"), time.monotonic()
    )
    assert (out.reason, out.message, out.transient) == (
        Reason.CONFIG_INVALID,
        "no Pulumi.yaml in 'x' at this commit",
        False,
    )


LOCKED = (
    "error: the stack is currently locked by 2 lock(s). Either wait for the other process(es) to end "
    "or delete the lock file with `pulumi cancel`.\n"
    "  s3://state/.pulumi/locks/dev/a.json: created by poller@pod-1 (pid 17) at 2026-11-30T05:00:00Z\n"
    "  s3://state/.pulumi/locks/dev/b.json: created by @host.example (pid 4242) at 2026-11-30T05:00:01Z\n"
)


def test_lock_holders_are_read_from_the_error() -> None:
    assert lock_holders(LOCKED) == [LockHolder("poller", "pod-1", 17), LockHolder("", "host.example", 4242)]
    assert lock_holders("error: something else") == []


def test_a_concurrent_update_names_the_holders_and_is_transient() -> None:
    exc = auto.ConcurrentUpdateError(CommandResult("", LOCKED, 255))
    out = StackAutomation("dev", AutomationSettings())._fail(exc, time.monotonic(), ("a note",))
    assert (out.reason, out.message, out.transient, out.notes) == (
        Reason.CONCURRENT_UPDATE,
        "stack locked by another update (poller@pod-1 pid 17, @host.example pid 4242)",
        True,
        ("a note",),
    )


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_lock_of_a_dead_process_on_this_host_is_stale() -> None:
    assert LockHolder("me", HOST, _dead_pid()).stale() is True


def test_a_lock_of_a_live_process_on_this_host_is_not_stale() -> None:
    assert LockHolder("me", HOST, os.getpid()).stale() is False
    assert LockHolder("me", HOST, os.getpid()).stale(previous_host=HOST) is False


@pytest.mark.parametrize("name", ["true", "x) R"])  # a ")" in the command's name is no end of it
def test_a_lock_of_a_zombie_on_this_host_is_stale(tmp_path: Path, name: str) -> None:
    command = tmp_path / name
    command.symlink_to("/bin/true")
    child = subprocess.Popen([str(command)])
    deadline = time.monotonic() + 10
    while "State:\tZ" not in Path(f"/proc/{child.pid}/status").read_text():  # exited, not yet reaped
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        assert LockHolder("me", HOST, child.pid).stale() is True
    finally:
        child.wait()


@pytest.mark.parametrize(
    ("stat", "stale"),
    [
        ("42 (pulumi) X 1 42 42 0 -1", True),  # dead
        ("42 (pulumi) Z 1 42 42 0 -1", True),  # a zombie
        ("42 (pulumi) S 1 42 42 0 -1", False),  # sleeping
        ("42 (pulumi) R 1 42 42 0 -1", False),  # running
        ("42 (a) X (b) S 1 42 42 0 -1", False),  # the state follows the last ")"
    ],
)
def test_the_state_in_proc_stat_says_whether_the_holder_is_dead(
    monkeypatch: pytest.MonkeyPatch, stat: str, stale: bool
) -> None:
    monkeypatch.setattr(automation_module, "read_file", lambda path: stat + "\n")
    assert LockHolder("me", HOST, 42).stale() is stale


def test_a_lock_whose_process_cannot_be_read_is_not_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(path: Path) -> str:
        raise PathError(f"{path}: cannot read: Permission denied")

    monkeypatch.setattr(automation_module, "read_file", unreadable)
    assert LockHolder("me", HOST, 1).stale() is False  # /proc/1 is there


@pytest.mark.parametrize(
    ("previous_host", "stale"),
    [
        ("pod-old", True),  # our own previous incarnation: its pod is gone
        ("pod-other", False),  # another poller's, maybe alive
        (None, False),  # no previous run known
    ],
)
def test_a_lock_on_another_host_is_stale_only_when_our_previous_run_held_it(
    previous_host: str | None, stale: bool
) -> None:
    assert LockHolder("poller", "pod-old", 1).stale(previous_host) is stale


class FakeStack:
    """An auto.Stack whose first `up` meets the given lock error."""

    def __init__(self, first_error: str) -> None:
        self.first_error: str | None = first_error
        self.cancelled = 0
        self.calls = 0

    def cancel(self) -> None:
        self.cancelled += 1

    def up(self) -> str:
        self.calls += 1
        if self.first_error is not None:
            text, self.first_error = self.first_error, None
            raise auto.ConcurrentUpdateError(CommandResult("", text, 255))
        return "done"


def _retry(stack: FakeStack, previous_host: str | None = None) -> tuple[Any, tuple[str, ...]]:
    automation = StackAutomation("dev", AutomationSettings())
    return automation._with_stale_lock_retry(stack, "update", previous_host, lambda s: s.up())  # type: ignore[arg-type]


def test_a_stale_lock_is_cancelled_once_and_the_operation_retried() -> None:
    pid = _dead_pid()
    stack = FakeStack(f"locks/a.json: created by me@{HOST} (pid {pid}) at now")
    assert _retry(stack) == (
        "done",
        (f"removed a stale lock left by a dead process ({HOST} pid {pid}) before update",),
    )
    assert (stack.cancelled, stack.calls) == (1, 2)


@pytest.mark.parametrize(
    "error",
    [
        f"locks/a.json: created by me@{HOST} (pid {os.getpid()}) at now",  # alive
        "locks/a.json: created by poller@pod-other (pid 1) at now",  # another host
        "the stack is currently locked",  # holder unknown
    ],
    ids=["alive-here", "another-host", "holder-unknown"],  # the same in every process (no pid)
)
def test_a_lock_that_may_be_alive_is_never_cancelled(error: str) -> None:
    stack = FakeStack(error)
    with pytest.raises(auto.ConcurrentUpdateError):
        _retry(stack)
    assert (stack.cancelled, stack.calls) == (0, 1)


def test_one_live_holder_among_dead_ones_keeps_the_lock() -> None:
    stack = FakeStack(
        f"created by me@{HOST} (pid {_dead_pid()}) at now\ncreated by me@{HOST} (pid {os.getpid()}) at now"
    )
    with pytest.raises(auto.ConcurrentUpdateError):
        _retry(stack)
    assert stack.cancelled == 0


def test_our_previous_pods_lock_is_cancelled() -> None:
    stack = FakeStack("created by poller@pod-old (pid 1) at now")
    assert _retry(stack, previous_host="pod-old")[0] == "done"
    assert stack.cancelled == 1


def test_drift_is_described_by_the_changes_it_plans() -> None:
    assert _describe({"same": 40, "update": 2, "delete": 0, "create": 1}) == "drift: 1 to create, 2 to update"


def test_the_stack_is_selected_once_per_pin_and_again_after_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each selection is a `pulumi stack select` process: a push's path (already_applied, then up in
    the new commit's folder) selects none once the stack was selected; a roll-back's pin or a failure
    selects again. Each commit's commands run in that commit's folder."""
    selected: list[str] = []

    class Workspace:
        def __init__(self, work_dir: str, env_vars: dict[str, str], pulumi_command: object) -> None:
            self.work_dir, self.pin = work_dir, env_vars.get(PIN_COMMIT)

    class Stack:
        def __init__(self, ws: Workspace) -> None:
            self.workspace = ws

    def create_or_select(name: str, ws: Workspace) -> Stack:
        selected.append(f"{ws.work_dir} {ws.pin}")
        return Stack(ws)

    monkeypatch.setattr(auto, "LocalWorkspace", Workspace)
    monkeypatch.setattr(auto.Stack, "create_or_select", staticmethod(create_or_select))
    monkeypatch.setattr(StackAutomation, "_cmd", lambda self: None)
    for tree in ("a", "b"):
        (tmp_path / tree).mkdir()
        (tmp_path / tree / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    automation = StackAutomation("dev", AutomationSettings())
    first = automation._stack(tmp_path / "a")
    assert automation._stack(tmp_path / "a") is first
    assert automation._stack(tmp_path / "b") is first and first.workspace.work_dir == str(tmp_path / "b")
    automation.pin = "abc"
    held = automation._stack(tmp_path / "a")
    assert automation._stack(tmp_path / "b") is held and held.workspace.work_dir == str(tmp_path / "b")
    automation._fail(OSError("gone"), time.monotonic())
    automation._stack(tmp_path / "b")
    assert selected == [f"{tmp_path / 'a'} None", f"{tmp_path / 'a'} abc", f"{tmp_path / 'b'} abc"]
