"""Credentials out of every text the project shows or keeps (logs, state, status, the status page).

One function for every form a credential takes in an error or a URL:

- the user part of a URL: `https://user:token@host`, `https://token@host` -> `https://***@host`;
- a credential in a query or `key=value` text: `?token=abc`, `&access_token=abc`, `password=abc`,
  `client_secret=abc`, `api_key=abc` -> `token=***`, ...;
- an HTTP Authorization header (`Authorization: Bearer abc`, `AUTHORIZATION: basic abc` as Git
  prints `http.extraHeader`, `"authorization": "token abc"` in JSON) -> `Authorization: Bearer ***`;
- the value of every environment variable whose name says secret (SECRET, TOKEN, PASSWORD,
  PASSPHRASE, CREDENTIAL, PRIVATE, API_KEY), wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["MASK", "redact", "secret_name"]

MASK = "***"
_SECRET_NAME = re.compile(
    r"PASSPHRASE|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY", re.IGNORECASE
)
# Shorter values are too common as plain words ("true", "dev") to be replaced everywhere.
_MIN_SECRET_LENGTH = 4
_URL_USER = re.compile(r"(?<=://)[^/@\s'\"]+@")
_KEY_VALUE = re.compile(
    r"(?P<key>\b[\w.-]*(?:token|password|passwd|pwd|secret|passphrase|api_?key|credentials?)=)"
    r"(?P<value>[^\s&;,'\"]+)",
    re.IGNORECASE,
)
_AUTHORIZATION = re.compile(
    r"(?P<header>\bauthorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest)\s+)?)"
    r"(?P<value>[^\s'\"]+)",
    re.IGNORECASE,
)


def secret_name(name: str) -> bool:
    """Whether an environment variable's name says that its value is a secret."""
    return bool(_SECRET_NAME.search(name))


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with every credential replaced by *** (see the module doc); `env` are the variables
    whose secret-named values are removed too (the process's environment, as the caller has it)."""
    for name, value in (env or {}).items():
        if len(value) >= _MIN_SECRET_LENGTH and secret_name(name):
            text = text.replace(value, MASK)
    text = _URL_USER.sub(f"{MASK}@", text)
    text = _AUTHORIZATION.sub(lambda m: m["header"] + MASK, text)
    return _KEY_VALUE.sub(lambda m: m["key"] + MASK, text)
