"""`eoepca-gitops rollback` as an operator runs it: flags onto operations/rollback.py, the plan on
stdout, one `error:` line and exit 2 for what cannot be done, exit 1 when Flux has an object not Ready."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.operations import rollback as op
from tests.helpers import FIXTURE_BLOCKS, FIXTURE_INSTALLS

runner = CliRunner()
PLAN = op.Plan(
    "test", "a" * 40, "--to a", {"update": 1}, ("update HelmRelease/um/x",), (), "until `rollback --release`"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: eoepca-gitops\nruntime: python\n")
    config = {
        "eoepca-gitops:cluster": {"name": "test", "publicIp": "10.0.0.1"},
        "eoepca-gitops:flux": {"version": "v2.9.3", "manifest": str(FIXTURE_INSTALLS / "new.yaml")},
        "eoepca-gitops:git": {"url": "https://example.org/g.git", "branch": "main"},
        "eoepca-gitops:blocks": ["base"],
    }
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": config}))
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "blocks").symlink_to(FIXTURE_BLOCKS)
    return tmp_path


def test_the_plan_goes_to_stdout_and_a_dry_run_exits_0(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []

    def planned(r: Any, progress: Any) -> Any:
        asked.append(r)
        return PLAN, []

    monkeypatch.setattr(op, "rollback", planned)
    result = runner.invoke(
        app, ["rollback", "-s", "test", "--to", "a", "--dry-run", "--project", str(project)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == PLAN.lines()
    assert (asked[0].to, asked[0].dry_run, asked[0].stack.name) == ("a", True, "test")


def test_what_cannot_be_done_is_one_error_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(
        app, ["rollback", "-s", "test", "--release", "--to", "a", "--project", str(project)]
    )
    assert (result.exit_code, result.stderr) == (2, "error: --release takes neither --to nor --dry-run\n")

    def nothing_good(r: Any, progress: Any) -> Any:
        raise GitopsError(
            "stack test: no last good revision (no poller keeps this stack): give one with --to REV"
        )

    monkeypatch.setattr(op, "rollback", nothing_good)
    result = runner.invoke(app, ["rollback", "-s", "test", "--project", str(project)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: stack test: no last good revision (no poller keeps this stack): give one with --to REV"
    ]
