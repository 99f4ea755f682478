"""No test leaves a process behind.

A test session is a run (eoepca_gitops/runs.py): its marker is set in this process's environment
before any test starts, so every process started later inherits it, Pulumi's plugins in process
groups of their own and processes left with parent 1 included. Checked:
- after each test module (tests/conftest.py): the processes of the session, or descendants of pytest,
  that started during the module and still run, except the session's own services (the dev cluster,
  stopped at the session's end);
- at the session's end (tests/conftest.py): every process of the session;
- `python -m tests.leftovers`, the last step of `make test`: every process of the make run (pytest
  runs nest theirs below it).
Each leftover is named (pid, command line) and killed (runs.kill), and the check fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from eoepca_gitops.devcluster.processes import read_records
from eoepca_gitops.runs import MARKER, Run, kill

# A plugin ends within half a second of its engine; an engine's own shutdown takes a few seconds.
SETTLE = 10.0
Key = tuple[int, float]


def key(proc: psutil.Process) -> Key | None:
    try:
        return proc.pid, proc.create_time()
    except psutil.Error:
        return None


def alive(proc: psutil.Process | int) -> bool:
    """Running and not a zombie; a process that ends while being asked is not alive."""
    try:
        found = proc if isinstance(proc, psutil.Process) else psutil.Process(proc)
        return found.is_running() and found.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def names(procs: list[psutil.Process]) -> set[str]:
    """The names of those still there (short-lived children end between listing and asking)."""
    found = set()
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            found.add(proc.name())
    return found


def settle(find: Callable[[], list[psutil.Process]], timeout: float = SETTLE) -> list[psutil.Process]:
    """What `find` still finds once the processes ending anyway have ended (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        left = find()
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.2)


class ProcessCheck:
    """The processes of one test session, and the services that may outlive a module."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.service_pid_dirs: list[Path] = []  # pid files of session-long services (dev clusters)

    def _service_sessions(self) -> set[int]:
        # Each service is started in a session of its own (devcluster/processes.py), with what it starts.
        return {r.pid for d in self.service_pid_dirs for r in read_records(d).values()}

    def ours(self) -> list[psutil.Process]:
        found = {p.pid: p for p in self.run.processes()}
        for child in psutil.Process().children(recursive=True):
            found.setdefault(child.pid, child)
        services = self._service_sessions()
        left = []
        for proc in found.values():
            try:
                if proc.status() != psutil.STATUS_ZOMBIE and os.getsid(proc.pid) not in services:
                    left.append(proc)
            except (psutil.Error, OSError):
                continue
        return left

    def snapshot(self) -> set[Key]:
        return {k for p in self.ours() if (k := key(p)) is not None}

    def started_since(self, before: set[Key]) -> list[psutil.Process]:
        return settle(lambda: [p for p in self.ours() if key(p) not in before])


def kill_engine(engine: subprocess.Popen[Any], run: Run, within: float = 5.0) -> None:
    """SIGKILL to `engine` (a `pulumi` started in a session of its own) and its process group, as a
    cancelled CI job or a `kill -9` does. The processes of its `run`, its plugins (in process groups
    of their own) among them, must then end by themselves within `within` seconds (polled, not timed);
    those that do not are named in the failure, and killed."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(engine.pid, signal.SIGKILL)
    engine.wait(timeout=60)
    left = settle(run.processes, within)
    if left:
        pytest.fail(report(kill(left), f"a pulumi killed {within:.0f} s ago"), pytrace=False)


def report(left: list[str], where: str) -> str:
    lines = "\n".join(f"  {line}" for line in left)
    return f"{len(left)} process(es) left running by {where} (killed now):\n{lines}"


def main() -> int:
    """The last step of `make test`: nothing the make run started still runs."""
    value = os.environ.get(MARKER)
    if not value:
        print(f"tests.leftovers: {MARKER} is not set: run it from `make test`", file=sys.stderr)
        return 2
    left = settle(Run(value).processes)
    if left:
        print(report(kill(left), "make test"), file=sys.stderr)
        return 1
    print(f"tests.leftovers: no process of {value} left running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
