"""An automatic roll-back told to Flux's notification-controller as an event about the stack's
GitRepository, so the stack's Alerts send it to its Providers (Slack, ...) like Flux's own events.

The event is the JSON Flux's controllers post to the controller's event address (`--flux-events`;
in the cluster `http://notification-controller.<flux namespace>.svc.cluster.local./`). A failed post
is logged, never retried: the roll-back itself is in the state, the log and /metrics.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.request
from typing import Any

from eoepca_gitops.flux_apis import CURRENT
from eoepca_gitops.model import defaults

from .log import log_event

__all__ = ["FluxEvents", "event"]


def event(stack: str, revision: str, to: str, message: str, now: float, host: str) -> dict[str, Any]:
    """The event (Flux's event v1beta1 JSON) of a roll-back of `stack` from `revision` to `to`."""
    return {
        "involvedObject": {
            "apiVersion": CURRENT["GitRepository"],
            "kind": "GitRepository",
            "namespace": defaults.FLUX_NAMESPACE,
            "name": defaults.GIT_SOURCE_NAME,
        },
        "severity": "error",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "message": f"stack {stack} rolled back to {to[:12]}: {message}",
        "reason": "RolledBack",
        "metadata": {"revision": revision, "rolledBackTo": to, "stack": stack},
        "reportingController": "eoepca-gitops-poller",
        "reportingInstance": host,
    }


class FluxEvents:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def __call__(self, stack: str, revision: str, to: str, message: str) -> None:
        body = json.dumps(event(stack, revision, to, message, time.time(), socket.gethostname())).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                log_event("flux-event-sent", stack=stack, status=response.status)
        except OSError as exc:
            log_event("flux-event-failed", logging.WARNING, stack=stack, error=str(exc))
