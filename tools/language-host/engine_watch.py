"""A plugin of a Pulumi run ends with the engine that started it (see README.md beside this file).

The engine (the `pulumi` CLI) starts each plugin in a process group of its own and stops it with
SIGINT when the operation ends. An engine that is killed (SIGKILL on its group, a closed output pipe)
cannot, and its plugins would run on under PID 1, holding a kubeconfig and connections to the cluster.
A plugin's parent changes when its engine dies, on every Unix: watching the parent PID is enough, and
unlike PR_SET_PDEATHSIG it does not fire when the engine's thread that started the plugin (a Go
runtime thread) ends while the engine lives on.

One rule, two ways (standard library only: any python3 runs it):
- in-process, for the Python plugins: `exit_with_engine()` (the language host), or
  `engine_watch.py -m MODULE ARGS...`, which runs MODULE as `python -m` would (the dynamic provider);
  both also end at once when the engine stops them (`exit_on_stop()`);
- in front of a binary this project does not change (the Kubernetes provider):
  `engine_watch.py BINARY ARGS...` forks a watcher, then execs BINARY in its own place: the same PID,
  so the engine's signals, the plugin's stdio and its exit status are the binary's own. The watcher
  (stdio on /dev/null, so the engine's pipes close when the binary ends) kills the binary when its
  parent is no longer the engine, and ends when the binary ends or its process group is interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
import time

EVERY = 0.5  # seconds between looks at the parent


def exit_with_engine(every: float = EVERY) -> None:
    """Exits this process (os._exit: nothing is left to flush to a dead engine) as soon as the
    process that started it, its engine, is gone."""
    import threading  # not for the launcher in front of a binary: runpy and threading double its start

    engine = os.getppid()

    def watch() -> None:
        while os.getppid() == engine:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="engine-watch", daemon=True).start()


def exit_on_stop() -> None:
    """SIGINT or SIGTERM (how the engine stops a plugin once its operation ends) exits at once, with
    what the process wrote flushed. The engine stops its plugins one after the other and waits for
    each: a Python plugin's ordinary ending (its gRPC server stopped, threads joined, the interpreter
    torn down) cost about 0.1 s each, on the path of every `pulumi preview` and `up`."""
    import contextlib  # as threading above: not for the launcher in front of a binary

    def stop(*_: object) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to deliver
                stream.flush()
        os._exit(0)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)


def parent_of(pid: int) -> int | None:
    """The parent PID of `pid` (Linux /proc), None once it has ended."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the name, in parentheses, may hold anything


def watch_plugin(plugin: int, engine: int, every: float = EVERY) -> None:
    """Until `plugin` ends (this process, its child, is then given another parent): SIGKILL to it
    as soon as its parent is no longer `engine`."""
    while os.getppid() == plugin:
        if parent_of(plugin) != engine:
            os.kill(plugin, signal.SIGKILL)
            return
        time.sleep(every)


def _fork_watcher(every: float) -> None:
    """Forks the watcher of this process, which is about to become the plugin (exec)."""
    plugin, engine = os.getpid(), os.getppid()
    if os.fork() != 0:
        return
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        # The engine stops its plugins with SIGINT to their process group: end with the plugin.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        watch_plugin(plugin, engine, every)
    finally:
        os._exit(0)


def main(argv: list[str]) -> None:
    if argv in ([], ["-m"]):
        sys.exit("usage: engine_watch.py BINARY [ARGS...] | engine_watch.py -m MODULE [ARGS...]")
    if argv[0] == "-m":
        import runpy

        exit_with_engine()
        exit_on_stop()
        # As `python -m`: the working folder first on sys.path, not this file's (the dynamic
        # provider unpickles classes of the project's own modules, e.g. components/).
        sys.path[0] = os.getcwd()
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return
    if os.path.exists(f"/proc/{os.getpid()}/stat"):
        _fork_watcher(EVERY)
    # Python ignores these at start, and an exec keeps what is ignored: the binary gets the defaults.
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.execv(argv[0], argv)
    except OSError as exc:
        sys.exit(f"engine_watch.py: cannot run {argv[0]}: {exc} (scripts/tools.sh installs it)")


if __name__ == "__main__":
    main(sys.argv[1:])
