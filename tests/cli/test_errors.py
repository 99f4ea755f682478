"""The one error path of every command (cli/common.py): a GitopsError is one `error:` line on stderr
and exit code 2, printed as written; a bad duration option is refused by the option's parser."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer._click.exceptions import ClickException
from typer.testing import CliRunner

from eoepca_gitops.cli.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    Commands,
    duration,
    fail,
    literal,
    reported,
    say,
)
from eoepca_gitops.cli.main import app
from eoepca_gitops.cli.stacks import load
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.project import find_project, stack_file

runner = CliRunner()


def test_exit_codes() -> None:
    assert (EXIT_OK, EXIT_CHANGES, EXIT_ERROR) == (0, 1, 2)


def test_a_gitops_error_is_one_line_and_exit_2() -> None:
    cli = typer.Typer()

    @cli.command()
    @reported
    def fails() -> None:
        raise GitopsError("[bold]Pulumi.x.yaml[/bold]: key: not valid")

    @cli.command()
    @reported
    def works() -> None:
        typer.echo("done")

    result = runner.invoke(cli, ["fails"])
    assert (result.exit_code, result.stderr, result.stdout) == (
        2,
        "error: [bold]Pulumi.x.yaml[/bold]: key: not valid\n",  # user text is no terminal markup
        "",
    )
    assert (runner.invoke(cli, ["works"]).stdout, runner.invoke(cli, ["works"]).exit_code) == ("done\n", 0)


def test_any_other_exception_is_a_bug_and_keeps_its_traceback() -> None:
    @reported
    def broken() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        broken()


@pytest.mark.parametrize(("text", "seconds"), [("10s", 10.0), ("1m0s", 60.0), ("1.5h", 5400.0), ("0", 0.0)])
def test_a_duration_option_takes_go_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds
    assert duration(seconds) == seconds  # a default, already parsed


def test_a_bad_duration_option_is_refused_with_its_grammar() -> None:
    with pytest.raises(typer.BadParameter) as info:
        duration("10 seconds")
    assert str(info.value) == "'10 seconds' is not a Go duration such as '1m0s', '30s' or '1h'"
    result = runner.invoke(
        app, ["poll", "--repo", "https://h/r.git", "--stack", "s", "--interval", "1 minute"]
    )
    assert result.exit_code == 2
    assert "Invalid value for '--interval': '1 minute' is not a Go duration" in result.stderr


def test_the_project_is_the_nearest_folder_with_pulumi_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project(deep) == tmp_path
    assert find_project(tmp_path) == tmp_path
    monkeypatch.chdir(deep)
    assert find_project() == tmp_path


def test_no_project_is_an_error_naming_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(GitopsError) as info:
        find_project(tmp_path)
    assert str(info.value) == (
        f"no Pulumi.yaml in {tmp_path} or its parents: run this inside the eoepca-gitops project"
    )


def test_an_unknown_stack_names_the_stacks_there(tmp_path: Path) -> None:
    with pytest.raises(GitopsError) as none:
        load("prod", tmp_path)
    assert str(none.value) == "Pulumi.prod.yaml: no such stack file (stacks here: none)"
    for name in ("Pulumi.b.yaml", "Pulumi.a.yaml", "Pulumi.yaml"):
        (tmp_path / name).write_text("config: {}\n")
    with pytest.raises(GitopsError) as some:
        load("prod", tmp_path)
    assert str(some.value) == "Pulumi.prod.yaml: no such stack file (stacks here: a, b)"


def test_a_command_reports_an_unknown_stack_as_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    result = runner.invoke(
        app, ["render", "--stack", "nope", "--out", str(tmp_path / "o"), "--project", str(tmp_path)]
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: Pulumi.nope.yaml: no such stack file (stacks here: none)\n",
    )


def test_an_error_message_is_one_line_whatever_it_holds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as info:
        fail("Pulumi.x.yaml: key: first\nsecond\tthird \x1b[2J")
    assert info.value.exit_code == 2
    assert capsys.readouterr().err == "error: Pulumi.x.yaml: key: first\\nsecond\\tthird \\x1b[2J\n"


def test_called_not_standalone_the_command_group_raises_instead_of_exiting() -> None:
    command = typer.main.get_command(app)
    with pytest.raises(typer.TyperException, match="No such option: --no-such-option"):
        command.main(["--no-such-option"], standalone_mode=False)


@pytest.mark.parametrize("name", ["prod", "a", "dev.eu-1_b", "_x", "a" * 100])
def test_a_stack_name_pulumi_accepts_is_a_file_of_the_project(name: str, tmp_path: Path) -> None:
    assert stack_file(tmp_path, name) == tmp_path / f"Pulumi.{name}.yaml"


@pytest.mark.parametrize("name", ["", "../x", ".hidden", "a/b", "a b", "a" * 101, "prod\n"])
def test_any_other_stack_name_is_refused_naming_the_option(name: str, tmp_path: Path) -> None:
    with pytest.raises(GitopsError) as info:
        stack_file(tmp_path, name)
    assert str(info.value) == (
        f"--stack {name!r}: not a stack name (letters, digits, '-', '_' and '.', at most 100)"
    )
    with pytest.raises(GitopsError, match=r"^NAME '\.\./x': not a stack name"):
        stack_file(tmp_path, "../x", "NAME")


def test_a_usage_error_is_one_line_naming_the_help_to_read(capsys: pytest.CaptureFixture[str]) -> None:
    command = typer.main.get_command(app)
    with pytest.raises(SystemExit) as info:
        command.main(["poll", "--bogus"], prog_name="eoepca-gitops")
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: No such option: --bogus (see `eoepca-gitops poll --help`)\n"
    result = runner.invoke(app, ["nosuch"])
    assert (result.exit_code, result.stderr) == (2, "error: No such command 'nosuch'. (see `root --help`)\n")


def _group() -> typer.Typer:
    cli = typer.Typer(cls=Commands)

    @cli.command()
    def stop() -> None:
        raise typer.Abort()

    @cli.command()
    def returns() -> str:
        return "a value, not an exit code"

    @cli.command()
    def changes() -> int:
        return EXIT_CHANGES

    @cli.command()
    def refuses() -> None:
        raise typer.BadParameter("not a region")

    @cli.command()
    def broke() -> None:
        raise ClickException("the terminal went away")  # click's own kind, without a command context

    return cli


def test_a_parameter_refused_by_the_command_is_one_line_naming_its_help() -> None:
    result = runner.invoke(_group(), ["refuses"])
    assert (result.exit_code, result.stderr, result.stdout) == (
        2,
        "error: Invalid value: not a region (see `root refuses --help`)\n",
        "",
    )


def test_an_error_without_a_command_context_is_one_line_without_help() -> None:
    result = runner.invoke(_group(), ["broke"])
    assert (result.exit_code, result.stderr, result.stdout) == (1, "error: the terminal went away\n", "")


def test_an_abort_is_one_line_and_exit_1() -> None:
    result = runner.invoke(_group(), ["stop"])
    assert (result.exit_code, result.stderr, result.stdout) == (1, "aborted\n", "")


def test_a_command_returns_its_exit_code_or_exits_0() -> None:
    assert runner.invoke(_group(), ["changes"]).exit_code == 1
    result = runner.invoke(_group(), ["returns"])
    assert (result.exit_code, result.stderr, result.stdout) == (0, "", "")


def test_progress_lines_keep_their_newlines_and_escape_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    say("first\nsecond \x1b]0;title\x07")
    assert capsys.readouterr().err == "first\nsecond \\x1b]0;title\\x07\n"
    assert literal("a\nb\tc") == "a\nb\tc"
    assert literal("a\nb\tc", one_line=True) == "a\\nb\\tc"
