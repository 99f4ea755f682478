"""The in-cluster poller a stack may run (`eoepca-gitops:poller`): its Deployment's settings."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from eoepca_gitops.credentials import secret_name
from eoepca_gitops.model import defaults
from eoepca_gitops.model.base import Model
from eoepca_gitops.model.types import DnsLabel, GoDuration, Quantity, ServiceName

__all__ = ["DriftMode", "MetricsPeer", "PollerConfig", "PollerResources", "RollbackPolicy"]

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"


class DriftMode(StrEnum):
    """What the poller does about drift it finds: report it, or run an update that corrects it."""

    DETECT = "detect"
    CORRECT = "correct"


class MetricsPeer(Model):
    """Who may scrape the poller's metrics: pods with these labels, in namespaces with these labels
    (a NetworkPolicy peer; an absent side means any, as in Kubernetes)."""

    namespace_labels: dict[str, str] | None = None
    pod_labels: dict[str, str] | None = None


ResourceName = Literal["cpu", "memory", "ephemeral-storage"]


def _requests() -> dict[ResourceName, Quantity]:
    return {"cpu": defaults.POLLER_CPU_REQUEST, "memory": defaults.POLLER_MEMORY_REQUEST}


def _limits() -> dict[ResourceName, Quantity]:
    return {"memory": defaults.POLLER_MEMORY_LIMIT}


class PollerResources(Model):
    """The poller container's requests and limits; each side given replaces its default."""

    requests: dict[ResourceName, Quantity] = Field(default_factory=_requests)
    limits: dict[ResourceName, Quantity] = Field(default_factory=_limits)


class RollbackPolicy(Model):
    """Roll-backs of the stack (`eoepca-gitops rollback`, the poller's automatic one): what ends the
    hold at the rolled-back revision, and whether the poller rolls back by itself a new revision that
    leaves a block not Ready past `deadline` (to the last revision at which both layers were Ready)."""

    hold_until: Literal["release", "new-commit"] = "release"
    automatic: bool = False
    deadline: GoDuration = defaults.POLLER_ROLLBACK_DEADLINE


class PollerConfig(Model):
    """The in-cluster poller (`eoepca-gitops poll` as a Deployment): optional, off when absent.

    Secrets are named, not given: `passphraseSecret` and the values of `credentialSecrets` are
    top-level secret config keys, like the other secrets of a stack.
    """

    # The image this project publishes (Containerfile); a registry of one's own, or a digest, overrides it.
    image: str = Field(default=defaults.POLLER_IMAGE, min_length=1)
    replicas: int = Field(default=1, ge=1, le=5)
    # A Kubernetes Lease so only one replica updates; required (and on by default) past 1 replica.
    lease: bool | None = None
    interval: GoDuration = defaults.POLLER_INTERVAL
    drift_interval: GoDuration = defaults.POLLER_DRIFT_INTERVAL
    drift_mode: DriftMode = DriftMode(defaults.POLLER_DRIFT_MODE)
    grace: GoDuration = defaults.POLLER_GRACE
    stacks: list[str] = []  # default: this stack
    git_url: str | None = None  # default: git.url
    branch: str | None = None  # default: git.branch
    project_dir: str = "."
    name: ServiceName = defaults.POLLER_NAME  # its Service's name too
    namespace: DnsLabel = defaults.POLLER_NAMESPACE
    port: int = Field(default=defaults.POLLER_PORT, gt=0, lt=65536)
    # Who may reach the metrics port (NetworkPolicy); default: pods of the poller's namespace.
    metrics_from: list[MetricsPeer] = []
    managed_namespaces: list[DnsLabel] = []
    backend_url: str = Field(min_length=1, description="PULUMI_BACKEND_URL, credentials in credentialSecrets")
    env: dict[str, str] = {}
    resources: PollerResources = PollerResources()
    passphrase_secret: str = defaults.POLLER_PASSPHRASE_SECRET
    # Environment variable -> stack config key of a secret (e.g. AWS_SECRET_ACCESS_KEY: pollerS3Secret).
    credential_secrets: dict[str, str] = {}
    rollback: RollbackPolicy = RollbackPolicy()

    @model_validator(mode="after")
    def _consistent(self) -> PollerConfig:
        if self.replicas > 1 and self.lease is False:
            raise ValueError("replicas > 1 needs the lease (only one replica may update)")
        for name in (*self.env, *self.credential_secrets):
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name (A-Z, 0-9, _)")
        both = sorted(set(self.env) & {*self.credential_secrets, _PASSPHRASE_ENV})
        if both:
            raise ValueError(f"{', '.join(both)}: given both in env and as a secret")
        for name in self.env:
            if secret_name(name):
                raise ValueError(
                    f"env.{name}: its name says it is a secret: name a secret config key for it in "
                    "credentialSecrets instead of giving its value in env"
                )
        return self

    @property
    def lease_enabled(self) -> bool:
        return self.replicas > 1 if self.lease is None else self.lease

    @property
    def secret_env(self) -> dict[str, str]:
        """Environment variable -> the secret config key that holds its value."""
        return {_PASSPHRASE_ENV: self.passphrase_secret, **dict(sorted(self.credential_secrets.items()))}
