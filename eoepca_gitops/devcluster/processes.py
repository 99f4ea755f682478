"""Background processes with pid files: start, check, stop exactly what we started.

A pid file holds the pid, the binary and the process start time (field 22 of /proc/PID/stat), so a
pid reused by another program after a crash is never signalled."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    binary: str
    start_ticks: int
    log: str
    #: The full command line, so one component can be started again as it was (restart()).
    argv: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps({**vars(self), "argv": list(self.argv)})

    @classmethod
    def from_file(cls, path: Path) -> ProcessRecord | None:
        try:
            data = json.loads(path.read_text())
            return cls(
                name=str(data["name"]),
                pid=int(data["pid"]),
                binary=str(data["binary"]),
                start_ticks=int(data["start_ticks"]),
                log=str(data["log"]),
                argv=tuple(str(a) for a in data.get("argv", ())),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces
    return raw[raw.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None  # field 22 overall


def is_running(record: ProcessRecord) -> bool:
    """True if the process of the record still runs (zombies count as gone)."""
    fields = _stat_fields(record.pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return int(fields[19]) == record.start_ticks


def spawn(
    name: str, argv: list[str], log_path: Path, pid_dir: Path, env: dict[str, str] | None = None
) -> ProcessRecord:
    """Starts argv in a new session (Ctrl-C in a terminal does not reach it), output to log_path.

    os.posix_spawn rather than subprocess.Popen: a Popen object dropped while its process runs
    warns (ResourceWarning), and the processes here outlive the Python process that started them."""
    pid_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.posix_spawn(
        argv[0],
        argv,
        {**os.environ, **(env or {})},
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    record = ProcessRecord(
        name=name,
        pid=pid,
        binary=argv[0],
        start_ticks=start_ticks(pid) or 0,
        log=str(log_path),
        argv=tuple(argv),
    )
    tmp = pid_dir / f".{name}.pid.tmp"
    tmp.write_text(record.to_json())
    tmp.replace(pid_dir / f"{name}.pid")
    return record


def _reap(pid: int) -> None:
    # only possible for our own children (the test harness); others are reaped by init
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop(record: ProcessRecord, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; returns True if the process was running."""
    if not is_running(record):
        _reap(record.pid)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(record.pid)
        if not is_running(record):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGKILL)
    while is_running(record):
        _reap(record.pid)
        time.sleep(0.05)
    return True


def read_records(pid_dir: Path) -> dict[str, ProcessRecord]:
    records: dict[str, ProcessRecord] = {}
    for path in sorted(pid_dir.glob("*.pid")):
        record = ProcessRecord.from_file(path)
        if record is not None:
            records[record.name] = record
    return records


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
