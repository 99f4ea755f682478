"""Scenario 18: the deploy loop (issue 27) on the local stack with the real Flux controllers.

- Rollback: a commit that breaks a block (a chart version that does not exist, with a values change
  Helm applies) is `pulumi up`-ed (it fails), then `eoepca-gitops rollback --to <good>` is timed
  until it returns with every Flux object Ready again (it waits for Flux); checked with `status`.
- Push -> Helm release upgraded: a commit changing one HelmRelease's values, timed until helm-controller
  has stored the new Helm revision; the poller woken by the Git server's webhook (its interval an
  hour, so only the webhook can trigger it) vs the same poller polling at its default 10 s interval,
  each push at a random moment of that interval.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench.context import Bench
from bench.flux_runs import flux_project, flux_work
from bench.harness import CLI, STACK, Pulumi, Stats, log, stop
from bench.report import Result, Row, verdict
from eoepca_gitops.devcluster.git_server import add_webhook
from eoepca_gitops.devcluster.ports import free_port
from tests.conftest import DevClusterHandle
from tests.integration.local_stack import LocalStack, not_ready

SECRET = "bench-webhook-secret-0123456789"
PORTAL = ("demo", "eoepca-portal")
#: The polling baseline's interval (the poller's default), in seconds.
POLL_INTERVAL = 10


def _until(what: str, check: Any, timeout: float = 600) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"{what} after {timeout:.0f} s")


def _portal(local: LocalStack, replicas: int, broken: bool) -> str:
    def change(c: dict[str, Any]) -> None:
        overrides = c.setdefault("overrides", {})
        overrides.setdefault("system-demo", {}).setdefault("releases", {})["eoepca-portal"] = {
            "values": {"replicaCount": replicas}
        }
        um = overrides.setdefault("user-management", {}).setdefault("releases", {})
        if broken:
            um["um-pdp-engine"] = {"version": "9.9.9"}
        else:
            um.pop("um-pdp-engine", None)

    local.edit_config(change)
    return local.commit(f"portal x{replicas}" + (", pdp 9.9.9" if broken else ""))


def _rollbacks(b: Bench, local: LocalStack, pulumi: Pulumi) -> list[float]:
    times: list[float] = []
    for i in b.iterations():
        good = _portal(local, 1, broken=False)
        pulumi("up", "--yes", "--skip-preview")
        _portal(local, 2 + i, broken=True)
        pulumi("up", "--yes", "--skip-preview", ok=(0, 1))
        started = time.monotonic()
        proc = subprocess.run(
            [CLI, "rollback", "--stack", STACK, "--to", good], cwd=local.project, env=local.env,
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - started
        if proc.returncode != 0 or not_ready(local):
            raise RuntimeError(f"rollback {i}: exit {proc.returncode}: {proc.stderr[-2000:]}")
        log(f"18: rollback {i}: {seconds:.1f}s")
        if b.counted(i):
            times.append(seconds)
    _portal(local, 1, broken=False)
    pulumi("up", "--yes", "--skip-preview")  # unpinned again
    return times


def _pushes(local: LocalStack, work: Path, count: int, webhook: bool) -> list[float]:
    port = free_port()
    state = work / f"poller-{webhook}" / "state.json"
    state.parent.mkdir(parents=True)
    if webhook:
        assert local.cluster.git_repo is not None
        add_webhook(local.cluster.git_repo, f"http://127.0.0.1:{port}/hooks/github", SECRET)
    with (state.parent / "poll.log").open("ab") as out:
        poller = subprocess.Popen(
            [CLI, "poll", "--repo", str(local.cluster.git_url), "--branch", "main", "--project-dir", ".",
             "--stack", STACK, "--interval", "1h" if webhook else f"{POLL_INTERVAL}s",
             "--drift-interval", "0", "--listen", f"127.0.0.1:{port}", "--state-file", str(state),
             "--work-dir", str(state.parent / "w")],
            env={**local.env, "EOEPCA_GITOPS_WEBHOOK_SECRET": SECRET}, stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip
    times: list[float] = []
    # A push comes at any moment of the poll interval: right after the poller's last update (when its
    # loop looks at Git again at once) it would be seen as soon as with the webhook.
    phase = random.Random(18)
    try:
        head = local.commit("the poller's first round")
        _until("the poller's first round", lambda: _applied(state) == head)
        for i in range(count):
            before = local.helm_release(*PORTAL)
            assert before is not None
            if not webhook:
                time.sleep(phase.uniform(0, POLL_INTERVAL))
            revision = _portal(local, 3 + i % 2, broken=False)
            started = time.monotonic()
            _until("the Helm release upgraded", partial(_upgraded, local, before.revision))
            times.append(time.monotonic() - started)
            _until("the update recorded", partial(lambda rev: _applied(state) == rev, revision))
            log(f"18: push {'webhook' if webhook else 'polling'} {i}: {times[-1]:.1f}s")
    finally:
        stop(poller, grace=120)
    return times


def _upgraded(local: LocalStack, revision: int) -> bool:
    record = local.helm_release(*PORTAL)
    return record is not None and record.revision > revision


def _applied(state: Path) -> str | None:
    try:
        return str(json.loads(state.read_text())["stacks"][STACK]["applied_revision"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def s18_deploy_loop(b: Bench) -> Result:
    res = Result("18", "The deploy loop: rollback of the local stack; push -> Helm release upgraded")
    work = b.work / "deploy-loop"
    served, cluster, env = flux_work(work)
    try:
        cluster.dev.up(flux=True, git_repo=served)
        info = cluster.dev.info()
        assert info is not None
        project = flux_project(served, cluster)
        handle = DevClusterHandle(
            cluster.kubeconfig,
            info.server,
            info.state_dir,
            None,
            info.git_repo,
            info.git_url,
            info.charts_url,
        )
        local = LocalStack(handle, project, env)
        local.edit_config(lambda c: c["git"].update(interval="5s") or c["await"].update(timeout="5m"))
        local.commit("the local stack on the bench cluster")
        pulumi = Pulumi(project, env)
        pulumi.init()
        pulumi("up", "--yes", "--skip-preview")
        back = Stats(_rollbacks(b, local, pulumi))
        count = b.settings.commits
        polled = Stats(_pushes(local, work, count, webhook=False))
        hooked = Stats(_pushes(local, work, count, webhook=True))
    finally:
        cluster.dev.down(purge=True)
        shutil.rmtree(work, ignore_errors=True)
    v1, why1 = verdict(back.percentile(90) <= 60, f"p90 {back.percentile(90):.0f}s > 60 s")
    v2, why2 = verdict(hooked.median <= 5, f"p50 {hooked.median:.1f}s > 5 s")
    res.rows = [
        Row(
            "`rollback --to <good>` after a broken up, until it returns with every object Ready",
            back,
            goal="<= 60 s",
            verdict=v1,
            reason=why1,
        ),
        Row(
            f"baseline: push -> Helm release upgraded, poller polling every {POLL_INTERVAL} s, each push at "
            f"a random moment of it ({count} pushes)",
            polled,
        ),
        Row(
            f"push -> Helm release upgraded, poller woken by the Git server's webhook ({count} pushes)",
            hooked,
            ratio=hooked.median / polled.median,
            goal="p50 <= 5 s",
            verdict=v2,
            reason=why2,
        ),
    ]
    res.headline = (
        f"rollback p50 {back.median:.0f} s, p90 {back.percentile(90):.0f} s; push -> Helm webhook p50 "
        f"{hooked.median:.1f} s, p90 {hooked.percentile(90):.1f} s vs polling {POLL_INTERVAL} s p50 "
        f"{polled.median:.1f} s"
    )
    res.notes = [
        "Flux's own default Git interval is 1 min: a HelmRelease is a Pulumi-layer object here, so the "
        "poller (or its webhook) is what brings a values change to helm-controller.",
    ]
    return res
