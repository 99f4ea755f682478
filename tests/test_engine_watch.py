"""tools/language-host/engine_watch.py with real processes: a plugin started through it ends with the
process that started it (its engine), even one killed with SIGKILL; otherwise it is the binary itself
(same PID, stdio and exit status), and its watcher ends with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from eoepca_gitops.runs import Run
from tests.helpers import REPO_ROOT
from tests.leftovers import settle

WATCH = REPO_ROOT / "tools" / "language-host" / "engine_watch.py"
# As Pulumi's engine starts a plugin: in a process group of its own; then it waits.
ENGINE = """
import subprocess, sys, time
plugin = subprocess.Popen(sys.argv[1:], process_group=0)
print(plugin.pid, flush=True)
time.sleep(300)
"""


def _until(what: str, check: Callable[[], object], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _command(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def _start_engine(
    env: dict[str, str], plugin: list[str], cwd: Path | None = None
) -> tuple[subprocess.Popen[str], int]:
    engine = subprocess.Popen(
        [sys.executable, "-c", ENGINE, *plugin],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    assert engine.stdout is not None
    return engine, int(engine.stdout.readline())


def _kill_engine(engine: subprocess.Popen[str]) -> None:
    os.killpg(engine.pid, signal.SIGKILL)  # its group: not its plugin's
    engine.wait(timeout=10)
    assert engine.stdout is not None
    engine.stdout.close()


def test_a_binary_ends_with_its_engine_killed_by_sigkill() -> None:
    run = Run.new("engine-watch")
    engine, plugin = _start_engine(run.env(), [sys.executable, "-I", "-S", str(WATCH), "/bin/sleep", "300"])
    try:
        _until("the launcher execs the binary", lambda: _command(plugin) == ["/bin/sleep", "300"])
        _until("the watcher runs", lambda: psutil.Process(plugin).children())
        _kill_engine(engine)
        # Polled with a deadline: the watcher looks every half second.
        gone = settle(run.processes, timeout=5)
        assert not gone, f"still running 5 s after the engine was killed: {gone}"
    finally:
        run.stop()


def test_a_python_module_ends_with_its_engine(tmp_path: Path) -> None:
    """As the dynamic provider runs: `engine_watch.py -m pulumi.dynamic ARGS`, watched in-process."""
    out = tmp_path / "argv"
    (tmp_path / "sleeper.py").write_text(
        f"import sys, time\nopen({str(out)!r}, 'w').write(' '.join(sys.argv[1:]))\ntime.sleep(300)\n"
    )
    run = Run.new("engine-watch")
    # Found in the working folder, as `python -m` finds it (the engine starts plugins in the project).
    watched = [sys.executable, str(WATCH), "-m", "sleeper", "--port", "1"]
    engine, plugin = _start_engine(run.env(), watched, cwd=tmp_path)
    try:
        _until("the module runs", lambda: out.exists() and out.read_text() == "--port 1")
        assert not psutil.Process(plugin).children()  # no process of its own: a thread watches
        _kill_engine(engine)
        gone = settle(run.processes, timeout=5)
        assert not gone, f"still running 5 s after the engine was killed: {gone}"
    finally:
        run.stop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_python_module_stopped_by_its_engine_ends_at_once_with_its_output(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """How the engine stops a plugin when its operation ends: the module's threads (a gRPC server's)
    are not waited for, and what it wrote to a pipe (block-buffered) still reaches the engine."""
    (tmp_path / "server.py").write_text(
        "import sys, threading, time\n"
        "threading.Thread(target=time.sleep, args=(300,)).start()  # not a daemon: exit would wait\n"
        "print('port 1234'); print('a line the program printed'); sys.stdout.flush()\n"
        "print('not flushed yet')\n"
        "time.sleep(300)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(WATCH), "-m", "server"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        process_group=0,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "port 1234\n"
        assert proc.stdout.readline() == "a line the program printed\n"
        time.sleep(0.2)  # the last print done: it sits in the module's buffer
        os.killpg(proc.pid, sig)
        assert proc.wait(timeout=5) == 0
        assert proc.stdout.read() == "not flushed yet\n"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()


def test_the_binary_is_the_plugin_itself() -> None:
    run = Run.new("engine-watch")
    script = 'echo "pid $$"; read line; echo "read $line"; echo oops >&2; exit 3'
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(WATCH), "/bin/sh", "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run.env(),
    )
    out, err = proc.communicate("hello\n", timeout=30)
    assert out == f"pid {proc.pid}\nread hello\n"  # the same PID: the engine's signals reach it
    assert err == "oops\n" and proc.returncode == 3
    assert not settle(run.processes, timeout=5), "the watcher outlived its plugin"


def test_the_binary_ignores_the_signals_it_would_ignore_without_the_launcher() -> None:
    """Python ignores SIGPIPE and SIGXFSZ, and an exec keeps what is ignored: not passed on."""
    show = ["/bin/sh", "-c", "grep SigIgn /proc/$$/status"]

    def ignored(argv: list[str]) -> str:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout

    assert ignored([sys.executable, "-I", "-S", str(WATCH), *show]) == ignored(show)


def test_the_engine_stopping_its_plugin_stops_the_watcher_too() -> None:
    run = Run.new("engine-watch")
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(WATCH), "/bin/sleep", "300"],
        env=run.env(),
        process_group=0,
        # A shell without job control starts background commands with SIGINT ignored, and an
        # ignored signal stays ignored across exec: the plugin must meet SIGINT as the engine's do.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _until("the watcher runs", lambda: _command(proc.pid) == ["/bin/sleep", "300"] and run.processes())
        os.killpg(proc.pid, signal.SIGINT)  # how the engine stops its plugins
        assert proc.wait(timeout=10) == -signal.SIGINT
        assert not settle(run.processes, timeout=5)
    finally:
        run.stop()


def test_a_missing_binary_is_named() -> None:
    proc = subprocess.run(
        [sys.executable, "-I", "-S", str(WATCH), "/nowhere/pulumi-resource-kubernetes"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert "cannot run /nowhere/pulumi-resource-kubernetes" in proc.stderr
    assert "scripts/tools.sh" in proc.stderr


@pytest.mark.parametrize("argv", [[], ["-m"]])
def test_usage(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, str(WATCH), *argv], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "usage: engine_watch.py" in proc.stderr
