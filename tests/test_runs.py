"""eoepca_gitops/runs.py with real processes: a run's processes are found by their marker wherever
they went (a group of their own, parent 1), and stopped; a process tied to its parent dies with it;
the CLI's `pulumi` stops all it started; the poller's pulumi dies with the poller."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.operations.pulumi_cli import PulumiCli
from eoepca_gitops.poller.service import tied_pulumi
from eoepca_gitops.runs import MARKER, Run, tied_to_this_process
from tests.leftovers import alive, settle

# A child in a session of its own whose parent exits at once: what Pulumi's plugins look like once
# their engine is killed. Prints its pid.
ORPHAN = "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!"


def test_a_run_inside_another_is_below_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MARKER, "outer")
    inner = Run.new("pulumi")
    assert inner.id.startswith(f"outer/pulumi-{os.getpid()}-")
    outer = Run("outer")
    assert outer.marks({MARKER: inner.id}) and outer.marks({MARKER: "outer"})
    assert not outer.marks({MARKER: "outer-2"}) and not outer.marks({})
    assert not inner.marks({MARKER: "outer"})
    assert inner.env({"A": "1"}) == {"A": "1", MARKER: inner.id}


def test_stop_finds_what_left_its_parent_and_group() -> None:
    run = Run.new("orphans")
    out = subprocess.run(["sh", "-c", ORPHAN], env=run.env(), capture_output=True, text=True, check=True)
    orphan = int(out.stdout)
    try:
        assert [p.pid for p in run.processes()] == [orphan]
        assert psutil.Process(orphan).ppid() != os.getpid()
        (stopped,) = run.stop()
        assert re.fullmatch(rf"pid {orphan}: (setsid )?sleep 300", stopped)  # setsid execs sleep
        assert not alive(orphan) and run.processes() == []
    finally:
        if alive(orphan):
            os.kill(orphan, signal.SIGKILL)


def test_a_tied_process_dies_with_its_parent_even_by_sigkill() -> None:
    run = Run.new("tied")
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys\np = subprocess.Popen(sys.argv[1:])\nprint(p.pid, flush=True)\np.wait()",
            *tied_to_this_process(["sleep", "300"]),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=run.env(),
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        # Tied once setpriv has exec'd the command: a parent killed before that leaves it running.
        deadline = time.monotonic() + 10
        while psutil.Process(child).cmdline() != ["sleep", "300"]:
            assert time.monotonic() < deadline, "setpriv never ran the command"
            time.sleep(0.05)
        parent.kill()
        parent.wait(timeout=10)
        parent.stdout.close()
        assert not settle(run.processes, timeout=5), "the child outlived its parent"
        assert not alive(child)
    finally:
        run.stop()


def _fake_pulumi(tmp_path: Path, body: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(f"#!/bin/sh\n{body}\n")
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_the_cli_stops_what_its_pulumi_left(tmp_path: Path) -> None:
    pids = tmp_path / "orphan.pid"
    env = _fake_pulumi(tmp_path, f"({ORPHAN}) > {pids}\necho done")
    assert PulumiCli("dev", tmp_path, env).run("preview") == "done\n"
    assert not alive(int(pids.read_text()))


def test_the_cli_stops_a_pulumi_past_its_timeout_and_all_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "orphan.pid"
    env = _fake_pulumi(tmp_path, f"({ORPHAN}) > {pids}\nexec sleep 300")
    started = time.monotonic()
    with pytest.raises(GitopsError, match=r"pulumi up --stack dev: not done after 1 s, stopped"):
        PulumiCli("dev", tmp_path, env).run("up", timeout=1)
    assert time.monotonic() - started < 60
    assert not alive(int(pids.read_text()))


def test_the_poller_runs_pulumi_tied_to_itself(tmp_path: Path) -> None:
    fake = tmp_path / "real" / "pulumi"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "real $*"\n')
    fake.chmod(0o755)
    root = tied_pulumi(tmp_path / "work", fake)
    assert root is not None
    script = root / "bin" / "pulumi"
    assert "setpriv --pdeathsig KILL --" in script.read_text()
    out = subprocess.run([str(script), "up", "--yes"], capture_output=True, text=True, check=True)
    assert out.stdout == "real up --yes\n"
    assert tied_pulumi(tmp_path / "work", fake) == root  # written again over the old one
