"""`status --watch`: a stack's status printed again each time it changes, a spinner saying how much is
Ready meanwhile (as `reconcile` shows its waits); Ctrl-C ends it with the last status's exit code,
`--until-ready` once every object is Ready (exit 0)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import typer

from eoepca_gitops.cli.common import err, load, show_json, stdout_console
from eoepca_gitops.cli.status import _text, print_cluster_status
from eoepca_gitops.credentials import redact_value
from eoepca_gitops.operations.status import ClusterStatus

__all__ = ["watch_status"]


def watch_status(
    stacks: list[str], project: Path, as_json: bool, state_file: Path | None, every: float, until_ready: bool
) -> NoReturn:
    """`status --watch`: the stacks' status again each time it changes; exit with the last one's code
    at Ctrl-C, or 0 once all is Ready with --until-ready."""
    from eoepca_gitops.operations.collect import collect
    from eoepca_gitops.operations.watch import watch

    loaded = [load(name, project) for name in stacks]
    console = stdout_console()
    last: list[ClusterStatus] = []

    def read() -> list[ClusterStatus]:
        last[:] = [collect(p.stack, p.manifests, project, state_file=state_file) for p in loaded]
        return list(last)

    def show_all(results: list[ClusterStatus]) -> None:
        spinner.stop()
        for r in results:
            if as_json:
                show_json(redact_value(r.to_json()), sort_keys=True)
            else:
                console.rule(_text(f"{r.stack.name} at {datetime.now().strftime('%H:%M:%S')}"))
                print_cluster_status(r, console)
        spinner.start()

    def waiting(results: list[ClusterStatus], seconds: float) -> None:
        rows = [o for r in results for _, o in r.rows]
        ready = f"{sum(o.ok for o in rows)}/{len(rows)} Ready"
        spinner.update(_text(f"{ready}; reading again every {seconds:g} s (Ctrl-C stops)"))

    def all_ready(results: list[ClusterStatus]) -> bool:
        return until_ready and all(r.exit_code == 0 for r in results)

    def key(results: list[ClusterStatus]) -> list[dict[str, Any]]:
        return [r.to_json() for r in results]

    # Ctrl-C is the usual end of a watch, not an error.
    with (
        err.status("reading the stack and the cluster ...") as spinner,
        contextlib.suppress(KeyboardInterrupt),
    ):
        watch(read, show_all, every=every, key=key, until=all_ready, waiting=waiting)
    raise typer.Exit(max((r.exit_code for r in last), default=0))
