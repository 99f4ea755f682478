"""A push, told by a webhook as GitHub sends it: the poller looks at Git at once instead of at its
next interval (polling stays the safety net).

Pure: the request's body and headers and the shared secret in, an answer out. GitHub signs the body
with HMAC-SHA256 under the webhook's secret (`X-Hub-Signature-256: sha256=<hex>`); a body signed
otherwise, or not at all, is refused before it is read as JSON. The secret comes from the
environment (`EOEPCA_GITOPS_WEBHOOK_SECRET`: in the cluster a Pulumi secret through
`credentialSecrets`), never from an argument.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["MAX_BODY", "PATH", "SECRET_ENV", "SIGNATURE", "Answer", "answer", "signature"]

PATH = "/hooks/github"
SECRET_ENV = "EOEPCA_GITOPS_WEBHOOK_SECRET"
SIGNATURE = "X-Hub-Signature-256"
MAX_BODY = 1 << 20  # a push's payload is a few KiB; GitHub caps its own at 25 MB


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    wake: bool = False  # look at Git now


def signature(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def answer(secret: bytes, body: bytes, headers: Mapping[str, str], branch: str) -> Answer:
    """What to answer a webhook request (`headers` with lower-case names), and whether to wake."""
    given = headers.get(SIGNATURE.lower(), "")
    if not given or not hmac.compare_digest(signature(secret, body), given):
        return Answer(401, "signature does not match")
    event = headers.get("x-github-event", "push")
    if event == "ping":
        return Answer(200, "pong")
    if event != "push":
        return Answer(202, f"{event}: ignored")
    try:
        ref = json.loads(body).get("ref")
    except (ValueError, AttributeError):
        return Answer(400, "not a push payload")
    if ref != f"refs/heads/{branch}":
        return Answer(202, f"{ref}: not the tracked branch, ignored")
    return Answer(202, "looking at Git now", wake=True)
