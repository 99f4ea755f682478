"""The fuzzer: hostile stack files, block files, Flux trees, state files, command lines and file-system
shapes against every command that needs no cluster, each run checked against the contract of
tests/fuzz/world.py. Every failure it ever found is a case of tests/cli/test_hostile_inputs.py.

`make check` runs a fixed number of inputs per command from a fixed seed (about a minute on 2
cores); `make fuzz` (FUZZ_MINUTES=N, default 30) draws new inputs until the time is spent. The
inputs tried per command are printed at the end of the run (conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from eoepca_gitops.cli import common
from eoepca_gitops.cli.main import app
from tests.fuzz import inputs as i
from tests.fuzz.world import (
    HANG_SECONDS,
    Outcome,
    World,
    check,
    isolated,
    outcome_of,
    run,
    runner,
    snapshot,
    world,
)
from tests.importer.trees import flux_kustomization

COUNTS: dict[str, int] = {}
SEED = int(os.environ.get("FUZZ_SEED", "20261207"))
MINUTES = float(os.environ.get("FUZZ_MINUTES", "0"))  # 0: the fixed budget of `make check`
# Inputs per command in `make check`, and each command's share of a timed run.
EXAMPLES = {
    "render": 45,
    "import": 30,
    "new-cluster": 30,
    "diff": 8,
    "status": 30,
    "poll": 16,
    "operate": 12,
    "interrupt": 16,
    "entry-point": 4,
}
SHARE = {name: n / sum(EXAMPLES.values()) for name, n in EXAMPLES.items()}


def fuzz(name: str, strategy: st.SearchStrategy[Any], body: Callable[[Any], None]) -> None:
    """Runs `body` on inputs drawn from `strategy`: EXAMPLES[name] of them from SEED, or for FUZZ_MINUTES
    times the command's share, drawing batches from new seeds."""

    def counted(example: Any) -> None:
        COUNTS[name] = COUNTS.get(name, 0) + 1
        body(example)

    def batch(at_seed: int, examples: int) -> None:
        test = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            derandomize=False,
        )(seed(at_seed)(given(strategy)(counted)))
        test()

    if not MINUTES:
        batch(SEED, EXAMPLES[name])
        return
    stop = time.monotonic() + MINUTES * 60 * SHARE[name]
    at = SEED
    while time.monotonic() < stop:
        batch(at, 10)
        at += 1


def _argv(w: World, args: list[str]) -> list[str]:
    places = ("{root}", "{project}", "{home}", "{outside}")
    return [str(w.path(a)) if a.startswith(places) else a for a in args]


def _shapes(targets: tuple[str, ...]) -> st.SearchStrategy[tuple[i.Shape, ...]]:
    return st.lists(st.builds(i.Shape, st.sampled_from(targets), st.sampled_from(i.SHAPES)), max_size=2).map(
        tuple
    )


def _lay(w: World, shapes: tuple[i.Shape, ...]) -> None:
    for shape in shapes:
        parent = w.path(shape.path).parent
        if os.path.realpath(parent) == str(parent):  # never through a link an earlier shape made
            with contextlib.suppress(OSError):  # under a file or a loop an earlier shape made
                i.lay_shape(w, shape)


def _own_out(w: World, out: str, *, into_project: bool = False) -> tuple[Path, ...]:
    """What a command told to write into `out` may change: the folder, unless it is one no command
    may write into (the world's own folders, outside; the project, but for import)."""
    path = w.path(out) if out != "." else w.project  # the working folder is the project
    refused = {w.root, w.home, w.outside, Path("/"), w.root / "out-link"}
    if not into_project:
        refused.add(w.project)
    if path in refused or not path.is_absolute():
        return ()
    while not path.parent.exists():  # the folders it makes on the way
        path = path.parent
    return (path,)


# -- render -------------------------------------------------------------------------------------------
PROJECT_TARGETS = (
    "{project}/Pulumi.test.yaml",
    "{project}/clusters/blocks/portal.yaml",
    "{project}/clusters/blocks/extra.yaml",
    "{project}/clusters/blocks",
    "{project}/clusters/flux/portal",
    "{project}/clusters/flux/portal/pvc.yaml",
    "{project}/clusters/flux/portal/kustomization.yaml",
    "{project}/clusters/flux/portal/extra.yaml",
    "{project}/clusters/flux",
    "{root}/shared",
)
PATHS_OUT = (
    "../../../../../../outside",
    "../../../../../../outside/secret.yaml",
    "../../../../../../outside/trap.yaml",
    "../../../../outside",
    "/etc",
    "portal/../../../../../../outside",
)
KUSTOMIZATION_PATHS = (
    "resources",
    "resources[0]",
    "bases",
    "components",
    "patches",
    "configMapGenerator",
    "crds",
)


@dataclass(frozen=True)
class Project:
    """A project with its stack file, a block and the Flux folder of a block changed."""

    stack: tuple[i.Edit, ...]
    block: tuple[i.Edit, ...]
    block_name: str
    kustomization: tuple[i.Edit, ...]
    shapes: tuple[i.Shape, ...]

    def lay(self, w: World) -> None:
        i.apply(w.project / "Pulumi.test.yaml", self.stack, prefix=f"{i.NS}:")
        if self.block_name == "extra":
            (w.project / "clusters" / "blocks" / "extra.yaml").write_text(
                yaml.safe_dump({"name": "extra", "namespaces": ["x"], "dependsOn": ["base"]})
            )
            config = i.load(w.project / "Pulumi.test.yaml")
            if isinstance(config, dict) and isinstance(config.get("config"), dict):
                blocks = config["config"].get(f"{i.NS}:blocks")
                if isinstance(blocks, list):
                    config["config"][f"{i.NS}:blocks"] = [*blocks, "extra"]
                    (w.project / "Pulumi.test.yaml").write_text(yaml.safe_dump(config))
        i.apply(w.project / "clusters" / "blocks" / f"{self.block_name}.yaml", self.block)
        i.apply(w.project / "clusters" / "flux" / "portal" / "kustomization.yaml", self.kustomization)
        _lay(w, self.shapes)


path_values = st.one_of(
    st.sampled_from(PATHS_OUT), st.lists(st.sampled_from(PATHS_OUT), min_size=1, max_size=2)
)
projects = st.builds(
    Project,
    st.one_of(
        i.edits(i.STACK_PATHS),
        st.builds(lambda v: (i.Edit("git.path", v),), st.sampled_from(PATHS_OUT)),
        st.just(()),
    ),
    st.one_of(
        i.edits(i.BLOCK_PATHS),
        st.builds(lambda v: (i.Edit("kustomization.path", v),), st.sampled_from(PATHS_OUT)),
        st.just(()),
    ),
    st.sampled_from(("portal", "extra")),
    st.one_of(
        st.lists(st.builds(i.Edit, st.sampled_from(KUSTOMIZATION_PATHS), path_values), max_size=2).map(tuple),
        i.edits(KUSTOMIZATION_PATHS),
        st.just(()),
    ),
    _shapes(PROJECT_TARGETS),
)


@dataclass(frozen=True)
class Render:
    project: Project
    stack: str
    out: str
    flux_layer: bool
    force: bool


renders = st.builds(
    Render,
    projects,
    st.sampled_from(i.STACK_NAMES).filter(lambda s: s != "") | st.just("test"),
    st.sampled_from(i.OUT_FOLDERS),
    st.booleans(),
    st.booleans(),
).filter(lambda r: not (r.force and r.out == "{outside}"))


def _render(case: Render) -> None:
    with world() as w:
        case.project.lay(w)
        i.lay_out_folder(w, case.out)
        argv = ["render", "-s", case.stack, "-o", case.out, "--project", "{project}"]
        argv += ["--flux-layer"] * case.flux_layer + ["--force"] * case.force
        check(run(w, _argv(w, argv), own=_own_out(w, case.out)), frozenset({0, 2}))


def test_render() -> None:
    fuzz("render", renders, _render)


# -- import -------------------------------------------------------------------------------------------
def _kustomization(path: Any = "./apps", **spec: Any) -> str:
    return yaml.safe_dump(flux_kustomization("apps", i.expand(path), **i.expand(spec)))


def _source(kind: str, url: Any) -> str:
    ref = {"ref": {"branch": "main"}} if kind == "GitRepository" else {}
    return yaml.safe_dump(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": kind,
            "metadata": {"name": "src", "namespace": "flux-system"},
            "spec": {"interval": "1m", "url": url, **ref},
        }
    )


TREE = {
    "clusters/dev/apps.yaml": _kustomization(),
    "apps/kustomization.yaml": "resources: [demo.yaml]\n",
    "apps/demo.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo, namespace: default}\n"
    "data: {h: demo.example.org}\n",
}
TREE_FILES = (
    "clusters/dev/apps.yaml",
    "apps/kustomization.yaml",
    "apps/demo.yaml",
    "apps/more.yaml",
    "clusters/dev/source.yaml",
    "clusters/dev/flux-system/kustomization.yaml",
)
tree_texts = st.one_of(
    st.builds(lambda p: _kustomization(p), st.sampled_from((*PATHS_OUT, *i.ODD_STRINGS[:30]))),
    st.builds(lambda c: _kustomization(components=c), path_values),
    st.builds(lambda v: _kustomization(postBuild={"substitute": {"x": v}}), i.scalars(True)),
    st.builds(_source, st.sampled_from(("HelmRepository", "GitRepository")), st.sampled_from(i.CREDENTIALS)),
    st.builds(
        lambda k, v: yaml.safe_dump({"resources": ["demo.yaml"], k: v}),
        st.sampled_from(KUSTOMIZATION_PATHS),
        path_values,
    ),
    st.builds(
        lambda v: yaml.safe_dump({"resources": ["demo.yaml", v]}), st.sampled_from(("trap.yaml", "zero.yaml"))
    ),
    st.sampled_from(sorted(i.RAW_YAML)),  # laid as the bytes it names
)
REPO_TARGETS = (
    "{root}/repo/apps",
    "{root}/repo/apps/demo.yaml",
    "{root}/repo/apps/kustomization.yaml",
    "{root}/repo/apps/sub",
    "{root}/repo/clusters/dev/x.yaml",
    "{root}/repo/clusters/dev",
    "{root}/repo/apps/trap.yaml",
    "{root}/imported/clusters",
    "{root}/imported/Pulumi.dev.yaml",
)


@dataclass(frozen=True)
class Import:
    files: tuple[tuple[str, str], ...]
    shapes: tuple[i.Shape, ...]
    out: str
    stack: str
    path: str
    force: bool


imports = st.builds(
    Import,
    st.lists(st.tuples(st.sampled_from(TREE_FILES), tree_texts), max_size=3).map(tuple),
    _shapes(REPO_TARGETS),
    st.sampled_from(("{root}/imported", "{root}/imported", *i.OUT_FOLDERS)),
    st.sampled_from(("dev", "dev", *i.STACK_NAMES)).filter(bool),
    st.sampled_from(
        (
            "{root}/repo/clusters/dev",
            "{root}/repo/clusters/dev",
            "{root}/repo",
            "{root}/repo/apps",
            "{outside}",
            "{root}/repo/nowhere",
        )
    ),
    st.booleans(),
).filter(lambda c: c.out != "{outside}")


def _import(case: Import) -> None:
    with world() as w:
        for rel, text in {**TREE, **dict(case.files)}.items():
            (w.repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (w.repo / rel).write_bytes(i.RAW_YAML.get(text) or text.encode())
        _lay(w, case.shapes)
        i.lay_out_folder(w, case.out)
        argv = ["import", case.path, "--stack", case.stack, "--repo-root", "{root}/repo", "--out", case.out]
        own = _own_out(w, case.out, into_project=True)
        outcome = run(w, _argv(w, argv + ["--force"] * case.force), own=own)
        check(outcome, frozenset({0, 2}))


def test_import() -> None:
    fuzz("import", imports, _import)


# -- new-cluster --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewCluster:
    project: Project
    name: str
    source: str
    ip: str
    domain: str | None
    force: bool


new_clusters = st.builds(
    NewCluster,
    projects,
    st.sampled_from(("demo", "demo", *i.STACK_NAMES)).filter(bool),
    st.sampled_from(("test", "test", *i.STACK_NAMES)).filter(bool),
    st.sampled_from(("10.0.0.2", "10.0.0.2", *(s for s in i.ODD_STRINGS if isinstance(s, str)))).filter(bool),
    st.none()
    | st.sampled_from(("demo.example.org", *(s for s in i.ODD_STRINGS if isinstance(s, str)))).filter(bool),
    st.booleans(),
)


def _new_cluster(case: NewCluster) -> None:
    with world() as w:
        case.project.lay(w)
        argv = ["new-cluster", case.name, "--from", case.source, "--ip", case.ip, "--project", "{project}"]
        argv += (["--domain", case.domain] if case.domain is not None else []) + ["--force"] * case.force
        own = (
            (w.project / f"Pulumi.{case.name}.yaml",) if "/" not in case.name and case.name != "test" else ()
        )
        check(run(w, _argv(w, argv), own=own), frozenset({0, 2}))


def test_new_cluster() -> None:
    fuzz("new-cluster", new_clusters, _new_cluster)


# -- diff ---------------------------------------------------------------------------------------------
AGAINST = ("HEAD", "HEAD", "HEAD~1", "nope", "--output=/tmp/x", "-p", "\x1b[2J", "HEAD:../x", "a" * 300, "")


@dataclass(frozen=True)
class Diff:
    project: Project
    against: str


def _git(w: World, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=w.project,
        check=True,
        capture_output=True,
    )


def _diff(case: Diff) -> None:
    with world() as w:
        _git(w, "init", "-q", "-b", "main")
        _git(w, "add", "-A")
        _git(w, "commit", "-qm", "init")
        case.project.lay(w)
        argv = ["diff", "-s", "test", "--against", case.against, "--project", "{project}"]
        check(run(w, _argv(w, argv)), frozenset({0, 1, 2}))


def test_diff() -> None:
    fuzz("diff", st.builds(Diff, projects, st.sampled_from(AGAINST)), _diff)


# -- status -------------------------------------------------------------------------------------------
STATE_TARGETS = ("{root}/state/state.json",)


@dataclass(frozen=True)
class Status:
    document: bytes
    shapes: tuple[i.Shape, ...]
    as_json: bool
    project: Project | None


def _status(case: Status) -> None:
    with world() as w:
        (w.state / "state.json").write_bytes(case.document)
        _lay(w, case.shapes)
        if case.project is None:
            argv = ["status", "--state-file", "{root}/state/state.json"]
        else:
            case.project.lay(w)
            argv = [
                "status",
                "-s",
                "test",
                "--project",
                "{project}",
                "--state-file",
                "{root}/state/state.json",
            ]
        outcome = run(w, _argv(w, argv + ["--json"] * case.as_json))
        check(outcome, frozenset({0, 1, 2}), view_on_2=case.project is not None)


def test_status() -> None:
    statuses = st.builds(
        Status, i.state_documents(), _shapes(STATE_TARGETS), st.booleans(), st.none() | st.none() | projects
    )
    fuzz("status", statuses, _status)


# -- poll --once --------------------------------------------------------------------------------------
REPOS = (
    "file:///nowhere/r.git",
    "https://127.0.0.1:9/r.git",
    "",
    "-x",
    "--upload-pack=touch /tmp/x",
    "\x1b[2J",
    *i.CREDENTIALS[:6],
)


@dataclass(frozen=True)
class Poll:
    repo: str
    stack: str
    document: bytes
    shapes: tuple[i.Shape, ...]
    branch: str


def _poll(case: Poll) -> None:
    with world() as w:
        (w.state / "state.json").write_bytes(case.document)
        _lay(w, case.shapes)
        argv = [
            "poll",
            "--repo",
            case.repo,
            "--stack",
            case.stack,
            "--state-file",
            "{root}/state/state.json",
            "--work-dir",
            "{root}/state/work",
            "--listen",
            "off",
            "--branch",
            case.branch,
            "--once",
        ]
        # a state folder linked elsewhere is where the user's state lives: written there
        own = (w.state, *((w.outside,) if w.state.is_symlink() else ()))
        check(run(w, _argv(w, argv), own=own), frozenset({0, 1, 2}), logs=True)


def test_poll_once() -> None:
    polls = st.builds(
        Poll,
        st.sampled_from(REPOS),
        st.sampled_from(("s", "s", *i.STACK_NAMES)).filter(bool),
        i.state_documents(),
        _shapes((*STATE_TARGETS, "{root}/state")),
        st.sampled_from(("main", "main", "refs/heads/x", "-x", "a..b", "\x1b")),
    )
    fuzz("poll", polls, _poll)


# -- reconcile, suspend, resume without a cluster -----------------------------------------------------
@dataclass(frozen=True)
class Operate:
    command: str
    project: Project
    block: str | None


def _operate(case: Operate) -> None:
    with world() as w:
        case.project.lay(w)
        argv = [case.command, "-s", "test", "--project", "{project}"] + ([case.block] if case.block else [])
        codes = frozenset({0, 1, 2}) if case.command == "reconcile" else frozenset({0, 2})
        check(run(w, _argv(w, argv)), codes)


def test_reconcile_and_suspend_without_a_cluster() -> None:
    operations = st.builds(
        Operate,
        st.sampled_from(("reconcile", "suspend", "resume")),
        projects,
        st.sampled_from(("portal", "nope", "\x1b[2J", "../x")) | st.none(),
    ).filter(lambda c: c.command == "reconcile" or c.block is not None)
    fuzz("operate", operations, _operate)


# -- Ctrl-C at any moment -----------------------------------------------------------------------------
# Valid runs of each command, interrupted by a real SIGINT after the n-th Python call of the command.
VALID = {
    "render": (
        ["render", "-s", "test", "-o", "{root}/out", "--project", "{project}", "--flux-layer"],
        "{root}/out",
    ),
    "import": (
        [
            "import",
            "{root}/repo/clusters/dev",
            "--stack",
            "dev",
            "--repo-root",
            "{root}/repo",
            "--out",
            "{root}/imported",
        ],
        "{root}/imported",
    ),
    "new-cluster": (
        ["new-cluster", "demo", "--from", "test", "--ip", "10.0.0.2", "--project", "{project}"],
        "{project}/Pulumi.demo.yaml",
    ),
    "status": (["status", "--state-file", "{root}/state/state.json"], ""),
}
CALLS: dict[str, int] = {}


def _valid_world(w: World) -> None:
    for rel, text in TREE.items():
        (w.repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (w.repo / rel).write_text(text)
    (w.state / "state.json").write_text('{"version": 1, "stacks": {"s": {"stack": "s"}}}\n')


def _interrupted_run(w: World, argv: list[str], at: int | None, own: str) -> tuple[Outcome, int]:
    """The command, SIGINT sent at its `at`-th Python call (None: counts its calls), in a forked
    process: an interrupt may leave a library's cache half built, as it would in a real run, where the
    process ends there; the fuzzer's own process must go on unharmed."""
    before = snapshot(w.root)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and never returns
        try:
            os.close(read)
            result = _traced(w, argv, at)
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(result, pipe)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(child, 0)
    assert data, "the forked command died without a word"
    code, output, exc, calls = pickle.loads(data)
    owned = (w.path(own),) if own else ()
    return outcome_of(w, before, code, output, exc, owned), calls


def _traced(w: World, argv: list[str], at: int | None) -> tuple[int, str, BaseException | None, int]:
    calls = 0
    inside = False
    main = common.Commands.main

    def counting_main(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal inside
        inside = True
        try:
            return main(self, *args, **kwargs)
        finally:
            inside = False

    def tracer(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if inside and event == "call":
            calls += 1
            if calls == at:
                signal.raise_signal(signal.SIGINT)

    common.Commands.main = counting_main  # type: ignore[method-assign]
    with isolated(w):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.settrace(tracer)
        try:
            result = runner.invoke(app, _argv(w, argv))
        except BaseException as escaped:  # what escaped the command: reported as its exception
            return -1, "", RuntimeError(f"{type(escaped).__name__} escaped: {escaped}"), calls
        finally:
            sys.settrace(None)
    # Each stream as captured on its own: the runner's mixed copy of both is Python code that Ctrl-C
    # may cut between its two writes (a terminal has no such copy).
    output = result.stdout + result.stderr
    bug = result.exception
    if bug is not None and not isinstance(bug, SystemExit):  # where it was raised, to make it a case
        where = "".join(traceback.format_exception(bug)[-4:])
        return result.exit_code, output, RuntimeError(f"{type(bug).__name__}: {bug}\n{where}"), calls
    return result.exit_code, output, None, calls


def _files(folder: Path) -> dict[str, bytes]:
    if folder.is_file():
        return {folder.name: folder.read_bytes()}
    return (
        {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        if folder.is_dir()
        else {}
    )


def _interrupt(case: tuple[str, float]) -> None:
    command, fraction = case
    argv, out = VALID[command]
    if command not in CALLS:
        with world() as w:
            _valid_world(w)
            done, CALLS[command] = _interrupted_run(w, argv, None, out)
            assert done.exit_code == 0, done.output
            REFERENCE[command] = _files(w.path(out)) if out else {}
    with world() as w:
        _valid_world(w)
        before = _files(w.path(out)) if out else {}
        # the 1st call is Commands.main itself: before its handler, where cli.run catches Ctrl-C
        outcome, _ = _interrupted_run(w, argv, max(2, int(CALLS[command] * fraction)), out)
        check(outcome, frozenset({0, 130}))
        after = _files(w.path(out)) if out else {}
        temporary = [p for p in after if p.rsplit("/", 1)[-1].startswith(".") and p.endswith(".tmp")]
        assert not temporary, temporary
        for rel, data in after.items():  # every file whole: as it was, or as a whole run writes it
            if rel.endswith(".eoepca-gitops-render"):
                continue
            assert data in (before.get(rel), REFERENCE[command].get(rel)), f"{rel} half-written"
        if command == "import":  # all or none
            assert set(after) in (set(before), set(REFERENCE[command])), sorted(
                set(after) ^ set(REFERENCE[command])
            )


REFERENCE: dict[str, dict[str, bytes]] = {}


def test_ctrl_c_at_any_moment() -> None:
    fuzz("interrupt", st.tuples(st.sampled_from(sorted(VALID)), st.floats(0.0, 1.0)), _interrupt)


# -- the real entry point, in a process of its own ----------------------------------------------------
ENTRY = Path(sys.executable).parent / "eoepca-gitops"


def _entry(case: tuple[Render, float | None]) -> None:
    render, interrupt_after = case
    with world() as w:
        render.project.lay(w)
        argv = _argv(
            w, ["render", "-s", "test", "-o", "{root}/out", "--project", "{project}", "--flux-layer"]
        )
        env = {**os.environ, "HOME": str(w.home), "TMPDIR": str(w.root / "tmp"), "PATH": "/usr/bin:/bin"}
        before = snapshot(w.root)
        proc = subprocess.Popen(
            [str(ENTRY), *argv],
            cwd=w.project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        if interrupt_after is not None:
            time.sleep(interrupt_after)
            proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=HANG_SECONDS)
        if proc.returncode == -signal.SIGINT or "Fatal Python error: init_import_site" in output:
            return  # before the program runs or after it ends, Ctrl-C is the interpreter's (see the table)
        check(outcome_of(w, before, proc.returncode, output, None, (w.root / "out",)), frozenset({0, 2, 130}))


def test_the_real_entry_point() -> None:
    entries = st.tuples(projects, st.none() | st.floats(0.0, 1.5)).map(
        lambda c: (Render(c[0], "test", "{root}/out", True, False), c[1])
    )
    fuzz("entry-point", entries, _entry)
