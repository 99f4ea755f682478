"""`status --watch`: each change printed once, nothing printed while nothing changes, --until-ready
ending at the first all-Ready reading (exit 0), Ctrl-C ending with the last reading's exit code.
The readings are a script of ClusterStatus values; no cluster, no real time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.operations import collect
from eoepca_gitops.operations.status import BlockStatus, ClusterStatus, ObjectStatus, StackLayer
from eoepca_gitops.operations.watch import watch
from tests.operations.projects import operations_project

runner = CliRunner()


def status(ready: str) -> ClusterStatus:
    release = ObjectStatus("HelmRelease", "demo", "eoepca-portal", ready, "R", "M")
    return ClusterStatus(StackLayer("test"), "v2.9.3", (), None, (BlockStatus("portal", (release,)),))


def test_watch_shows_each_change_once_and_stops_when_told() -> None:
    readings = iter([1, 1, 2, 2, 2, 3])
    shown: list[int] = []
    pauses: list[float] = []
    last = watch(
        lambda: next(readings), shown.append, every=2.0, key=lambda r: r, until=lambda r: r == 3,
        sleep=pauses.append,
    )  # fmt: skip
    assert (last, shown, pauses) == (3, [1, 2, 3], [2.0] * 5)


def test_watch_without_until_runs_until_interrupted() -> None:
    def read() -> Iterator[int]:
        yield 1
        raise KeyboardInterrupt

    readings = read()
    shown: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        watch(lambda: next(readings), shown.append, every=1.0, key=lambda r: r, sleep=lambda _: None)
    assert shown == [1]


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[object]:
    """What each read of the cluster gives, in order: a status, or an exception to raise."""
    steps: list[object] = []

    def fake_collect(*args: object, **kwargs: object) -> ClusterStatus:
        step = steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, ClusterStatus)
        return step

    monkeypatch.setattr(collect, "collect", fake_collect)
    monkeypatch.setattr("eoepca_gitops.operations.watch.time.sleep", lambda _: None)
    return steps


def test_status_watch_until_ready_prints_each_change_and_exits(script: list[object], tmp_path: Path) -> None:
    script += [status("Unknown"), status("Unknown"), status("False"), status("True")]
    project = operations_project(tmp_path)
    args = ["status", "-s", "test", "--watch", "--until-ready", "--json", "--interval", "1s"]
    proc = runner.invoke(app, [*args, "--project", str(project)])
    assert proc.exit_code == 0, proc.output
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [doc["blocks"][0]["objects"][0]["ready"] for doc in lines] == ["Unknown", "False", "True"]
    assert script == []


def test_status_watch_ends_at_ctrl_c_with_the_last_exit_code(script: list[object], tmp_path: Path) -> None:
    script += [status("False"), KeyboardInterrupt()]
    project = operations_project(tmp_path)
    proc = runner.invoke(app, ["status", "-s", "test", "--watch", "--project", str(project)])
    assert proc.exit_code == 1, proc.output
    assert "HelmRelease demo/eoepca-portal" in proc.stdout and "error" not in proc.output
