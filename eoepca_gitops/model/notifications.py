"""Flux notifications a stack declares: Providers, the Alerts that use them, a webhook Receiver."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from eoepca_gitops.model.base import Model, unique
from eoepca_gitops.model.types import DnsLabel, K8sName

__all__ = ["Alert", "EventSource", "NotificationProvider", "NotificationsConfig", "Receiver"]

ProviderType = Literal[
    "slack",
    "discord",
    "msteams",
    "rocket",
    "googlechat",
    "webex",
    "telegram",
    "lark",
    "matrix",
    "opsgenie",
    "pagerduty",
    "alertmanager",
    "grafana",
    "sentry",
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "gitea",
    "bitbucket",
    "bitbucketserver",
    "azuredevops",
    "githubdispatch",
]


class EventSource(Model):
    kind: str
    name: str = "*"
    namespace: DnsLabel | None = None
    match_labels: dict[str, str] = {}


class NotificationProvider(Model):
    """Where the webhook URL comes from: a stack secret (`addressSecret`, written into the Secret
    <name>-url), or a Secret the cluster already has (`secretRef`: a SealedSecret in Git, ...)."""

    name: K8sName
    type: ProviderType
    channel: str | None = None
    username: str | None = None
    address: str | None = Field(default=None, description="a non-secret address (a repository URL)")
    address_secret: str | None = Field(
        default=None, description="stack config key holding the webhook URL, set with --secret"
    )
    secret_ref: K8sName | None = Field(
        default=None, description="a Secret in Flux's namespace with the key `address`"
    )

    @model_validator(mode="after")
    def _one_secret(self) -> NotificationProvider:
        if self.address_secret and self.secret_ref:
            raise ValueError(f"provider {self.name}: give addressSecret or secretRef, not both")
        return self


class Alert(Model):
    name: K8sName
    provider: K8sName
    severity: Literal["info", "error"] = "info"
    event_sources: list[EventSource]
    inclusion_list: list[str] = []
    exclusion_list: list[str] = []
    event_metadata: dict[str, str] = {}


class Receiver(Model):
    name: K8sName = "flux-webhook"
    type: Literal["github", "gitlab", "bitbucket", "generic"] = "github"
    token_secret: str = "receiverToken"
    events: list[str] = ["ping", "push"]


class NotificationsConfig(Model):
    providers: list[NotificationProvider] = []
    alerts: list[Alert] = []
    receiver: Receiver | None = None

    @field_validator("providers")
    @classmethod
    def _providers_once(cls, value: list[NotificationProvider]) -> list[NotificationProvider]:
        return list(unique(value, lambda p: p.name, "provider name"))

    @field_validator("alerts")
    @classmethod
    def _alerts_once(cls, value: list[Alert]) -> list[Alert]:
        return list(unique(value, lambda a: a.name, "alert name"))

    @model_validator(mode="after")
    def _alerts_name_providers(self) -> NotificationsConfig:
        names = {p.name for p in self.providers}
        for alert in self.alerts:
            if alert.provider not in names:
                raise ValueError(f"alert {alert.name}: no provider named {alert.provider!r}")
        return self
