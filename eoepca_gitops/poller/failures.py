"""What a failed Pulumi operation means: its named reason, whether it is transient, and the lines of
its output worth showing."""

from __future__ import annotations

import re

from .conditions import Reason

__all__ = ["classify", "summary"]

_UNREACHABLE = re.compile(
    r"connection refused|dial tcp|i/o timeout|no such host|context deadline exceeded|"
    r"cluster is unreachable|unable to load schema|TLS handshake timeout|connection reset by peer|"
    r"server is currently unable|the server could not find the requested resource \(get",
    re.IGNORECASE,
)
# A block's wait for Flux (components/flux_await.py). A failure Flux reports is final whatever its
# message names (a chart repository's refused connection is not the cluster's): recognised first.
# A wait that timed out is classified like any failure, its reason if nothing else says more.
_FLUX_FAILED = re.compile(r"\bFluxNotReady: block \S+: Flux reports ")
_FLUX = re.compile(r"\bFluxNotReady: ")
_CONFLICT = re.compile(r"field conflict|conflicts with \"|Apply failed with \d+ conflicts?", re.IGNORECASE)
_PROVIDER = re.compile(
    r"kubernetes:[\w./-]+:\w+ .*(error|failed)|is invalid|is forbidden|admission webhook|"
    r"the server rejected|Unprocessable Entity",
    re.IGNORECASE,
)
_CONFIG = re.compile(
    r"missing required configuration|configuration key|Traceback \(most recent call last\)|"
    r"failed with an unhandled exception|validation error|invalid config|decrypt",
    re.IGNORECASE,
)


def summary(text: str, limit: int = 1500) -> str:
    """The informative lines of a Pulumi error: `error:` lines and the last exception line."""
    lines = [ln.strip() for ln in text.splitlines()]
    exc_line = re.compile(r"^[A-Za-z_.]+(Error|Exception): ")
    picked: list[str] = []
    for ln in lines:
        low = ln.lower()
        is_error = low.startswith("error:") or (ln.startswith("kubernetes:") and "error" in low)
        if is_error or exc_line.match(ln):
            picked.append(ln)
    if not picked:
        picked = [ln for ln in lines if ln][-5:]
    out: list[str] = []
    for ln in picked:
        if ln not in out:
            out.append(ln)
    msg = " | ".join(out)
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def classify(text: str) -> tuple[Reason, bool]:
    """Named reason and whether the failure is transient (retried forever, never stalls).

    Only an unreachable cluster is transient: a conflict, an invalid config, an object the API
    server refuses or a Flux failure fails the same way again, so it stalls after a few tries, named
    as what it is (never as drift).
    """
    if _FLUX_FAILED.search(text):
        return Reason.FLUX_FAILED, False
    if _UNREACHABLE.search(text):
        return Reason.CLUSTER_UNREACHABLE, True
    if _FLUX.search(text):
        return Reason.FLUX_FAILED, False
    if _CONFLICT.search(text):
        return Reason.FIELD_CONFLICT, False
    if _CONFIG.search(text):
        return Reason.CONFIG_INVALID, False
    if _PROVIDER.search(text):
        return Reason.PROVIDER_ERROR, False
    return Reason.UPDATE_FAILED, False
