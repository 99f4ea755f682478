"""`python -m tests.mutation [MODULE ...]` (or `make mutation MODULES="..."`): mutation testing with
mutmut over the modules where a silent regression hurts most, then the unit coverage of the same
code, into tests/mutation/results.md.

mutmut copies the project into mutants/, generates every mutant of the files `[tool.mutmut]` in
pyproject.toml names, rejects those mypy rejects, and runs, for each other mutant of the chosen
modules, the unit tests that reach the mutated function. Results accumulate in mutants/ (a
function's mutants are tested again only when it changes, or when its module is named on the
command line), so modules can be run one at a time and the report always shows every result there
is. `--sample N` tests N mutants drawn at random of each large module instead of all of them (the
report then gives that sample's score with its 95 % interval); the small ones are run in full.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.mutation import sample
from tests.mutation.equivalent import EQUIVALENT  # survivors that cannot change behaviour, with why

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
NOTES = HERE / "notes.md"
MUTANTS = ROOT / "mutants"
VENV_BIN = Path(sys.executable).parent
MIN_SCORE = 85.0
# Matches no mutant: a mutmut run that only generates the mutants (and collects the tests' stats).
GENERATE_ONLY = "eoepca_gitops.x_generate_only__mutmut_0"
MIN_COVERAGE = 90.0
CARRIED = "*"  # marks a module whose results are the previous report's

# The dev cluster's modules (and DevCluster's methods) that run without the engine's binaries; the
# rest (DevCluster.up, the supervisor's loop) starts them and is proven by the integration tests.
DEVCLUSTER_PARTS = (
    "certs", "charts", "flux", "git_server", "kubeapi", "kubeconfig", "kubernetes", "layout", "ports",
    "processes", "snapshot", "tools",
)  # fmt: skip
DEVCLUSTER_METHODS = (
    "info", "status", "_component", "down", "stop_component", "start_component", "_record", "_locked",
    "_stop_all", "_spawn", "_wait", "_say", "publish_charts",
)  # fmt: skip

# Module -> the mutmut name patterns of its mutants. The poller's automation.py is mutated only in
# its pure parts: the rest drives the Pulumi engine and is proven by the integration tests.
MODULES: dict[str, tuple[str, ...]] = {
    "model": ("eoepca_gitops.model.*",),
    "manifests": ("eoepca_gitops.manifests.*",),
    "fluxtree": ("eoepca_gitops.fluxtree.*",),
    "importer": ("eoepca_gitops.importer.*",),
    "redaction": ("eoepca_gitops.credentials.*",),
    "poller": (
        "eoepca_gitops.poller.decide.*",
        "eoepca_gitops.poller.state.*",
        "eoepca_gitops.poller.source.*",
        "eoepca_gitops.poller.automation.x_classify__mutmut_*",
        "eoepca_gitops.poller.automation.x__summary__mutmut_*",
        "eoepca_gitops.poller.automation.x_lock_holders__mutmut_*",
        "eoepca_gitops.poller.automation.x__describe__mutmut_*",
        "eoepca_gitops.poller.automation.xǁLockHolderǁstale__mutmut_*",
    ),
    "cli": ("eoepca_gitops.cli.common.*",),
    # What an operator leans on when something is already wrong: status, reconcile, suspend and
    # undeploy; a Flux upgrade's plan, reads and migration; the program's wiring; the files a command
    # reads and writes; the poller's loop, drift and takeover; the dev cluster's parts but those that
    # start the engine's binaries (DEVCLUSTER_PARTS).
    "operations": ("eoepca_gitops.operations.*",),
    "upgrade": ("eoepca_gitops.upgrade.*",),
    "program": ("components.*",),
    "files": ("eoepca_gitops.files.*", "eoepca_gitops.owned_folder.*", "eoepca_gitops.yaml_io.*"),
    "poller-loop": (
        "eoepca_gitops.poller.drift.*",
        "eoepca_gitops.poller.takeover.*",
        "eoepca_gitops.poller.loop.*",
    ),
    "devcluster": (
        *(f"eoepca_gitops.devcluster.{m}.*" for m in DEVCLUSTER_PARTS),
        "eoepca_gitops.devcluster.supervisor.x_supervisor_argv__mutmut_*",
        *(f"eoepca_gitops.devcluster.cluster.xǁDevClusterǁ{m}__mutmut_*" for m in DEVCLUSTER_METHODS),
    ),
    # Where blocks' dependencies become an order and Flux dependsOn lists (also in model, manifests).
    "dependencies": (
        "eoepca_gitops.model.loader.x__order__mutmut_*",
        "eoepca_gitops.model.blocks.xǁBlockCatalogǁ*",
        "eoepca_gitops.manifests.building_block.x_kustomization__mutmut_*",
        "eoepca_gitops.manifests.building_block.x_helm_release__mutmut_*",
    ),
}
# Over a thousand mutants each, at seconds to a minute per mutant: what --sample samples.
LARGE = {"model", "manifests", "fluxtree", "importer", "operations", "poller-loop", "devcluster"}
# No survivor at all is the goal here; MIN_SCORE elsewhere.
NO_SURVIVOR = {"redaction", "dependencies"}
# Unit coverage is reported for the same code (the pure parts of the poller: its logic).
COVERAGE: dict[str, tuple[str, ...]] = {
    "model": ("eoepca_gitops/model/",),
    "manifests": ("eoepca_gitops/manifests/",),
    "fluxtree": ("eoepca_gitops/fluxtree/",),
    "importer": ("eoepca_gitops/importer/",),
    "redaction": ("eoepca_gitops/credentials.py",),
    "poller": (
        "eoepca_gitops/poller/decide.py",
        "eoepca_gitops/poller/transitions.py",
        "eoepca_gitops/poller/conditions.py",
        "eoepca_gitops/poller/state.py",
        "eoepca_gitops/poller/drift.py",
        "eoepca_gitops/poller/source.py",
    ),
    "cli": ("eoepca_gitops/cli/common.py",),
    "operations": ("eoepca_gitops/operations/",),
    "upgrade": ("eoepca_gitops/upgrade/",),
    "program": ("components/",),
    "files": ("eoepca_gitops/files.py", "eoepca_gitops/owned_folder.py", "eoepca_gitops/yaml_io.py"),
    "poller-loop": ("eoepca_gitops/poller/takeover.py", "eoepca_gitops/poller/loop.py"),
    "devcluster": tuple(f"eoepca_gitops/devcluster/{m}.py" for m in DEVCLUSTER_PARTS),
}
KILLED = {"killed", "timeout", "caught by type check"}


@dataclass(frozen=True)
class Mutant:
    name: str  # eoepca_gitops.poller.decide.x_decide__mutmut_3
    module: str  # eoepca_gitops.poller.decide
    status: str  # mutmut's word: killed, survived, timeout, no tests, not checked, ...


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(name, p) for p in patterns)


def mutants() -> list[Mutant]:
    """Every mutant mutmut generated, with its last result (mutants/<file>.meta)."""
    from mutmut.stats import status_by_exit_code

    out: list[Mutant] = []
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = ".".join(meta.relative_to(MUTANTS).with_suffix("").with_suffix("").parts)
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        out += [Mutant(name, module, status_by_exit_code[code]) for name, code in codes.items()]
    return out


def _stale() -> bool:
    """Whether mutants/ lacks the mutants of a source file as it is now (mutmut's own test: mtime)."""
    for source in (*(ROOT / "eoepca_gitops").rglob("*.py"), *(ROOT / "components").rglob("*.py")):
        copy = MUTANTS / source.relative_to(ROOT)
        if not copy.exists() or copy.stat().st_mtime < source.stat().st_mtime:
            return True
    return False


def run_mutmut(patterns: list[str], children: int, *, check: bool = True) -> float:
    started = time.monotonic()
    # mypy (pyproject's type_check_command) from the same environment
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        [str(VENV_BIN / "mutmut"), "run", "--max-children", str(children), *patterns],
        cwd=ROOT,
        check=check,
        env={**os.environ, "PATH": path},
    )
    return time.monotonic() - started


def coverage() -> dict[str, float]:
    """Percent of lines (and branches) the unit tests run, per file of the covered modules."""
    data = ROOT / ".coverage-mutation.json"
    subprocess.run(
        [
            str(VENV_BIN / "pytest"),
            "-q",
            "-m",
            "not integration",
            "-p",
            "no:cacheprovider",
            "--cov=eoepca_gitops",
            "--cov=components",
            "--cov-branch",
            f"--cov-report=json:{data}",
            "--cov-report=",
        ],
        cwd=ROOT,
        check=True,
    )
    files = json.loads(data.read_text(encoding="utf-8"))["files"]
    data.unlink()
    return {path: info["summary"]["percent_covered"] for path, info in files.items()}


def _diff(name: str) -> str:
    """The changed line of a mutant, as `mutmut show` prints it."""
    shown = subprocess.run(
        [str(VENV_BIN / "mutmut"), "show", name], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    changed = [ln for ln in shown.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    return " / ".join(ln.strip() for ln in changed) or "?"


def _score(mine: list[Mutant]) -> tuple[int, int, int]:
    """(killed, of which timed out, tested) of these mutants."""
    counts = Counter(m.status for m in mine)
    tested = sum(counts.values()) - counts["skipped"] - counts["not checked"]
    killed = sum(n for status, n in counts.items() if status in KILLED)
    return killed, counts["timeout"], tested


def _section(text: str, title: str) -> list[str]:
    """The lines of a section (`## title`) of a report."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln == f"## {title}"), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start + 1 : end]


def _widened(row: str) -> str:
    """A module's row of an earlier report, with this report's columns, marked as carried over."""
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    if len(cells) == 10:  # before `by tests` and `tests alone`
        tested, killed, by_mypy = int(cells[3]), int(cells[4]), int(cells[5])
        alone = f"{100.0 * (killed - by_mypy) / (tested - by_mypy):.1f} %" if tested > by_mypy else "-"
        cells = [*cells[:6], str(killed - by_mypy), *cells[6:9], alone, cells[9]]
    cells[0] = cells[0].rstrip(CARRIED) + CARRIED
    return "| " + " | ".join(cells) + " |"


SURVIVORS, TIMEOUTS = "Surviving mutants", "Timed out (counted as killed)"


def _carried(previous: str, module: str) -> dict[str, list[str]] | None:
    """A module's lines in each section of the previous report, for a module of which mutants/ holds
    no result (it was not run where this report is written)."""
    mine = (f"| {module} |", f"| {module}{CARRIED} |")
    rows = [_widened(ln) for ln in _section(previous, "Score per module") if ln.startswith(mine)]
    if not rows:
        return None

    def listed(title: str) -> list[str]:
        return [
            ln
            for ln in _section(previous, title)
            if ln.startswith("- `") and _matches(ln.split("`")[1], MODULES[module])
        ]

    files = [ln for ln in _section(previous, "Score per file") if ln.startswith(mine)]
    return {"module": rows[:1], "files": files, SURVIVORS: listed(SURVIVORS), TIMEOUTS: listed(TIMEOUTS)}


def report(covered: dict[str, float], samples: dict[str, sample.Sample]) -> str:
    every = mutants()
    previous = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    carried: dict[str, dict[str, list[str]]] = {}
    lines = [
        "# Mutation testing and unit coverage",
        "",
        "Written by `make mutation` (`python -m tests.mutation`; mutmut "
        f"{_version('mutmut')}, pytest-cov {_version('pytest-cov')}). Score = killed (mypy rejects "
        "the mutant, a test failed, or the mutant hung until mutmut's timeout) / mutants tested; "
        "`no tests` (no unit test reaches the function) counts as surviving. Goal: "
        f">= {MIN_SCORE:.0f} % per module, no survivor in redaction or dependency code but the "
        f"equivalent ones (listed with their reason); unit coverage >= {MIN_COVERAGE:.0f} %.",
        "",
        "## Score per module",
        "",
        "`mutants`: all the module's mutants; `scored`: the ones the score is over (a random sample "
        "where the module was sampled: tests/mutation/samples.json, with its seed); `killed` = `by mypy` "
        "(rejected before any test ran) + `by tests` (a test failed or the mutant hung); `tests alone`: "
        "by tests / (tested - by mypy), the score of the tests on the mutants that type-check. How long "
        "the runs took is in the notes below. `*`: a module not run where this report was written; its "
        "rows and survivors are the previous report's (its results are in that run's mutants/).",
        "",
        "| module | mutants | scored | tested | killed | by mypy | by tests | survived | score "
        "| 95 % interval | tests alone | goal |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    scored_by_module: dict[str, list[Mutant]] = {}
    for module, patterns in MODULES.items():
        mine = [m for m in every if _matches(m.name, patterns)]
        drawn = samples.get(module)
        scored = [m for m in mine if m.name in set(drawn.names)] if drawn else mine
        scored_by_module[module] = scored
        killed, _, tested = _score(scored)
        if not tested and (earlier := _carried(previous, module)):
            carried[module] = earlier
            lines += earlier["module"]
            continue
        by_mypy = sum(m.status == "caught by type check" for m in scored)
        score = 100.0 * killed / tested if tested else None
        low, high = sample.wilson(killed, tested)
        interval = f"{low:.1f}-{high:.1f} %" if drawn and tested else "-"
        if module in NO_SURVIVOR:  # no survivor but those that cannot change behaviour
            alive = [m for m in scored if m.status not in KILLED | {"skipped", "not checked"}]
            met = all(m.name in EQUIVALENT for m in alive)
        else:
            met = score is not None and score >= MIN_SCORE
        verdict = "-" if score is None else "PASS" if met else "MISS"
        percent = "-" if score is None else f"{score:.1f} %"
        # What the tests kill of the mutants mypy lets through: how much they carry on their own.
        alone = f"{100.0 * (killed - by_mypy) / (tested - by_mypy):.1f} %" if tested > by_mypy else "-"
        cells = [module, len(mine), f"{len(scored)}{' (sample)' if drawn else ''}", tested, killed, by_mypy]
        cells += [killed - by_mypy, tested - killed, percent, interval, alone, verdict]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    lines += [
        "",
        "## Score per file",
        "",
        "Over the same mutants; `not tested`: scored mutants no run has reached yet; `timeout`: counted "
        "as killed, listed below.",
        "",
        "| module | file | killed | timeout | survived | not tested | score |",
        "|---|---|---|---|---|---|---|",
    ]
    survivors: list[Mutant] = []
    timeouts: list[Mutant] = []
    for module, scored in scored_by_module.items():
        if module in carried:
            lines += carried[module]["files"]
            continue
        for file in sorted({m.module for m in scored}):
            killed, timeout, tested = _score([m for m in scored if m.module == file])
            untested = sum(m.status == "not checked" for m in scored if m.module == file)
            percent = f"{100.0 * killed / tested:.1f} %" if tested else "-"
            row = (module, file, killed - timeout, timeout, tested - killed, untested, percent)
            lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
        survivors += [m for m in scored if m.status not in KILLED | {"skipped", "not checked"}]
        timeouts += [m for m in scored if m.status == "timeout"]
    earlier = {title: [ln for c in carried.values() for ln in c[title]] for title in (SURVIVORS, TIMEOUTS)}
    lines += ["", f"## {SURVIVORS}", ""]
    for m in survivors:
        why = EQUIVALENT.get(m.name)
        lines.append(f"- `{m.name}` ({m.status}{f'; equivalent: {why}' if why else ''}): `{_diff(m.name)}`")
    lines += earlier[SURVIVORS] or ([] if survivors else ["None."])
    lines += ["", f"## {TIMEOUTS}", ""]
    lines += [f"- `{m.name}`: `{_diff(m.name)}`" for m in timeouts] + earlier[TIMEOUTS] or ["None."]
    if NOTES.exists():  # what the scores do not say (kept by hand, as the run's log)
        lines += ["", "## Notes on this run", "", NOTES.read_text(encoding="utf-8").strip()]
    lines += ["", "## Unit coverage (lines and branches)", "", "| module | file | coverage | goal |"]
    lines.append("|---|---|---|---|")
    for module, prefixes in COVERAGE.items():
        for path, covered_percent in sorted(covered.items()):
            if path.startswith(prefixes):
                verdict = "PASS" if covered_percent >= MIN_COVERAGE else "MISS"
                lines.append(f"| {module} | {path} | {covered_percent:.1f} % | {verdict} |")
    return "\n".join(lines) + "\n"


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _targets(
    module: str, every: list[Mutant], args: argparse.Namespace, samples: dict[str, sample.Sample]
) -> list[str]:
    """What mutmut runs for `module`: name patterns (every mutant, tested again) or mutant names."""
    mine = [m for m in every if _matches(m.name, MODULES[module])]
    if args.sample and module in LARGE:
        drawn = sample.draw(module, [m.name for m in mine], args.sample, args.seed)
        samples[module] = drawn
        # Killed stays killed while its function is unchanged; survivors are tried with the new tests.
        killed = {m.name for m in mine if m.status in KILLED | {"skipped"}}
        return [name for name in drawn.names if name not in killed]
    if args.survivors:  # of the module's sample, where it has one
        kept = samples.get(module)
        alive = [m.name for m in mine if m.status not in KILLED | {"skipped", "not checked"}]
        return [name for name in alive if kept is None or name in kept.names]
    samples.pop(module, None)
    return list(MODULES[module])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--workers", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--report-only", action="store_true", help="only write results.md from mutants/")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="test again only the mutants that survived the last run (with --sample: of the small modules)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help=f"test N mutants, drawn at random, of each of {', '.join(sorted(LARGE))} instead of all",
    )
    parser.add_argument("--seed", type=int, default=1, help="the draw of --sample (default 1)")
    args = parser.parse_args()
    modules = args.modules or list(MODULES)
    unknown = sorted(set(modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown modules {', '.join(unknown)}: choose from {', '.join(MODULES)}")
    samples = sample.load()
    if not args.report_only:
        if args.sample and _stale():
            # A sample is drawn from the mutants of the code as it is; mutmut exits 1 as nothing matches.
            run_mutmut([GENERATE_ONLY], args.workers, check=False)
        every = mutants()
        # One mutmut run for all the modules: each run type-checks every mutant first (minutes).
        targets = [t for module in modules for t in _targets(module, every, args, samples)]
        sample.save(samples)
        if targets:
            seconds = run_mutmut(targets, args.workers)
            print(f"mutmut ran {len(targets)} names or patterns in {seconds:.0f} s", file=sys.stderr)
    RESULTS.write_text(report(coverage(), samples), encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
