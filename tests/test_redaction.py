"""Every credential form, redacted: each case a text as a tool prints it and the literal text shown."""

from __future__ import annotations

import json

import pytest

from eoepca_gitops.credentials import (
    env_secrets,
    plain_credential,
    redact,
    redact_value,
    secret_name,
    shown_json,
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # the user part of a URL, with or without a password, anywhere in the text
        ("https://alice:ghp_abc123@github.com/x.git", "https://***@github.com/x.git"),
        ("https://ghp_abc123@github.com/x.git", "https://***@github.com/x.git"),
        (
            "fatal: unable to access 'https://u:p4ss@h/r/': 403",
            "fatal: unable to access 'https://***@h/r/': 403",
        ),
        (
            'url "http://u:p4ss@h:8080/r" and ssh://git@host/r',
            'url "http://***@h:8080/r" and ssh://git@host/r',  # an ssh URL's user is whom to log in as
        ),
        ("two: https://a:b@h1/ https://c@h2/", "two: https://***@h1/ https://***@h2/"),
        # an @ in the path is no credential
        ("https://host/users/@me", "https://host/users/@me"),
        # credentials in a query or as key=value
        ("https://h/r.git?token=abc123", "https://h/r.git?token=***"),
        ("https://h/x?ref=main&access_token=abc123&x=1", "https://h/x?ref=main&access_token=***&x=1"),
        ("password=hunter22 user=bob", "password=*** user=bob"),
        ("PASSWORD=hunter22;next", "PASSWORD=***;next"),
        ("client_secret=s3cr3t, passwd=abc1, pwd=abc2", "client_secret=***, passwd=***, pwd=***"),
        ("api_key=k1234 apikey=k5678 credentials=c9", "api_key=*** apikey=*** credentials=***"),
        ("sig=abc&X-Amz-Security-Token=tok1", "sig=abc&X-Amz-Security-Token=***"),
        ("passphrase=rc-1234 'token=abc'", "passphrase=*** 'token=***'"),
        # HTTP Authorization headers, the scheme kept
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***"),
        (
            "-c http.extraHeader=AUTHORIZATION: basic dXNlcjpwYXNz",
            "-c http.extraHeader=AUTHORIZATION: basic ***",
        ),
        ('"authorization":"token abc123"', '"authorization":"token ***"'),
        ("authorization=abc123 rest", "authorization=*** rest"),
        # nothing to redact
        ("error: connection refused", "error: connection refused"),
        # `name: value` too (YAML quoted in an error): a word may be lost, never a credential
        ("token: not set", "token: *** set"),
        ("", ""),
    ],
)
def test_every_credential_form_is_redacted(text: str, shown: str) -> None:
    assert redact(text) == shown


ENV = {
    "GITHUB_TOKEN": "ghp_tokenvalue",
    "AWS_SECRET_ACCESS_KEY": "awsSecretValue",
    "PULUMI_CONFIG_PASSPHRASE": "rc-passphrase",
    "DB_PASSWORD": "pw-value",
    "GOOGLE_CREDENTIALS": "{json-creds}",
    "SSH_PRIVATE_KEY": "-----KEY-----",
    "OPENAI_API_KEY": "sk-apikey",
    "MAPS_APIKEY": "mapskey1",
    "MY_PASSWD": "passwd-1",
    "SHORT_TOKEN": "abc",  # too short to replace everywhere
    "EMPTY_SECRET": "",
    "HOME": "/home/poller",  # not a secret name
    "AWS_ACCESS_KEY_ID": "AKIAVISIBLE",  # an id, not a secret
}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ghp_tokenvalue", "***"),
        ("awsSecretValue", "***"),
        ("rc-passphrase", "***"),
        ("pw-value", "***"),
        ("{json-creds}", "***"),
        ("-----KEY-----", "***"),
        ("sk-apikey", "***"),
        ("mapskey1", "***"),
        ("passwd-1", "***"),
        ("abc", "abc"),
        ("/home/poller", "/home/poller"),
        ("AKIAVISIBLE", "AKIAVISIBLE"),
    ],
)
def test_values_of_secret_named_variables_are_redacted_wherever_they_appear(value: str, shown: str) -> None:
    assert redact(f"before {value} after {value}", env_secrets(ENV)) == f"before {shown} after {shown}"


def test_a_four_character_secret_is_long_enough() -> None:
    assert redact("x abcd y", env_secrets({"A_TOKEN": "abcd"})) == "x *** y"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("GITHUB_TOKEN", True),
        ("aws_secret_access_key", True),
        ("PULUMI_CONFIG_PASSPHRASE", True),
        ("DB_PASSWORD", True),
        ("MY_PASSWD", True),
        ("GOOGLE_CREDENTIALS", True),
        ("SSH_PRIVATE_KEY", True),
        ("OPENAI_API_KEY", True),
        ("MAPS_APIKEY", True),
        ("HOME", False),
        ("AWS_ACCESS_KEY_ID", False),
        ("PULUMI_BACKEND_URL", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret


def test_a_longer_secret_holding_a_shorter_one_is_replaced_whole() -> None:
    # "tok-9" sorts after "a-tok-9" and is shorter: replaced first, it would leave "a-***" behind
    assert redact("key a-tok-9 end", ["tok-9", "a-tok-9"]) == "key *** end"
    assert redact("key a-tok-9 end", ["a-tok-9", "tok-9"]) == "key *** end"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # a password with a space or a tab, as urlsplit reads the URL
        ("git clone https://ci:pass word@h/r.git", "git clone https://***@h/r.git"),
        ("url https://ci:pa\tss@h/r", "url https://***@h/r"),
        # the last `@` ends the user part, as urlsplit has it
        ("https://u:p@ss@h/r", "https://***@h/r"),
        # prose with a URL and an address is no URL with a user part
        (
            "see https://eoepca.org, or write to ops@eoepca.org",
            "see https://eoepca.org, or write to ops@eoepca.org",
        ),
        # `key: value` only for a credential's key, never a path, a key name or prose
        ("DB_PASSWORD: hunter22 next", "DB_PASSWORD: *** next"),
        ("client-secret: s3cr3t", "client-secret: ***"),
        ("passwd.yaml: a symlink to /etc/passwd", "passwd.yaml: a symlink to /etc/passwd"),
        (
            "Pulumi.x.yaml: eoepca-gitops:gitPassword: given in plain text",
            "Pulumi.x.yaml: eoepca-gitops:gitPassword: given in plain text",
        ),
        ("its secret gitSshPrivateKey: pulumi config set", "its secret gitSshPrivateKey: pulumi config set"),
        ("sealed secrets: clusters/x/ holds them", "sealed secrets: clusters/x/ holds them"),
        # a value ends with its line: JSON's `"...a token:",` and the next line's key are no value
        (
            '"text": "a user and a token:",\n  "commands": [',
            '"text": "a user and a token:",\n  "commands": [',
        ),
        ("token:\n  'abc'", "token:\n  'abc'"),
        ("step secret:cacheAccessSecret", "step secret:cacheAccessSecret"),
        # what the user fills in or Flux substitutes is no secret
        ("--from-file=password=<DB_PASSWORD_FILE>", "--from-file=password=<DB_PASSWORD_FILE>"),
        ("password=${PW} next", "password=${PW} next"),
    ],
)
def test_credentials_are_found_by_structure(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_a_secret_named_key_is_masked_in_a_document_and_a_masked_value_stays() -> None:
    doc = {
        "DB_PASSWORD": "hunter22",
        "apiKey": "k",
        "secretRef": "name",
        "changed": {"token": "*** (changed)"},
    }
    assert redact_value(doc) == {
        "DB_PASSWORD": "***",
        "apiKey": "***",
        "secretRef": "name",
        "changed": {"token": "*** (changed)"},
    }


@pytest.mark.parametrize(
    "shape", ["a", "a.", "a://", "@", "password=", "-----BEGIN ", "${", "authorization: ", "bearer "]
)
def test_scanning_a_long_adversarial_value_is_linear(shape: str) -> None:
    """The patterns never try a position twice (bench scenario 14 measures it): a megabyte of each
    shape that made the former patterns backtrack is scanned at all (no timing asserted here)."""
    text = shape * (1_000_000 // len(shape))
    assert len(redact(text)) <= len(text) + 3
    assert plain_credential(text) in (None, "an Authorization header")


def test_json_shown_stays_json_with_every_credential_masked() -> None:
    """Found by new-cluster --json (a step's text ending `token:`): masked as text, JSON was cut
    across its quotes; each string is redacted on its own."""
    doc = {
        "text": "a user and a token:",
        "run": 'git clone https://ci:pass word@h/r.git; echo "password=x\\"y"',
        "secret": "cacheAccessSecret",  # a key's name: the caller's to mask a document's keys
        "odd": "\x7f\x1b[2J",
    }
    text = shown_json(doc, indent=2)
    assert json.loads(text) == {
        "text": "a user and a token:",
        "run": 'git clone https://***@h/r.git; echo "password=***"y"',
        "secret": "cacheAccessSecret",
        "odd": "\x7f\x1b[2J",
    }
    assert not any(ord(c) < 32 or ord(c) == 127 for c in text.replace("\n", ""))
