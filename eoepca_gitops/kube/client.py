"""The Kubernetes API client of the CLI, the poller and the program (lightkube), from a stack's
kubeconfig and context, the pod's service account, or $KUBECONFIG; and what its calls may fail with.

A kubeconfig is read like any file the user names (eoepca_gitops.yaml_io.load_file: bounded, one
error naming the line); none, or one lightkube cannot use, is one NoKubeconfigError saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import httpx2
from lightkube import ApiError, Client
from lightkube.config.kubeconfig import DEFAULT_KUBECONFIG, KubeConfig
from lightkube.core.exceptions import ConfigError

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError, NoKubeconfigError
from eoepca_gitops.files import read_file

__all__ = ["FIELD_MANAGER", "KUBE_ERRORS", "EventLog", "kube_client", "pod_namespace"]

FIELD_MANAGER = "eoepca-gitops"
# What an API call may fail with: an answer other than success, or no answer at all.
KUBE_ERRORS = (ApiError, httpx2.HTTPError, OSError)
SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class EventLog(Protocol):
    """Where the adapter's long-lived parts (the Lease, the state ConfigMap) say what happened: the
    poller passes its log (eoepca_gitops.poller.log.log_event)."""

    def __call__(self, event: str, level: int = ..., **fields: Any) -> None: ...


def kube_client(
    kubeconfig: Path | str | None = None, context: str | None = None, timeout: float = 10.0
) -> Client:
    """`kubeconfig` (a file) and `context` when given; else in-cluster, $KUBECONFIG or ~/.kube/config."""
    try:
        config = _config(kubeconfig)
        single = config.get(context) if context else config.get()
    except (ConfigError, KeyError, TypeError, AttributeError) as exc:
        raise NoKubeconfigError(f"not a kubeconfig lightkube can use ({exc})") from None
    if single is None:
        raise NoKubeconfigError(
            f"no context {context!r} in the kubeconfig" if context else "no kubeconfig context"
        )
    try:
        return Client(config=single, timeout=httpx2.Timeout(timeout), field_manager=FIELD_MANAGER)
    except (ConfigError, ValueError, OSError) as exc:  # e.g. a certificate file it names is missing
        raise NoKubeconfigError(str(exc)) from None


def _config(kubeconfig: Path | str | None) -> KubeConfig:
    if kubeconfig is None:
        try:
            return KubeConfig.from_service_account()
        except ConfigError:
            kubeconfig = os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    path = Path(kubeconfig).expanduser()
    if not path.is_file():
        raise NoKubeconfigError(f"{kubeconfig}: no kubeconfig file there")
    doc = yaml_io.load_file(path)
    if not isinstance(doc, dict):
        raise NoKubeconfigError(f"{kubeconfig}: not a kubeconfig (no mapping)")
    return KubeConfig.from_dict(doc, fname=path)


def pod_namespace(explicit: str | None = None) -> str:
    """`explicit`, else $POD_NAMESPACE, else the pod's service account's namespace, else `default`."""
    if explicit:
        return explicit
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        return read_file(SA_NAMESPACE).strip()
    except GitopsError:
        return "default"
