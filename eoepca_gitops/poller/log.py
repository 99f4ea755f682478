"""The poller's log: one JSON object per line, {"event": ..., "stack": ..., ...}.

Callers redact before logging (eoepca_gitops.poller.automation.redact): no secret reaches here.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

__all__ = ["configure", "log", "log_event"]

log = logging.getLogger("eoepca_gitops.poller")


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    log.log(level, json.dumps({"event": event, **fields}, default=str, sort_keys=True))


def configure(level: str) -> None:
    """JSON lines on stderr at `level` (DEBUG, INFO, WARNING, ERROR)."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format='{"time": "%(asctime)s", "level": "%(levelname)s", "log": %(message)s}',
    )
