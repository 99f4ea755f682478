"""The one rule for credentials: each is a Pulumi secret or a Kubernetes Secret reference, never
plain text, and none is ever shown.

- `plain_credential(text)`: which kind of credential a plain-text value holds, if any. The loader
  refuses every such value of a stack file or Pulumi config (any key) and of a block file (all but
  a chart's own `values`, which the chart reads as it likes), and `poll --repo` refuses one too.
- `redact(text, secrets)`: the same forms, any `name=value` whose name says secret, and the given
  secret values, replaced by `***`; `redact_value` for every string of a JSON-like value. Whatever
  is printed, logged, kept in a state file or served (the status page, /metrics) passes through
  them.
- `secret_name(name)`: an environment variable or key whose name says it holds a secret;
  `env_secrets(env)` the values of such variables, for `redact`.

The forms: a URL's user part (`https://user:token@host`, `https://token@host`; an ssh URL's user
is whom to log in as, not a credential), a credential in a URL's query (`?token=`, `&password=`,
`sig=`, `X-Amz-Signature=` ...), an Authorization header or a bearer token, a webhook URL whose
path is its secret (Slack, Microsoft Teams, Discord, Telegram), a private key. A part made only of
`${var}` references (Flux substitution) is a reference, not a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "MASK",
    "env_secrets",
    "find_plain_credential",
    "plain_credential",
    "redact",
    "redact_value",
    "secret_name",
]

MASK = "***"
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git", "sftp"})
_REFERENCE = re.compile(r"\$\{[^}]*\}")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<user>[^/?#@\s]+)@")
_QUERY_NAMES = (
    "access_token|private_token|refresh_token|id_token|token|password|passwd|pwd|passphrase|secret|"
    "client_secret|api_key|apikey|key|sig|signature|x-amz-signature|x-amz-credential|"
    "x-amz-security-token|x-goog-signature|auth|authorization"
)
_QUERY = re.compile(rf"(?i)(?P<name>[?&;](?:{_QUERY_NAMES})=)(?P<value>[^&#\s\"'<>]+)")
_AUTH_HEADER = re.compile(
    r"(?i)(?P<name>\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:(?:basic|bearer|token|digest|negotiate)\s+)?)"
    r"(?P<value>[^\s\"',;]+)"
)
_BEARER = re.compile(r"(?i)(?P<name>\bbearer\s+)(?P<value>[A-Za-z0-9\-._~+/]{8,}=*)")
_WEBHOOK = re.compile(
    r"(?i)(?P<name>https?://(?:hooks\.slack\.com/(?:services|workflows|triggers)/|"
    r"[\w.-]*webhook\.office\.com/webhook\w*/|outlook\.office\.com/webhook/|"
    r"(?:discord|discordapp)\.com/api/webhooks/|api\.telegram\.org/bot))(?P<value>[^\s\"'<>]+)"
)
_PRIVATE_KEY = re.compile(
    r"(?P<name>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?P<value>.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$))",
    re.DOTALL,
)
# In free text (error messages, logs): `password=...`, `PGPASSWORD=...`, `token: ...`.
_ASSIGNMENT = re.compile(
    r"(?i)(?P<name>\b[\w.-]*(?:password|passwd|pwd|passphrase|secret|token|api_?key|credentials?)[\w.-]*\s*[=:]\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&\"'}\]]+)"
)
_SECRET_NAME = re.compile(
    r"PASSPHRASE|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY", re.IGNORECASE
)
# Shorter values are too common as plain words ("true", "dev") to be replaced everywhere.
_MIN_SECRET_LENGTH = 4
# What plain_credential reports, by pattern (the URL user part is judged on its own).
_KINDS = (
    (_QUERY, "a credential in a URL's query"),
    (_AUTH_HEADER, "an Authorization header"),
    (_BEARER, "a bearer token"),
    (_WEBHOOK, "a webhook URL, whose path is its secret"),
    (_PRIVATE_KEY, "a private key"),
)


def _is_reference(text: str) -> bool:
    return not _REFERENCE.sub("", text).strip(":")


def _user_is_credential(match: re.Match[str]) -> bool:
    user = match["user"]
    if _is_reference(user):
        return False
    return ":" in user or match["scheme"].lower() not in _SSH_SCHEMES


def plain_credential(text: str) -> str | None:
    """The kind of credential `text` holds in plain text, or None."""
    if any(_user_is_credential(m) for m in _USERINFO.finditer(text)):
        return "a credential in a URL's user part"
    for pattern, kind in _KINDS:
        if any(not _is_reference(m["value"]) for m in pattern.finditer(text)):
            return kind
    return None


def find_plain_credential(value: Any, path: str = "") -> tuple[str, str] | None:
    """(key path such as `poller.env.TOKEN` or `items[2]`, kind) of the first plain-text credential
    among the strings of a loaded YAML value, or None."""
    for where, text in _strings(value, path):
        kind = plain_credential(text)
        if kind:
            return where, kind
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _mask(match: re.Match[str]) -> str:
    return match["name"] + MASK


def _mask_user(match: re.Match[str]) -> str:
    return f"{match['scheme']}://{MASK}@" if _user_is_credential(match) else match[0]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret value given and every credential form above replaced by ***."""
    for value in sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _USERINFO.sub(_mask_user, text)
    for pattern in (_PRIVATE_KEY, _WEBHOOK, _QUERY, _AUTH_HEADER, _BEARER, _ASSIGNMENT):
        text = pattern.sub(_mask, text)
    return text


def redact_value(value: Any, secrets: Iterable[str] = (), keep: frozenset[str] = frozenset()) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every string redacted (`redact`), except the
    keys of mappings and the strings under the keys in `keep`: identifiers the program made (a stack's
    name, a revision), which a secret value that happens to equal a plain word (a passphrase `local`
    for the stack `local`) must not overwrite, or the document no longer says what it is about."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {
            k: v if k in keep and isinstance(v, str) else redact_value(v, secrets, keep)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets, keep) for v in value]
    return value


def env_secrets(env: Mapping[str, str]) -> list[str]:
    """The values of `env`'s secret-named variables (the process's environment, as a caller has it)."""
    return [value for name, value in env.items() if secret_name(name)]


def secret_name(name: str) -> bool:
    """True for a name that says its value is a secret (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, ...)."""
    return bool(_SECRET_NAME.search(name))
