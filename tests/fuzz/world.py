"""The world one fuzzed command runs in, and the contract it is checked against.

A sandbox folder holds the project (a copy of tests/fixtures/project at a/b/c/project, the Flux
manifests at shared/), a Flux tree (repo/), a project to import into (imported/), state files
(state/), $HOME (home/), a scratch folder for temporary files (tmp/) and, outside what any command
is given, `outside/`: a sentinel file (SENTINEL and a credential in it) and a FIFO that blocks
whoever opens it. The command runs in-process (typer's CliRunner) with the project as working
folder; then:

- exit code among those the command may give (0 or 2; 1 where it means changes or not ready);
- no traceback; every other exception a bug;
- on error, one line, `error: ...` (the poller's JSON log lines aside);
- no control character in what is printed;
- the planted credential (SECRET) and SENTINEL in nothing printed or written;
- nothing written, changed or deleted but the command's own outputs, no temporary file left;
- bounded time (a watchdog: a command still running after HANG_SECONDS is a hang) and memory (the
  process's peak RSS stays under MAX_RSS_MB).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from tests.helpers import FIXTURES
from tests.outside_data import link_shared_flux

FIXTURE = FIXTURES / "project"
SECRET = "Zq8xW3vT-hunter2"  # planted wherever a credential may be given; never shown or written
SENTINEL = "OUTSIDE-SENTINEL-7f3a"  # in the files outside: whatever shows it read outside
HANG_SECONDS = 120.0
MAX_RSS_MB = 3000
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

runner = CliRunner()


class Hang(BaseException):
    """Raised by the watchdog in a command that runs too long (no `except Exception` stops it)."""


@dataclass
class World:
    root: Path

    @property
    def project(self) -> Path:
        return self.root / "a" / "b" / "c" / "project"

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    @property
    def imported(self) -> Path:
        return self.root / "imported"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def path(self, rel: str) -> Path:
        """A path of the world: `{project}/x`, `{root}/x`, or relative to the root."""
        return Path(rel.format(project=self.project, root=self.root, home=self.home, outside=self.outside))


@contextlib.contextmanager
def world() -> Iterator[World]:
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    w = World(root)
    try:
        shutil.copytree(FIXTURE, w.project, symlinks=False)
        link_shared_flux(root)
        for folder in (w.home, w.state, w.outside, root / "tmp", w.imported):
            folder.mkdir(parents=True)
        (w.home / ".profile").write_text("# mine\n")
        (w.imported / "Pulumi.yaml").write_text("name: eoepca-gitops\nruntime: python\n")
        (w.outside / "secret.yaml").write_text(f"# {SENTINEL}\npassword: {SECRET}\nkind: ConfigMap\n")
        (w.outside / "kustomization.yaml").write_text(f"# {SENTINEL}\nresources: [secret.yaml]\n")
        os.mkfifo(w.outside / "trap.yaml")
        yield w
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    """Every path under root (symlinks not followed, FIFOs and devices not opened): its kind and
    content hash or link target."""
    out: dict[str, str] = {}
    todo = [root]
    while todo:
        here = todo.pop()
        with os.scandir(here) as listing:
            for entry in listing:
                path = Path(entry.path)
                if any(path == s or s in path.parents for s in skip):
                    continue
                if len(os.fsencode(entry.path)) > 3000:  # a chain of folders deeper than a path can name
                    out[os.fsencode(path.relative_to(root)).hex()] = "deep"
                    continue
                rel = os.fsencode(path.relative_to(root)).hex()
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    out[rel] = f"link {os.readlink(path)}"
                elif stat.S_ISDIR(mode):
                    out[rel] = "dir"
                    todo.append(path)
                elif stat.S_ISREG(mode):
                    out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    out[rel] = f"special {stat.S_IFMT(mode)}"
    return out


def written(root: Path, before: dict[str, str], after: dict[str, str]) -> list[Path]:
    """The regular files created or changed between two snapshots."""
    return [
        root / os.fsdecode(bytes.fromhex(rel))
        for rel, kind in after.items()
        if before.get(rel) != kind and not kind.startswith(("dir", "link", "special", "deep"))
    ]


@dataclass
class Outcome:
    exit_code: int
    output: str
    exception: BaseException | None
    written: list[Path] = field(default_factory=list)  # regular files created or changed
    changed_outside: list[str] = field(default_factory=list)  # paths changed but the command's own


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    def bark(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, bark)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def isolated(w: World) -> Iterator[None]:
    """The process as a user's shell gives it to the command: $HOME, the working folder, temporary
    files in the world; signal handlers and logging put back afterwards (poll installs its own)."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_tmp = tempfile.tempdir
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    root_logger = logging.getLogger()
    saved_logging = (list(root_logger.handlers), root_logger.level)
    os.environ.update(
        HOME=str(w.home),
        TMPDIR=str(w.root / "tmp"),
        KUBECONFIG=str(w.root / "no-kubeconfig"),
        PATH="/usr/bin:/bin",  # git; no pulumi: nothing reaches a cluster or a backend
        PULUMI_CONFIG_PASSPHRASE=SECRET,
    )
    tempfile.tempdir = str(w.root / "tmp")
    os.chdir(w.project)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        tempfile.tempdir = saved_tmp
        for s, h in handlers.items():
            signal.signal(s, h)
        root_logger.handlers[:], _ = saved_logging
        root_logger.setLevel(saved_logging[1])
        logging.getLogger("eoepca_gitops.poller").setLevel(logging.NOTSET)


def run(w: World, argv: list[str], own: tuple[Path, ...] = ()) -> Outcome:
    """The command in-process, with what it wrote outside `own` (its outputs) recorded."""
    before = snapshot(w.root)
    with isolated(w), watchdog(HANG_SECONDS):
        result = runner.invoke(app, argv)
    return outcome_of(w, before, result.exit_code, result.output, result.exception, own)


def outcome_of(
    w: World, before: dict[str, str], code: int, output: str, exc: BaseException | None, own: tuple[Path, ...]
) -> Outcome:
    after = snapshot(w.root)
    changed = sorted(
        os.fsdecode(bytes.fromhex(rel))
        for rel in set(before) | set(after)
        if before.get(rel) != after.get(rel) and not _own(w.root / os.fsdecode(bytes.fromhex(rel)), own)
    )
    return Outcome(code, output, exc, written(w.root, before, after), changed)


def _own(path: Path, own: tuple[Path, ...]) -> bool:
    return any(path == o or o in path.parents for o in own)


def check(
    outcome: Outcome,
    codes: frozenset[int],
    *,
    logs: bool = False,
    secret_may_be_written: bool = False,
    view_on_2: bool = False,
) -> None:
    """The contract (see the module doc). `view_on_2`: exit code 2 may also be `status --stack`'s
    view of a cluster it cannot read (its documented meaning), as a table or JSON."""
    exc = outcome.exception
    assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc}\n{outcome.output}"
    assert outcome.exit_code in codes, f"exit {outcome.exit_code}:\n{outcome.output}"
    assert "Traceback" not in outcome.output, outcome.output
    assert not CONTROL.search(outcome.output), f"a control character reached the terminal: {outcome.output!r}"
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    if logs:  # the poller's JSON log lines are its output; anything else is one error line
        lines = [line for line in lines if not line.startswith("{")]
    if outcome.exit_code == 130:  # what the command printed before Ctrl-C, and the one line
        errors = [line for line in lines if line.startswith("error: ")]
        assert errors == ["error: interrupted"], outcome.output
    elif outcome.exit_code == 2 and not view_on_2:
        assert len(lines) == 1 and lines[0].startswith("error: "), outcome.output
    assert SECRET not in outcome.output, outcome.output
    assert SENTINEL not in outcome.output, outcome.output
    changed = outcome.changed_outside
    assert not changed, f"written or deleted outside the command's own output: {changed[:5]}"
    for path in outcome.written:
        data = path.read_bytes()
        assert SENTINEL.encode() not in data, f"{path} holds what was read outside"
        if not secret_may_be_written:
            assert SECRET.encode() not in data, f"{path} holds the credential"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    assert peak < MAX_RSS_MB, f"peak RSS {peak} MB"
