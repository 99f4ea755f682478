"""The Kubernetes API client of the CLI and the poller (lightkube), from a stack's kubeconfig and
context, $KUBECONFIG, or the pod's service account; and what its calls may fail with."""

from __future__ import annotations

from pathlib import Path

import httpx2
from lightkube import ApiError, Client
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ConfigError as KubeConfigError

__all__ = ["FIELD_MANAGER", "KUBE_ERRORS", "kube_client"]

FIELD_MANAGER = "eoepca-gitops"
# What an API call may fail with: an answer other than success, or no answer at all.
KUBE_ERRORS = (ApiError, httpx2.HTTPError, OSError)


def kube_client(
    kubeconfig: Path | str | None = None, context: str | None = None, timeout: float = 10.0
) -> Client:
    """`kubeconfig` (a file) and `context` when given; else $KUBECONFIG, ~/.kube/config, or in-cluster.
    ValueError when there is none of them, or no such context."""
    try:
        config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
    except KubeConfigError as exc:  # lightkube's own class: every caller catches ValueError
        raise ValueError(str(exc)) from None
    single = config.get(context) if context else config.get()
    if single is None:
        raise ValueError(f"no context {context!r} in the kubeconfig" if context else "no kubeconfig context")
    return Client(config=single, timeout=httpx2.Timeout(timeout), field_manager=FIELD_MANAGER)
