"""`python -m tests.mutation [MODULE ...]` (or `make mutation MODULES="..."`): mutation testing with
mutmut over the modules where a silent regression hurts most, then the unit coverage of the same
code, into tests/mutation/results.md.

mutmut copies the project into mutants/, generates every mutant of the files `[tool.mutmut]` in
pyproject.toml names, and runs, for each mutant of the chosen modules, the unit tests that reach
the mutated function. Results accumulate in mutants/ (a function's mutants are tested again only
when it changes, or when its module is named on the command line), so the modules can be run one
at a time and the report always shows every result there is.
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
from datetime import date
from pathlib import Path

from tests.mutation.equivalent import EQUIVALENT  # survivors that cannot change behaviour, with why

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
RUN_TIMES = HERE / "run-times.json"
NOTES = HERE / "notes.md"
MUTANTS = ROOT / "mutants"
VENV_BIN = Path(sys.executable).parent
MIN_SCORE = 85.0
MIN_COVERAGE = 90.0

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
}
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


def run_mutmut(patterns: list[str], children: int) -> float:
    started = time.monotonic()
    # mypy (pyproject's type_check_command) from the same environment
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        [str(VENV_BIN / "mutmut"), "run", "--max-children", str(children), *patterns],
        cwd=ROOT,
        check=True,
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


def report(run_times: dict[str, dict[str, object]], covered: dict[str, float]) -> str:
    every = mutants()
    lines = [
        "# Mutation testing and unit coverage",
        "",
        "Written by `make mutation` (`python -m tests.mutation`; mutmut "
        f"{_version('mutmut')}, pytest-cov {_version('pytest-cov')}). Score = killed (a test failed, "
        "or the mutant hung until mutmut's timeout) / mutants tested; `no tests` (no unit test reaches "
        f"the function) counts as surviving. Goal: >= {MIN_SCORE:.0f} % per module, no survivor in "
        f"redaction or dependency code; unit coverage >= {MIN_COVERAGE:.0f} %.",
        "",
        "## Run times",
        "",
        "| module | mutants run | seconds | date | workers |",
        "|---|---|---|---|---|",
    ]
    for module in MODULES:
        t = run_times.get(module)
        if t:
            lines.append(f"| {module} | {t['mutants']} | {t['seconds']} | {t['date']} | {t['workers']} |")
    lines += [
        "",
        "## Score per module",
        "",
        "`not tested`: generated mutants no run has reached yet (a module stopped for time); "
        "`timeout`: counted as killed, listed below.",
        "",
        "| module | file | killed | timeout | survived | not tested | score | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    survivors: list[Mutant] = []
    timeouts: list[Mutant] = []
    for module, patterns in MODULES.items():
        mine = [m for m in every if _matches(m.name, patterns)]
        for file in sorted({m.module for m in mine}):
            counts = Counter(m.status for m in mine if m.module == file)
            timeout = counts["timeout"]
            killed = sum(n for status, n in counts.items() if status in KILLED) - timeout
            untested = counts["not checked"]
            tested = sum(counts.values()) - counts["skipped"] - untested
            score = 100.0 * (killed + timeout) / tested if tested else None
            verdict = "-" if score is None else "PASS" if score >= MIN_SCORE else "MISS"
            lines.append(
                f"| {module} | {file} | {killed} | {timeout} | {tested - killed - timeout} | {untested} | "
                f"{'-' if score is None else f'{score:.1f} %'} | {verdict} |"
            )
        survivors += [m for m in mine if m.status not in KILLED | {"skipped", "not checked"}]
        timeouts += [m for m in mine if m.status == "timeout"]
    lines += ["", "## Surviving mutants", ""]
    if not survivors:
        lines.append("None.")
    for m in survivors:
        why = EQUIVALENT.get(m.name)
        lines.append(f"- `{m.name}` ({m.status}{f'; equivalent: {why}' if why else ''}): `{_diff(m.name)}`")
    lines += ["", "## Timed out (counted as killed)", ""]
    lines += [f"- `{m.name}`: `{_diff(m.name)}`" for m in timeouts] or ["None."]
    if NOTES.exists():  # what the run times and scores do not say (kept by hand, as the run's log)
        lines += ["", "## Notes on this run", "", NOTES.read_text(encoding="utf-8").strip()]
    lines += ["", "## Unit coverage (lines and branches)", "", "| module | file | coverage | goal |"]
    lines.append("|---|---|---|---|")
    for module, prefixes in COVERAGE.items():
        for path, percent in sorted(covered.items()):
            if path.startswith(prefixes):
                verdict = "PASS" if percent >= MIN_COVERAGE else "MISS"
                lines.append(f"| {module} | {path} | {percent:.1f} % | {verdict} |")
    return "\n".join(lines) + "\n"


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--workers", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--report-only", action="store_true", help="only write results.md from mutants/")
    parser.add_argument(
        "--survivors", action="store_true", help="test again only the mutants that survived the last run"
    )
    args = parser.parse_args()
    modules = args.modules or list(MODULES)
    unknown = sorted(set(modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown modules {', '.join(unknown)}: choose from {', '.join(MODULES)}")
    run_times: dict[str, dict[str, object]] = (
        json.loads(RUN_TIMES.read_text(encoding="utf-8")) if RUN_TIMES.exists() else {}
    )
    if not args.report_only:
        for module in modules:
            if args.survivors:
                mine = [m for m in mutants() if _matches(m.name, MODULES[module])]
                names = [m.name for m in mine if m.status not in KILLED | {"skipped"}]
                if names:
                    run_mutmut(names, args.workers)
                continue
            seconds = run_mutmut(list(MODULES[module]), args.workers)
            # counted after the run: a first run generates the mutants
            mine = [m for m in mutants() if _matches(m.name, MODULES[module]) and m.status != "not checked"]
            run_times[module] = {
                "mutants": len(mine),
                "seconds": round(seconds),
                "date": date.today().isoformat(),
                "workers": args.workers,
            }
            RUN_TIMES.write_text(json.dumps(run_times, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    RESULTS.write_text(report(run_times, coverage()), encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
