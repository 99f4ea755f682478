"""The Python language host as `scripts/tools.sh` installs it, run by the real `pulumi` CLI:

- the tool cache holds nothing that depends on the checkout that ran tools.sh: a scratch checkout
  installs the host into a fresh cache and is deleted, and `pulumi preview` still runs;
- the host exits with its engine: `pulumi preview` killed with SIGKILL, or dying on a closed output
  pipe (`pulumi preview | head`), leaves no host running under PID 1.

The cache here is the test's own (EOEPCA_TOOLS_DIR), seeded with the already built `pulumi` binary so
that tools.sh builds nothing; no other checkout's cache is touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eoepca_gitops.devcluster.tools import tools_bin_dir
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.integration

PULUMI_VERSION = "v3.274.1"  # scripts/tools.sh
# What tools.sh needs of a checkout to install the host: itself, the pulumi wrapper module, the host.
CHECKOUT_PARTS = ("scripts/tools.sh", "tools/go/pulumi", "tools/language-host")
PROGRAM = """\
import os, time
with open(os.environ["HOST_PID_FILE"], "w") as f:
    f.write(str(os.getpid()))  # the program runs inside the language host: this is the host's pid
time.sleep(float(os.environ.get("PROGRAM_SLEEP", "0")))
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tool cache filled by tools.sh run from a scratch checkout that no longer exists."""
    built = (tools_bin_dir() / "pulumi").resolve()
    if not built.is_file():
        pytest.fail(f"no pulumi in {tools_bin_dir()}: build it with scripts/tools.sh pulumi", pytrace=False)
    root = tmp_path_factory.mktemp("language-host")
    tools = root / "tools"
    (tools / f"pulumi-{PULUMI_VERSION}").mkdir(parents=True)
    try:
        os.link(built, tools / f"pulumi-{PULUMI_VERSION}" / "pulumi")
    except OSError:
        shutil.copy2(built, tools / f"pulumi-{PULUMI_VERSION}" / "pulumi")
    scratch = root / "scratch-checkout"
    for part in CHECKOUT_PARTS:
        source, target = REPO_ROOT / part, scratch / part
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    # No other pulumi on PATH: tools.sh would keep an "official" one and install nothing.
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "pulumi").exists()
    )
    env = {**os.environ, "EOEPCA_TOOLS_DIR": str(tools), "PATH": path}
    proc = subprocess.run(
        ["bash", str(scratch / "scripts/tools.sh"), "pulumi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    shutil.rmtree(scratch)
    return tools


@pytest.fixture
def project(tmp_path: Path, cache: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "Pulumi.yaml").write_text("name: host-check\nruntime: python\n")
    (tmp_path / "project" / "__main__.py").write_text(PROGRAM)
    (tmp_path / "state").mkdir()
    env = {
        **os.environ,
        "PATH": f"{cache / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "test",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": sys.executable,  # the project has no .venv of its own
        "HOST_PID_FILE": str(tmp_path / "host.pid"),
    }
    subprocess.run(
        ["pulumi", "stack", "init", "test", "--non-interactive"],
        cwd=tmp_path / "project", env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    yield tmp_path / "project", env


def test_the_cache_holds_nothing_of_the_checkout_that_filled_it(
    cache: Path, project: tuple[Path, dict[str, str]]
) -> None:
    for path in cache.rglob("*"):
        assert not path.is_symlink() or path.resolve().is_relative_to(cache), f"{path} -> {path.resolve()}"
        assert "scratch-checkout" not in str(path.resolve())
    cwd, env = project
    proc = subprocess.run(
        ["pulumi", "preview", "--stack", "test", "--non-interactive"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Path(env["HOST_PID_FILE"]).read_text().strip().isdigit()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def _host_pid(env: dict[str, str], engine: subprocess.Popen[bytes]) -> int:
    pid_file = Path(env["HOST_PID_FILE"])
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert engine.poll() is None, "pulumi ended before the program started"
        assert time.monotonic() < deadline, "the program never started"
        time.sleep(0.1)
    return int(pid_file.read_text())


@pytest.mark.parametrize("how", ["SIGKILL", "closed output pipe"])
def test_the_host_exits_with_its_engine(project: tuple[Path, dict[str, str]], how: str) -> None:
    cwd, env = project
    read, write = os.pipe()
    engine = subprocess.Popen(
        ["pulumi", "preview", "--stack", "test", "--non-interactive"],
        cwd=cwd, env={**env, "PROGRAM_SLEEP": "300"}, stdout=write, stderr=write,
    )  # fmt: skip
    os.close(write)
    host = 0
    try:
        host = _host_pid(env, engine)
        assert _alive(host)
        if how == "SIGKILL":
            engine.send_signal(signal.SIGKILL)
        else:
            os.close(read)  # the reader goes away, as `head` does; pulumi dies writing its progress
            read = -1
        engine.wait(timeout=60)
        deadline = time.monotonic() + 5
        while _alive(host) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(host), f"the language host {host} still runs after its engine ended ({how})"
    finally:
        if engine.poll() is None:
            engine.kill()
        if host and _alive(host):
            os.kill(host, signal.SIGKILL)  # a failed run leaves no orphan behind
        if read >= 0:
            os.close(read)
