"""The one rule for credentials: each is a Pulumi secret or a Kubernetes Secret reference, never
plain text, and none is ever shown.

- `plain_credential(text)`: which kind of credential a plain-text value holds, if any. The loader
  refuses every such value of a stack file or Pulumi config (any key) and of a block file (all but
  a chart's own `values`, which the chart reads as it likes), `import` every such value of a tree
  it would write, and `poll --repo` refuses one too.
- `redact(text, secrets)`: the same forms, any `name=value` whose name says secret, and the given
  secret values, replaced by `***`; `redact_value` for every string of a JSON-like value, and the
  whole value of a key whose name says secret. Whatever is printed (eoepca_gitops.cli.common.shown),
  logged, kept in a state file or served (the status page, /metrics) passes through them.
- `secret_name(name)`: an environment variable or key whose name says it holds a secret;
  `env_secrets(env)` the values of such variables, for `redact`.
- `shown(text)`: what any message may show of a text, to a terminal or in a file a person reads
  (import-report.md): `redact`ed, and with control characters escaped (`literal`), so that a key or
  a name from a file or a cluster cannot move the cursor, clear or retitle the terminal.

The forms, found by structure: a URL's user part, as `urlsplit` reads it (`https://user:token@host`,
`https://token@host`, a password holding spaces or tabs; an ssh URL's user alone is whom to log in
as, not a credential), a credential in a URL's query (`?token=`, `&password=`, `sig=`,
`X-Amz-Signature=` ...), an Authorization header or a bearer token, a webhook URL whose path is its
secret (Slack, Microsoft Teams, Discord, Telegram), a private key. A part made only of `${var}`
references (Flux substitution) is a reference, not a credential.

Scanning is linear in the length of the text (a 10 MB value takes well under a second: bench 14):
URLs are found from their `://` and read up to where their authority ends, never twice; every
pattern starts at a literal or at the start of a run of name characters, and its repetitions are
possessive, so no regular expression tries a position again after failing there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

__all__ = [
    "MASK",
    "env_secrets",
    "find_plain_credential",
    "literal",
    "plain_credential",
    "redact",
    "redact_value",
    "secret_key",
    "secret_name",
    "shown",
]

MASK = "***"
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git", "sftp"})
# `[^}$]`: an unclosed `${` is read up to the next `$`, not to the end of the text each time.
_REFERENCE = re.compile(r"\$\{[^}$]*+\}")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_LONGEST_SCHEME = 32
# Where a URL's authority (user part and host) ends: a path, query or fragment, the end of the line,
# or what quotes or encloses the URL in a message. Spaces and tabs do not end it: a password may hold
# them (urlsplit reads `https://u:pass word@host` so).
_AUTHORITY_END = re.compile(r"[/?#\r\n\"'<>`\\]")
_QUERY_NAMES = (
    "access_token|private_token|refresh_token|id_token|token|password|passwd|pwd|passphrase|secret|"
    "client_secret|api_key|apikey|key|sig|signature|x-amz-signature|x-amz-credential|"
    "x-amz-security-token|x-goog-signature|auth|authorization"
)
# The patterns below read the text lower-cased (_lower: as long as the text, so that a match's span
# is the same in both), each from a literal that sre finds by fast search; `(?<![a-z0-9_]word)`
# after a word is the word boundary before it.
_URL = re.compile(r"://[^/?#\r\n\"'<>`\\@]*+@")  # a URL whose authority holds an `@`
_QUERY = re.compile(rf"[?&;](?:{_QUERY_NAMES})=(?P<value>[^&#\s\"'<>]++)")
_AUTH_HEADER = re.compile(
    r"authorization(?<![a-z0-9_]authorization)[\"']?\s*+[:=]\s*+[\"']?"
    r"(?:(?:basic|bearer|token|digest|negotiate)\s++)?(?P<value>[^\s\"',;]++)"
)
_BEARER = re.compile(r"bearer(?<![a-z0-9_]bearer)\s++(?P<value>[a-z0-9\-._~+/]{8,}+=*+)")
_WEBHOOK = re.compile(
    r"https?://(?:hooks\.slack\.com/(?:services|workflows|triggers)/|"
    r"[\w.-]*webhook\.office\.com/webhook\w*+/|outlook\.office\.com/webhook/|"
    r"(?:discord|discordapp)\.com/api/webhooks/|api\.telegram\.org/bot)(?P<value>[^\s\"'<>]++)"
)
_PRIVATE_KEY = re.compile(
    r"-----begin [a-z0-9 ]{0,40}?private key-----"
    r"(?P<value>.*?(?:-----end [a-z0-9 ]{0,40}?private key-----|$))",
    re.DOTALL,
)
# In free text (error messages, logs): `password=...`, `PGPASSWORD=...`, `token: ...`. finditer reads
# each run of name characters once, whole (the separator is optional, so a match never fails after
# reading a run), and the name is then judged by _SECRET_WORD; only a text holding one of
# _SECRET_WORDS is read so.
# A value in free text ends with its line: quotes on two lines are two strings' (JSON's `token:",`
# and the next key), not one value. `key: value` has a space after its colon, as YAML's (an id such
# as `secret:cacheAccessSecret` is no assignment).
_KEY_RUN = re.compile(r"[\w.-]++(?P<sep>[ \t]*+(?:=[ \t]*+|:[ \t]++))?")
_ASSIGNED_VALUE = re.compile(r"\$\{[^}$\n]*+\}|\"[^\"\n]*+\"|'[^'\n]*+'|[^\s,;&\"'}\]]++")
# A blank the program asks the user to fill (`--from-file=password=<DB_PASSWORD_FILE>`): no secret.
_BLANK = re.compile(r"<[A-Z0-9_]++>")
_SECRET_WORD = re.compile(r"password|passwd|pwd|passphrase|secret|token|api_?key|credential")
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "api", "credential")  # what _SECRET_WORD needs
_SECRET_WORDS_ALONE = frozenset({"password", "passwd", "pwd", "passphrase", "secret", "token", "apikey"})
_SECRET_NAME = re.compile(
    r"PASSPHRASE|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY", re.IGNORECASE
)
# What the name of a key holding a secret ends with, once lower-cased without `_` and `-`.
_SECRET_ENDINGS = tuple(
    f"{word}{plural}"
    for word in (
        "password",
        "passwd",
        "passphrase",
        "token",
        "secret",
        "secretkey",
        "apikey",
        "privatekey",
        "credential",
    )
    for plural in ("", "s")
)
# C0 and C1 control characters but tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
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


class _UserPart(NamedTuple):
    start: int  # of the user part, after `scheme://`
    end: int  # of the user part, at its `@`
    scheme: str


def _is_reference(text: str) -> bool:
    return not _REFERENCE.sub("", text).strip(":")


def _user_parts(text: str) -> Iterator[_UserPart]:
    """The user part of every URL in `text` that has one, as urlsplit reads a URL's authority."""
    for url in _URL.finditer(text):
        found = url.start()
        begin = found
        while begin > 0 and found - begin < _LONGEST_SCHEME and text[begin - 1] in _SCHEME_CHARS:
            begin -= 1
        while begin < found and not text[begin].isalpha():
            begin += 1
        start = found + 3
        ends = _AUTHORITY_END.search(text, url.end())
        end = ends.start() if ends else len(text)
        at = text.rfind("@", start, end)
        if begin == found or at <= start:
            continue
        user = text[start:at]
        if " " in user or "\t" in user:
            # Only `user:pass word@host` is a URL with spaces; `https://host, write to ops@x` is not.
            name, colon, _ = user.partition(":")
            host = text[at + 1 : end].split(None, 1)
            if not colon or not name or " " in name or "\t" in name or not host:
                continue
        yield _UserPart(start, at, text[begin:found])


def _user_is_credential(text: str, part: _UserPart) -> bool:
    user = text[part.start : part.end]
    if _is_reference(user):
        return False
    return ":" in user or part.scheme.lower() not in _SSH_SCHEMES


def _lower(text: str) -> str:
    """`text` lower-cased character for character (U+0130 is the one character whose lower case is
    two)."""
    return text.replace("\u0130", "i").lower()


def _assignments(text: str, low: str) -> Iterator[tuple[int, int]]:
    """(start, end) of the value of every `name=value` whose name holds a secret word, and of every
    `name: value` whose name is a credential's (`_colon_key`) and not namespaced (`ns:gitPassword:`)."""
    if not any(word in low for word in _SECRET_WORDS):
        return
    after = 0
    for run in _KEY_RUN.finditer(low):
        if run["sep"] is None or run.start() < after:
            continue
        if "=" in run["sep"]:
            if not _SECRET_WORD.search(low, run.start(), run.start("sep")):
                continue
        else:
            key = text[run.start() : run.start("sep")]
            if not _colon_key(key) or text[run.start() - 1 : run.start()] == ":":
                continue
        value = _ASSIGNED_VALUE.match(low, run.end())
        if value:
            after = value.end()
            found = text[value.start() : value.end()]
            if not (_is_reference(found) or _BLANK.fullmatch(found)):
                yield value.start(), value.end()


def _colon_key(key: str) -> bool:
    """Whether `key: value` in free text is a credential's: the key one secret word (`token`,
    `password`) or a compound one in one case (`DB_PASSWORD`, `client-secret`); not a path
    (`passwd.yaml`), a camelCase key name or prose (`its secret gitPassword: ...`, `sealed secrets:`)."""
    if key.lower() in _SECRET_WORDS_ALONE:
        return True
    compound = ("_" in key or "-" in key) and "." not in key and key in (key.lower(), key.upper())
    return compound and secret_key(key)


def plain_credential(text: str) -> str | None:
    """The kind of credential `text` holds in plain text, or None."""
    low = _lower(text)
    if any(_user_is_credential(text, part) for part in _user_parts(low)):
        return "a credential in a URL's user part"
    for pattern, kind in _KINDS:
        if any(not _is_reference(text[m.start("value") : m.end("value")]) for m in pattern.finditer(low)):
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


def _masked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with each span (start, end) replaced by MASK; spans that overlap are masked as one."""
    out, last = [], 0
    for start, end in sorted(spans):
        if start >= last:
            out += [text[last:start], MASK]
        last = max(last, end)
    return "".join([*out, text[last:]])


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret value given and every credential form above replaced by ***."""
    for value in sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(value, MASK)
    low = _lower(text)
    spans = [(p.start, p.end) for p in _user_parts(low) if _user_is_credential(text, p)]
    spans += [m.span("value") for pattern, _ in _KINDS for m in pattern.finditer(low)]
    spans += _assignments(text, low)
    return _masked(text, spans)


def redact_value(value: Any, secrets: Iterable[str] = (), keep: frozenset[str] = frozenset()) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every string redacted (`redact`) and the
    string under a key whose name says secret (`secret_key`) replaced whole (one masked already, as
    `*** (changed)`, stays), except the keys of
    mappings and the strings under the keys in `keep`: identifiers the program made (a stack's
    name, a revision), which a secret value that happens to equal a plain word (a passphrase `local`
    for the stack `local`) must not overwrite, or the document no longer says what it is about."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {
            k: v
            if k in keep and isinstance(v, str)
            else MASK
            if isinstance(v, str) and v and secret_key(str(k)) and not v.startswith(MASK)
            else redact_value(v, secrets, keep)
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


def secret_key(name: str) -> bool:
    """A mapping key whose value is a secret: its name, lower-cased without `_` and `-`, ends with a
    secret's (`password`, `DB_PASSWORD`, `adminPassword`, `apiToken`, `client-secret`, `apiKey`); not
    `secretName` or `passwordSecretRef`, which say where one is."""
    return name.replace("_", "").replace("-", "").lower().endswith(_SECRET_ENDINGS)


def literal(text: str, *, one_line: bool = False) -> str:
    """`text` with control characters escaped (`\\x1b`), and with `one_line` newlines and tabs too;
    what is not text (a file name's bytes that are not UTF-8, read as lone surrogates) as `\\udcff`."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = _CONTROL.sub(lambda m: repr(m[0])[1:-1], text)
    return text.replace("\n", "\\n").replace("\t", "\\t") if one_line else text


def shown(text: str, *, one_line: bool = False) -> str:
    """`text` as it may be shown (see the module doc)."""
    return literal(redact(text), one_line=one_line)


def shown_json(value: Any, **options: Any) -> str:
    """`value` as JSON as it may be shown: each string redacted on its own (masking the JSON text
    could cut across a string's quotes, and it would be JSON no more; a document's secret-named
    keys are the caller's to mask, `redact_value`) and every control character escaped as JSON
    writes it, DEL too (which JSON leaves raw)."""
    return json.dumps(_strings_redacted(value), **options).replace("\x7f", "\\u007f")


def _strings_redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _strings_redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strings_redacted(v) for v in value]
    return value
