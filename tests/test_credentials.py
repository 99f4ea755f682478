"""The one credential rule: which plain-text values hold a credential, and what redaction leaves."""

from __future__ import annotations

import json
import logging
from io import StringIO

import pytest
from rich.console import Console

from eoepca_gitops.cli.status import print_cluster_status
from eoepca_gitops.credentials import find_plain_credential, plain_credential, redact, redact_value
from eoepca_gitops.operations.page import page_html
from eoepca_gitops.poller.log import log_event
from eoepca_gitops.poller.metrics import Metrics
from eoepca_gitops.poller.state import StackState
from tests.operations.test_status import FOUND, cluster_status, flux

SECRET = "s3cr3t-Tok3n-9f2c"

CREDENTIALS = [
    (f"https://user:{SECRET}@github.com/org/repo", "user part"),
    (f"https://{SECRET}@github.com/org/repo", "user part"),
    (f"postgres://app:{SECRET}@db:5432/x", "user part"),
    (f"ssh://git:{SECRET}@github.com/org/repo", "user part"),
    (f"https://example.org/repo.git?token={SECRET}", "query"),
    (f"https://example.org/x?a=1&password={SECRET}", "query"),
    (f"https://acct.blob.core.windows.net/c?sv=2020&sig={SECRET}", "query"),
    (f"https://s3.example.org/b/k?X-Amz-Signature={SECRET}", "query"),
    (f"Authorization: Basic {SECRET}", "Authorization header"),
    (f"authorization=Bearer {SECRET}", "Authorization header"),
    (f"Bearer {SECRET}", "bearer token"),
    (f"https://hooks.slack.com/services/T000/B000/{SECRET}", "webhook"),
    (f"https://discord.com/api/webhooks/123/{SECRET}", "webhook"),
    (f"https://example.webhook.office.com/webhookb2/{SECRET}", "webhook"),
    (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n-----END OPENSSH PRIVATE KEY-----", "private key"),
]
NOT_CREDENTIALS = [
    "ssh://git@github.com/org/repo",
    "https://github.com/org/repo",
    "s3://state?endpoint=127.0.0.1:9000&region=us-east-1&s3ForcePathStyle=true",
    "https://${user}:${password}@example.org/x",
    "https://example.org/x?token=${TOKEN}",
    'Bearer realm="https://portal.example.org/oidc/authenticate/"',
    "gitSshPrivateKey",
    "user@example.org",
]


@pytest.mark.parametrize(("text", "kind"), CREDENTIALS)
def test_plain_credentials_are_found_and_redacted(text: str, kind: str) -> None:
    found = plain_credential(text)
    assert found is not None and kind in found
    assert SECRET not in redact(text)
    assert SECRET not in redact(f"error: cloning {text} failed")


@pytest.mark.parametrize("text", NOT_CREDENTIALS)
def test_what_is_not_a_credential_passes(text: str) -> None:
    assert plain_credential(text) is None


def test_redact_keeps_what_is_not_secret() -> None:
    assert redact("ssh://git@github.com/org/repo") == "ssh://git@github.com/org/repo"
    assert redact(f"https://u:{SECRET}@h/x") == "https://***@h/x"
    assert redact(f"PGPASSWORD={SECRET} psql") == "PGPASSWORD=*** psql"
    assert redact(f"the value {SECRET} leaked", [SECRET]) == "the value *** leaked"


def test_find_names_the_key() -> None:
    value = {"git": {"url": "https://x.org/r"}, "poller": {"env": {"A": [f"https://t:{SECRET}@x.org"]}}}
    assert find_plain_credential(value) == ("poller.env.A[0]", "a credential in a URL's user part")
    assert find_plain_credential(["ok", f"Bearer {SECRET}"]) == ("[1]", "a bearer token")
    assert find_plain_credential(f"Bearer {SECRET}") == ("", "a bearer token")
    assert find_plain_credential({"a": [1, None, "ok"]}) is None


def test_log_lines_and_state_documents_never_hold_a_credential(caplog: pytest.LogCaptureFixture) -> None:
    url = f"https://x.org/r?access_token={SECRET}"
    with caplog.at_level(logging.INFO, logger="eoepca_gitops.poller"):
        log_event("failed", error=f"fetch {url}: denied", urls=[url])
    assert SECRET not in caplog.text
    json.loads(caplog.records[-1].getMessage())  # still one JSON object
    state = StackState(
        stack="s", last_error=f"git ls-remote {url}", notes=(f"Authorization: Bearer {SECRET}",)
    )
    assert SECRET not in json.dumps(state.to_json())
    assert SECRET not in json.dumps(redact_value({"a": [url, {"b": url}]}))


def test_status_page_table_json_and_metrics_never_show_a_credential() -> None:
    found = dict(FOUND)
    for form, _ in CREDENTIALS:
        found[("HelmRelease", "demo", "eoepca-portal")] = flux(
            "HelmRelease", "demo", "eoepca-portal", "False", "InstallFailed", f"fetching {form} failed"
        )
        status = cluster_status(found)
        table = StringIO()
        print_cluster_status(status, Console(file=table, width=300))
        assert SECRET not in page_html([(status, [])])
        assert SECRET not in table.getvalue()
        assert SECRET not in json.dumps(redact_value(status.to_json()))
    metrics = Metrics()
    metrics.observe(
        StackState(stack="s", applied_revision="0" * 40, last_error=CREDENTIALS[0][0], drift=True)
    )
    assert SECRET not in metrics.render().decode()


def test_a_reference_beside_plain_text_is_a_credential() -> None:
    # only `${...}` references and the `:` between them make a reference; any other character is text
    text = "https://${user}:XXXX@example.org/r"
    assert plain_credential(text) == "a credential in a URL's user part"
    assert redact(text) == "https://***@example.org/r"
    assert plain_credential("https://${user}:@example.org/r") is None


def test_identifiers_the_program_made_are_kept_at_any_depth() -> None:
    # the passphrase `local` of the stack `local`: its name stays, the word in free text does not
    state = {"stack": "local", "runs": [{"stack": "local", "message": "passphrase local refused"}]}
    assert redact_value(state, ["local"], frozenset({"stack"})) == {
        "stack": "local",
        "runs": [{"stack": "local", "message": "passphrase *** refused"}],
    }
