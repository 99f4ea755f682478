"""Flux notifications: Providers (URL from a Secret), Alerts, and the optional webhook Receiver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoepca_gitops.flux_apis import CURRENT
from eoepca_gitops.manifests.sources import meta
from eoepca_gitops.model.stack import Alert, NotificationProvider, Receiver

__all__ = ["alert", "provider", "provider_secret_name", "receiver", "receiver_secret_name"]


def provider_secret_name(provider: NotificationProvider) -> str:
    return f"{provider.name}-url"


def receiver_secret_name(receiver: Receiver) -> str:
    return f"{receiver.name}-token"


def provider(p: NotificationProvider, namespace: str, apis: Mapping[str, str] = CURRENT) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": p.type, "secretRef": {"name": provider_secret_name(p)}}
    if p.channel:
        spec["channel"] = p.channel
    return {
        "apiVersion": apis["Provider"],
        "kind": "Provider",
        "metadata": meta(p.name, namespace),
        "spec": spec,
    }


def alert(a: Alert, namespace: str, apis: Mapping[str, str] = CURRENT) -> dict[str, Any]:
    sources = []
    for source in a.event_sources:
        entry = {"kind": source.kind, "name": source.name}
        if source.namespace:
            entry["namespace"] = source.namespace
        sources.append(entry)
    return {
        "apiVersion": apis["Alert"],
        "kind": "Alert",
        "metadata": meta(a.name, namespace),
        "spec": {"providerRef": {"name": a.provider}, "eventSeverity": a.severity, "eventSources": sources},
    }


def receiver(
    r: Receiver, namespace: str, git_source: str, apis: Mapping[str, str] = CURRENT
) -> dict[str, Any]:
    return {
        "apiVersion": apis["Receiver"],
        "kind": "Receiver",
        "metadata": meta(r.name, namespace),
        "spec": {
            "type": r.type,
            "events": list(r.events),
            "secretRef": {"name": receiver_secret_name(r)},
            "resources": [{"kind": "GitRepository", "name": git_source}],
        },
    }
