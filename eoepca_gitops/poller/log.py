"""The poller's log: one JSON object per line, {"event": ..., "stack": ..., ...}.

Callers redact what they log, and every line is redacted once more on its way out
(eoepca_gitops.credentials): a traceback or a library's message may carry a credential no caller saw.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from eoepca_gitops.credentials import env_secrets, redact, redact_value

__all__ = ["configure", "log", "log_event"]

log = logging.getLogger("eoepca_gitops.poller")
#: Fields of the poller's events and state that hold its own identifiers, never a credential.
IDENTIFIERS = frozenset(
    {"event", "stack", "revision", "applied_revision", "attempted_revision", "git_revision",
     "phase", "reason", "type", "status", "result", "last_good_revision", "held_revision", "held_head",
     "to", "held_until"}
)  # fmt: skip


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    log.log(level, json.dumps(redact_value({"event": event, **fields}), default=str, sort_keys=True))


class _JsonLines(logging.Formatter):
    """Every record one JSON object: ours carry a JSON event already, anything else its text."""

    def format(self, record: logging.LogRecord) -> str:
        secrets = env_secrets(os.environ)
        message = record.getMessage()
        try:
            body: Any = json.loads(message) if record.name == log.name else None
        except ValueError:
            body = None
        if isinstance(body, dict):
            body = redact_value(body, secrets, IDENTIFIERS)
        else:
            body = {"logger": record.name, "text": redact(message, secrets)}
        if record.exc_info:
            body = {
                **body,
                "exception": redact(self.formatException(record.exc_info), env_secrets(os.environ)),
            }
        line = {"time": self.formatTime(record), "level": record.levelname, "log": body}
        # JSON escapes every control character but DEL, which no terminal should receive either
        return json.dumps(line, default=str).replace("\x7f", "\\u007f")


def configure(level: str) -> None:
    """JSON lines on stderr: the poller's events at `level` (DEBUG, INFO, WARNING, ERROR), libraries'
    warnings and errors only (the Kubernetes client logs every HTTP request at INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    log.setLevel(level.upper())
