"""Scenario 10: drift -> corrected. The poller in `correct` mode on a small stack (Flux, system-common,
system-storage, system-test) with the real Flux controllers; drifts of mixed kinds made one at a time as
operators make them (tests/integration/drifts.py), each timed from the kubectl command to the moment
the declared value is back. Baseline, in the same run: the same drifts corrected by hand, each by one
`pulumi up --refresh` started right after the drift. The acceptance bound is one drift interval plus
one such update."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

from bench.context import Bench
from bench.flux_runs import flux_project, flux_work
from bench.harness import CLI, STACK, Pulumi, Stats, log, stop
from bench.report import Result, Row, verdict
from eoepca_gitops.project import stack_file_name
from tests.integration.drifts import BLOCKS, DRIFTS, Drift, Kube

DRIFT_INTERVAL = 10.0
DRIFTS_TIMED = 20


def _until(what: str, check: Callable[[], bool], timeout: float = 300) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"{what} after {timeout:.0f} s")


def _phase(state_file: Path) -> tuple[str, bool]:
    try:
        s = json.loads(state_file.read_text())["stacks"][STACK]
    except (OSError, ValueError, KeyError):
        return "", True
    return str(s.get("phase", "")), s.get("in_progress") is not None


def _commit(repo: Path) -> None:
    who = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, capture_output=True)
    subprocess.run(
        ["git", "-C", str(repo), *who, "commit", "-q", "-m", "drift stack"], check=True, capture_output=True
    )


def s10_drift(b: Bench) -> Result:
    res = Result("10", "Drift -> corrected: the poller in correct mode vs a `pulumi up --refresh` by hand")
    work = b.work / "drift"
    served, cluster, env = flux_work(work)
    poller: subprocess.Popen[bytes] | None = None
    by_poller: list[float] = []
    try:
        cluster.dev.up(flux=True, git_repo=served)
        project = flux_project(served, cluster)
        stack_file = project / stack_file_name(STACK)
        raw = yaml.safe_load(stack_file.read_text())
        raw["config"]["eoepca-gitops:blocks"] = BLOCKS
        raw["config"]["eoepca-gitops:git"]["interval"] = "5s"
        stack_file.write_text(yaml.safe_dump(raw, sort_keys=False))
        _commit(project)
        pulumi = Pulumi(project, env)
        pulumi.init()
        pulumi("up", "--yes", "--skip-preview")
        kube = Kube(cluster.kubeconfig)

        def drift(i: int) -> Drift:
            d = DRIFTS[i % len(DRIFTS)]
            d.cause(kube)
            return d

        by_hand: list[float] = []

        def correct_by_hand() -> None:
            for i in range(len(DRIFTS)):
                d = drift(i)
                started = time.monotonic()
                pulumi("up", "--yes", "--skip-preview", "--refresh")
                _until(f"{d.obj} {d.field} corrected by hand", partial(d.corrected, kube), timeout=60)
                by_hand.append(time.monotonic() - started)
                log(f"10: by hand {d.obj} {d.field}: {by_hand[-1]:.1f}s")

        correct_by_hand()
        state_file = work / "poller" / "state.json"
        poll_log = work / "poller" / "poll.log"
        poll_log.parent.mkdir(parents=True, exist_ok=True)
        info = cluster.dev.info()
        assert info is not None and info.git_url
        with poll_log.open("ab") as out:
            poller = subprocess.Popen(
                [CLI, "poll", "--repo", info.git_url, "--branch", "main", "--project-dir", ".",
                 "--stack", STACK, "--interval", "5s", "--drift-interval", f"{DRIFT_INTERVAL:.0f}s",
                 "--drift-mode", "correct", "--state-file", str(state_file),
                 "--work-dir", str(work / "poller" / "work"), "--listen", "off"],
                env=env, stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        _until("the poller synced", lambda: _phase(state_file) == ("synced", False), timeout=600)
        # Drifts happen at any moment of the poller's cycle, not just after a check: each waits a
        # random part of the drift interval (seeded, so runs compare) after the previous correction.
        moments = random.Random(10)
        for i in range(DRIFTS_TIMED):
            time.sleep(moments.uniform(0, DRIFT_INTERVAL))
            d = drift(i)
            started = time.monotonic()
            _until(f"{d.obj} {d.field} corrected by the poller", partial(d.corrected, kube))
            by_poller.append(time.monotonic() - started)
            log(f"10: poller {d.obj} {d.field}: {by_poller[-1]:.1f}s")
            _until("the correction recorded", lambda: _phase(state_file) == ("synced", False))
        stop(poller, grace=120)
        poller = None
        correct_by_hand()  # the baseline before and after: the machine's load may have moved
    finally:
        if poller is not None:
            stop(poller, grace=120)
        cluster.dev.down(purge=True)
        shutil.rmtree(work, ignore_errors=True)
    hand, auto = Stats(by_hand), Stats(by_poller)
    bound = DRIFT_INTERVAL + hand.median
    ratio = auto.median / bound
    v, why = verdict(ratio <= 1.0, f"p50 {auto.median:.1f}s > drift interval + one update ({bound:.1f}s)")
    res.rows = [
        Row(
            f"baseline: `pulumi up --refresh` by hand right after the drift ({len(by_hand)} drifts, "
            "before and after the poller's)",
            hand,
        ),
        Row(
            f"poller, correct mode, drift interval {DRIFT_INTERVAL:.0f}s: drift -> declared value back "
            f"({DRIFTS_TIMED} drifts of {len(DRIFTS)} kinds)",
            auto,
            ratio=auto.median / hand.median,
            goal=f"p50 <= drift interval + one update ({bound:.1f}s)",
            verdict=v,
            reason=why,
        ),
    ]
    res.headline = (
        f"p50 {auto.median:.0f} s, p90 {auto.percentile(90):.0f} s (bound {bound:.0f} s); "
        f"by hand {hand.median:.0f} s"
    )
    res.notes = [
        "Each drift is made at a random moment (uniform over one drift interval) after the previous "
        "correction is recorded; the time runs from the kubectl command to the declared value being back: "
        "the wait for the next drift check, its refresh-preview, then a refresh-update of the drifted "
        "resources only.",
        f"Kinds, in turn: {'; '.join(f'{d.obj} {d.field}' for d in DRIFTS)}.",
    ]
    return res
