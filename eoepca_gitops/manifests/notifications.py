"""Flux notifications: Providers (URL from a Secret), Alerts, and the optional webhook Receiver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoepca_gitops.flux_apis import CURRENT
from eoepca_gitops.manifests.sources import given, meta
from eoepca_gitops.model.notifications import Alert, NotificationProvider, Receiver

__all__ = ["alert", "provider", "provider_secret_name", "receiver", "receiver_secret_name"]


def provider_secret_name(provider: NotificationProvider) -> str:
    return f"{provider.name}-url"


def receiver_secret_name(receiver: Receiver) -> str:
    return f"{receiver.name}-token"


def provider(p: NotificationProvider, namespace: str, apis: Mapping[str, str] = CURRENT) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": p.type, **given(p, ("channel", "username", "address"))}
    if p.secret_ref or p.address_secret:
        spec["secretRef"] = {"name": p.secret_ref or provider_secret_name(p)}
    return {
        "apiVersion": apis["Provider"],
        "kind": "Provider",
        "metadata": meta(p.name, namespace),
        "spec": spec,
    }


def alert(a: Alert, namespace: str, apis: Mapping[str, str] = CURRENT) -> dict[str, Any]:
    sources = [
        {"kind": s.kind, "name": s.name, **given(s, ("namespace", "match_labels"))} for s in a.event_sources
    ]
    return {
        "apiVersion": apis["Alert"],
        "kind": "Alert",
        "metadata": meta(a.name, namespace),
        "spec": {
            "providerRef": {"name": a.provider},
            "eventSeverity": a.severity,
            "eventSources": sources,
            **given(a, ("inclusion_list", "exclusion_list", "event_metadata")),
        },
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
