"""The Kubernetes API client of the CLI and the poller (lightkube), from a stack's kubeconfig and
context, $KUBECONFIG, or the pod's service account; and what its calls may fail with.

A kubeconfig is read like any file the user names (eoepca_gitops.yaml_io.load_file: bounded, one
error naming the line); one lightkube cannot use is a ValueError saying so, as a missing one is.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
from lightkube import ApiError, Client
from lightkube.config.kubeconfig import DEFAULT_KUBECONFIG, KubeConfig
from lightkube.core.exceptions import ConfigError

from eoepca_gitops import yaml_io

__all__ = ["FIELD_MANAGER", "KUBE_ERRORS", "kube_client"]

FIELD_MANAGER = "eoepca-gitops"
# What an API call may fail with: an answer other than success, or no answer at all.
KUBE_ERRORS = (ApiError, httpx2.HTTPError, OSError)


def kube_client(
    kubeconfig: Path | str | None = None, context: str | None = None, timeout: float = 10.0
) -> Client:
    """`kubeconfig` (a file) and `context` when given; else in-cluster, $KUBECONFIG or ~/.kube/config."""
    try:
        config = _config(kubeconfig)
        single = config.get(context) if context else config.get()
    except (ConfigError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a kubeconfig lightkube can use ({exc})") from None
    if single is None:
        raise ValueError(f"no context {context!r} in the kubeconfig" if context else "no kubeconfig context")
    return Client(config=single, timeout=httpx2.Timeout(timeout), field_manager=FIELD_MANAGER)


def _config(kubeconfig: Path | str | None) -> KubeConfig:
    if kubeconfig is None:
        try:
            return KubeConfig.from_service_account()
        except ConfigError:
            kubeconfig = os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    path = Path(kubeconfig).expanduser()
    if not path.is_file():
        raise ValueError(f"{kubeconfig}: no kubeconfig file there")
    doc = yaml_io.load_file(path)
    if not isinstance(doc, dict):
        raise ValueError(f"{kubeconfig}: not a kubeconfig (no mapping)")
    return KubeConfig.from_dict(doc, fname=path)
