"""The processes of one run of a command (a `pulumi up`, a poller), found and stopped together.

Pulumi's engine starts each plugin in a process group of its own, and an engine that is killed leaves
its plugins with parent 1: neither the process group nor the parentage of the command finds them all.
Every process started for a run carries the run's marker in its environment, which whatever it starts
inherits (the engine hands its environment to its plugins), so `Run.stop` finds the engine, its
plugins and what they started, wherever they were moved. A run started inside another one (a poller
within a test session, a `pulumi up` within the poller) gets an id below the outer one's
(`outer/inner`), so stopping the outer run stops both.

The plugins end by themselves when their engine dies (tools/language-host/engine_watch.py); this is
the caller's side, for plugins installed another way and for whatever a run leaves behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psutil

__all__ = ["MARKER", "Run", "describe", "kill", "tied_to_this_process"]

MARKER = "EOEPCA_GITOPS_RUN"
_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess)


@dataclass(frozen=True)
class Run:
    id: str

    @classmethod
    def new(cls, label: str) -> Run:
        """A new run; inside another one (this process carries a marker), below it."""
        own = f"{label}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        outer = os.environ.get(MARKER)
        return cls(f"{outer}/{own}" if outer else own)

    @property
    def variables(self) -> dict[str, str]:
        return {MARKER: self.id}

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """`base` (default: this process's environment) with the run's marker."""
        return {**(os.environ if base is None else base), **self.variables}

    def marks(self, environ: Mapping[str, str]) -> bool:
        value = environ.get(MARKER)
        return value is not None and (value == self.id or value.startswith(f"{self.id}/"))

    def processes(self) -> list[psutil.Process]:
        """The running processes of this run, except this one and those that started it (which may
        carry the marker themselves)."""
        me = psutil.Process()
        skip = {me.pid, *(p.pid for p in me.parents())}
        found: list[psutil.Process] = []
        for proc in psutil.process_iter():
            if proc.pid in skip:
                continue
            with contextlib.suppress(psutil.Error):
                if proc.status() != psutil.STATUS_ZOMBIE and self.marks(proc.environ()):
                    found.append(proc)
        return found

    def stop(self, timeout: float = 10.0) -> list[str]:
        """SIGKILL to every process of the run (the engine had its chance to stop its plugins);
        returns what was stopped."""
        return kill(self.processes(), timeout)


def kill(procs: Sequence[psutil.Process], timeout: float = 10.0) -> list[str]:
    """SIGKILL to each process; waits until they are gone and returns what they were (`describe`)."""
    named = [describe(p) for p in procs]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(procs, timeout=timeout)
    return named


def describe(proc: psutil.Process) -> str:
    try:
        command = " ".join(proc.cmdline()) or proc.name()
    except _GONE:
        command = "(ended)"
    except psutil.Error:
        command = "(unreadable)"
    return f"pid {proc.pid}: {command[:300]}"


def tied_to_this_process(argv: Sequence[str]) -> list[str]:
    """`argv` such that its process is killed (SIGKILL) when this process dies, even by SIGKILL.

    PR_SET_PDEATHSIG (util-linux `setpriv`, exec'ing argv in its own place) fires when the *thread*
    that started the child ends. That is safe here: a Python thread that starts a child waits for
    it (subprocess.run, the Automation API), so it outlives it; it would not be in front of plugins,
    whose parent is the Go engine (engine_watch.py watches the parent PID there). A parent that dies
    in the milliseconds before setpriv runs leaves the child untied; without setpriv (not Linux),
    argv as it is: either way the run's marker still lets the caller stop it.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else list(argv)
