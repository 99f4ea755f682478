"""The tree's Flux Providers and Alerts as the stack's `notifications`.

A Provider keeps reading its address from the Secret the tree names (secretRef): a SealedSecret of
the tree stays in Git beside it; one the tree does not hold is reported, the cluster must have it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from eoepca_gitops.importer.report import Report
from eoepca_gitops.importer.route import Candidate, Routed
from eoepca_gitops.model.notifications import Alert, NotificationProvider

__all__ = ["notifications_config"]

_SECRET_KINDS = ("Secret", "SealedSecret")


def _entry(
    found: Candidate, flux_ns: str, model: type[BaseModel], entry: dict[str, Any]
) -> dict[str, Any] | None:
    meta = found.forms.final["metadata"]
    if set(meta) - {"name", "namespace"} or meta.get("namespace", flux_ns) != flux_ns:
        return None
    try:
        model.model_validate(entry)
    except ValidationError:
        return None
    return entry


def _provider(found: Candidate, flux_ns: str) -> dict[str, Any] | None:
    spec = dict(found.forms.final.get("spec") or {})
    secret = spec.pop("secretRef", None) or {}
    if set(secret) - {"name"}:
        return None
    entry = {"name": found.forms.final["metadata"]["name"], **spec}
    if secret:
        entry["secretRef"] = secret["name"]
    return _entry(found, flux_ns, NotificationProvider, entry)


def _alert(found: Candidate, flux_ns: str, providers: set[str]) -> dict[str, Any] | None:
    spec = dict(found.forms.final.get("spec") or {})
    if (spec.pop("providerRef", None) or {}).get("name") not in providers:
        return None
    entry = {
        "name": found.forms.final["metadata"]["name"],
        "provider": found.forms.final["spec"]["providerRef"]["name"],
        "severity": spec.pop("eventSeverity", "info"),
        **spec,
    }
    return _entry(found, flux_ns, Alert, entry)


def _keep(routed: Routed, found: Candidate, report: Report) -> None:
    meta = found.forms.final["metadata"]
    what = f"{found.forms.final['kind']} {meta.get('name')}"
    report.note(found.file, found.line, f"{what}: fields not modelled; kept as a plain manifest")
    routed.home(found.block).shared.append(found)


def notifications_config(routed: Routed, flux_ns: str, report: Report) -> dict[str, Any]:
    """What the stack file says; what it cannot say stays a plain manifest where it was."""
    secrets = {
        c.forms.final["metadata"].get("name")
        for parts in routed.blocks.values()
        for c in [*parts.own, *parts.shared]
        if c.forms.final.get("kind") in _SECRET_KINDS
        and c.forms.final["metadata"].get("namespace", flux_ns) == flux_ns
    }
    out: dict[str, Any] = {"providers": [], "alerts": []}
    for found in routed.providers:
        entry = _provider(found, flux_ns)
        if entry is None:
            _keep(routed, found, report)
            continue
        out["providers"].append(entry)
        if entry.get("secretRef") and entry["secretRef"] not in secrets:
            report.note(
                found.file,
                found.line,
                f"Provider {entry['name']}: its address is the Secret {flux_ns}/{entry['secretRef']}, which "
                "the tree does not hold: the cluster must have it (or give the provider addressSecret, "
                "a stack secret)",
            )
    names = {p["name"] for p in out["providers"]}
    for found in routed.alerts:
        entry = _alert(found, flux_ns, names)
        if entry is None:
            _keep(routed, found, report)
            continue
        out["alerts"].append(entry)
    return {k: v for k, v in out.items() if v}
