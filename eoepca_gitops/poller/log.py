"""The poller's log: one JSON object per line, {"event": ..., "stack": ..., ...}.

Callers redact the secrets they know before logging (eoepca_gitops.poller.automation.redact); every
line is redacted once more here (eoepca_gitops.credentials), so no credential form reaches the log.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from eoepca_gitops.credentials import redact_value

__all__ = ["configure", "log", "log_event"]

log = logging.getLogger("eoepca_gitops.poller")


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    log.log(level, json.dumps(redact_value({"event": event, **fields}), default=str, sort_keys=True))


def configure(level: str) -> None:
    """JSON lines on stderr at `level` (DEBUG, INFO, WARNING, ERROR)."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format='{"time": "%(asctime)s", "level": "%(levelname)s", "log": %(message)s}',
    )
