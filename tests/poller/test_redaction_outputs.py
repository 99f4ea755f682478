"""No credential reaches any output of the poller: its log, its state, its Outcomes and Git errors."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from eoepca_gitops.devcluster.ports import free_port
from eoepca_gitops.errors import SourceError
from eoepca_gitops.poller.automation import AutomationSettings, StackAutomation
from eoepca_gitops.poller.conditions import Reason
from eoepca_gitops.poller.log import configure, log, log_event
from eoepca_gitops.poller.source import Checkout, RemoteBranch
from eoepca_gitops.poller.state import StackState, StateStore

TOKEN = "ghp_s3cr3tvalue"
# One text with every credential form: URL user parts, query and key=value forms, a header, and the
# value of a secret-named variable on its own.
LEAKY = (
    f"https://bob:{TOKEN}@git.example/r.git https://{TOKEN}@git.example/r.git "
    f"https://git.example/r.git?token={TOKEN} password={TOKEN} Authorization: Bearer {TOKEN} "
    f"passphrase {TOKEN}"
)
SHOWN = (
    "https://***@git.example/r.git https://***@git.example/r.git "
    "https://git.example/r.git?token=*** password=*** Authorization: Bearer *** "
    "passphrase ***"
)


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_TOKEN", TOKEN)


def test_an_outcome_message_is_redacted() -> None:
    automation = StackAutomation("dev", AutomationSettings(env={"GIT_TOKEN": TOKEN}))
    out = automation._fail(OSError(f"error: {LEAKY}"), time.monotonic())
    assert (out.ok, out.reason, out.message) == (False, Reason.UPDATE_FAILED, f"error: {SHOWN}")


@pytest.mark.usefixtures("secret_env", "logging_restored")
def test_every_log_line_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure("INFO")  # on the stderr capsys captures
    log_event("update-failed", stack="dev", error=LEAKY)
    logging.getLogger("lightkube").warning("GET %s", LEAKY)
    try:
        raise RuntimeError(LEAKY)
    except RuntimeError:
        log.exception("job crashed")
    err = capsys.readouterr().err
    assert TOKEN not in err
    first, second, third = (json.loads(line)["log"] for line in err.splitlines())
    assert first == {"event": "update-failed", "stack": "dev", "error": SHOWN}
    assert second == {"logger": "lightkube", "text": f"GET {SHOWN}"}
    assert third["exception"].endswith(f"RuntimeError: {SHOWN}")


@pytest.mark.usefixtures("logging_restored")
def test_a_log_line_holds_no_control_character(capsys: pytest.CaptureFixture[str]) -> None:
    """JSON escapes every control character but DEL (found by the fuzzer): no raw one reaches a terminal."""
    configure("INFO")
    log_event("update-failed", stack="dev", error="a\x7f\x1b[2Jb")
    logging.getLogger("lightkube").warning("GET a\x7fb")
    err = capsys.readouterr().err
    assert not any(ord(c) < 32 or ord(c) == 127 for c in err.replace("\n", ""))
    first, second = (json.loads(line)["log"] for line in err.splitlines())
    assert (first["error"], second["text"]) == ("a\x7f\x1b[2Jb", "GET a\x7fb")


@pytest.mark.usefixtures("secret_env")
def test_the_state_file_holds_no_credential(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    StateStore(path).put(StackState(stack="dev", last_error=LEAKY, notes=(LEAKY,)))
    assert TOKEN not in path.read_text()
    stored = StateStore(path).get("dev")
    assert (stored.last_error, stored.notes) == (SHOWN, (SHOWN,))


def test_git_errors_show_no_credential(tmp_path: Path) -> None:
    url = f"http://bob:{TOKEN}@127.0.0.1:{free_port()}/r.git?access_token={TOKEN}"
    with pytest.raises(SourceError) as listing:
        RemoteBranch(url, "main", timeout=10).current_commit()
    with pytest.raises(SourceError) as fetching:
        Checkout(url, "main", tmp_path / "cache", timeout=10).worktree("a" * 40)
    for exc in (listing.value, fetching.value):
        assert TOKEN not in str(exc)
        assert "/r.git?access_token=***" in str(exc)
    assert str(listing.value).startswith("git ls-remote http://***@127.0.0.1:")
    assert str(fetching.value).startswith(f"fetching {'a' * 12} failed: ")


@pytest.mark.usefixtures("logging_restored")
def test_a_secret_equal_to_a_stack_name_leaves_the_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The local stack's documented passphrase is `local`: its state and log still name the stack."""
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "local")
    path = tmp_path / "state.json"
    StateStore(path).put(StackState(stack="local", last_error="decrypting with local failed"))
    stored = json.loads(path.read_text())["stacks"]
    assert list(stored) == ["local"]
    assert (stored["local"]["stack"], stored["local"]["last_error"]) == (
        "local",
        "decrypting with *** failed",
    )
    configure("INFO")
    log_event("update", stack="local", error="decrypting with local failed")
    line = json.loads(capsys.readouterr().err)["log"]
    assert line == {"event": "update", "stack": "local", "error": "decrypting with *** failed"}
