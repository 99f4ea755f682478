"""The `pulumi` CLI as the operations run it (operations/pulumi_cli.py), with a stand-in `pulumi` script
on PATH: the arguments it gets, the project folder it runs in, the user's environment, the one
error line a failure becomes, and its --json output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.operations.pulumi_cli import PulumiCli


def fake_pulumi(tmp_path: Path, script: str) -> dict[str, str]:
    """An environment whose PATH has only a `pulumi` running `script` (sh), and sh's own tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text("#!/bin/sh\n" + script)
    (bin_dir / "pulumi").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "MARK": "from-env"}


def test_pulumi_runs_in_the_project_for_the_stack_without_prompts(tmp_path: Path) -> None:
    env = fake_pulumi(tmp_path, 'echo "$@"; pwd; echo "$MARK"\n')
    (tmp_path / "project").mkdir()
    out = PulumiCli("prod", tmp_path / "project", env).run("config", "set", "--path", "a.b", "true")
    assert out.splitlines() == [
        "config set --path a.b true --stack prod --non-interactive",
        str(tmp_path / "project"),
        "from-env",
    ]


def test_json_output_is_parsed_and_nothing_is_none(tmp_path: Path) -> None:
    env = fake_pulumi(tmp_path, 'case "$*" in *history*) echo \'[{"result": "succeeded"}]\';; esac\n')
    cli = PulumiCli("prod", tmp_path, env)
    assert cli.json("stack", "history") == [{"result": "succeeded"}]
    assert cli.json("preview") is None  # printed nothing


def test_a_failure_is_its_last_error_line(tmp_path: Path) -> None:
    env = fake_pulumi(
        tmp_path,
        "echo 'Updating (prod):'; echo 'error: first problem' >&2; echo '  error: the last problem' >&2; "
        "echo 'more output'; exit 255\n",
    )
    with pytest.raises(GitopsError) as exc:
        PulumiCli("prod", tmp_path, env).run("up", "--yes")
    assert str(exc.value) == "pulumi up --stack prod: error: the last problem"


@pytest.mark.parametrize(
    ("script", "said"), [("echo 'no such stack'; exit 1\n", "no such stack"), ("exit 1\n", "failed")]
)
def test_a_failure_without_an_error_line_says_what_it_printed_last(
    tmp_path: Path, script: str, said: str
) -> None:
    env = fake_pulumi(
        tmp_path, "echo first; echo '   '; " + script if said != "failed" else script
    )  # blank: skipped
    with pytest.raises(GitopsError) as exc:
        PulumiCli("dev", tmp_path, env).json("stack", "history")
    assert str(exc.value) == f"pulumi stack --stack dev: {said}"


def test_without_pulumi_on_path_nothing_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    cli = PulumiCli("dev", tmp_path, env)
    assert cli.available() == "pulumi is not on PATH (. scripts/env.sh puts it there)"
    with pytest.raises(GitopsError, match=r"^pulumi is not on PATH \(\. scripts/env\.sh puts it there\)$"):
        cli.run("up")
    assert PulumiCli("dev", tmp_path, fake_pulumi(tmp_path, "")).available() is None


def test_the_processes_own_environment_is_used_when_none_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = fake_pulumi(tmp_path, 'echo "$MARK"\n')
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setenv("MARK", "inherited")
    cli = PulumiCli("dev", tmp_path)
    assert cli.available() is None and cli.run("whoami") == "inherited\n"


def test_a_pulumi_that_does_not_answer_in_time_is_one_error(tmp_path: Path) -> None:
    env = fake_pulumi(tmp_path, "exec sleep 30\n")
    with pytest.raises(GitopsError) as exc:
        PulumiCli("dev", tmp_path, env).run("preview", timeout=1)
    assert str(exc.value) == "pulumi preview --stack dev: not done after 1 s, stopped"
