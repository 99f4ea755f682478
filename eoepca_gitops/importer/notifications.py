"""The tree's Flux Providers and Alerts as the stack's `notifications` (webhook URLs as stack secrets)."""

from __future__ import annotations

import re
from typing import Any

from eoepca_gitops.importer.report import Report
from eoepca_gitops.importer.route import Routed

__all__ = ["notifications_config"]

_PROVIDER_TYPES = {"slack", "msteams", "generic", "generic-hmac"}


def _camel(name: str) -> str:
    head, *rest = re.split(r"[-_.]", name)
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def notifications_config(routed: Routed, flux_ns: str, report: Report) -> dict[str, Any]:
    """What the stack file says; what it cannot say stays a plain manifest of the root block."""
    blocks, root_block = routed.blocks, routed.root_block
    out: dict[str, Any] = {"providers": [], "alerts": []}
    names: set[str] = set()
    for found in routed.providers:
        obj, file, line = found.obj, found.file, found.line
        meta, spec = obj["metadata"], obj.get("spec") or {}
        ok = (
            set(meta) <= {"name", "namespace"}
            and meta.get("namespace", flux_ns) == flux_ns
            and set(spec) <= {"type", "channel", "secretRef"}
            and spec.get("type") in _PROVIDER_TYPES
            and (spec.get("secretRef") or {}).get("name")
        )
        if not ok:
            report.note(
                file, line, f"Provider {meta.get('name')}: fields not modelled; kept as a plain manifest"
            )
            blocks[root_block].shared.append(obj)
            continue
        secret = spec["secretRef"]["name"]
        entry = {"name": meta["name"], "type": spec["type"], "addressSecret": _camel(secret)}
        if spec.get("channel"):
            entry["channel"] = spec["channel"]
        out["providers"].append(entry)
        names.add(meta["name"])
        mine = f"{meta['name']}-url"
        report.note(
            file,
            line,
            f"Provider {meta['name']}: its address is the stack secret {_camel(secret)} "
            f"(Secret {mine}); set it with `pulumi config set --secret {_camel(secret)} URL`",
        )
        for parts in blocks.values():
            for holder in [o for o in parts.own if o["metadata"].get("name") == mine]:
                if holder["metadata"].get("namespace", flux_ns) == flux_ns:
                    parts.own.remove(holder)
                    report.note(
                        file, line, f"{holder['kind']} {flux_ns}/{mine} replaced by the stack's Secret {mine}"
                    )
    for found in routed.alerts:
        obj, file, line = found.obj, found.file, found.line
        meta, spec = obj["metadata"], obj.get("spec") or {}
        sources = spec.get("eventSources") or []
        ok = (
            set(meta) <= {"name", "namespace"}
            and meta.get("namespace", flux_ns) == flux_ns
            and set(spec) <= {"providerRef", "eventSeverity", "eventSources"}
            and (spec.get("providerRef") or {}).get("name") in names
            and spec.get("eventSeverity", "info") in ("info", "error")
            and all(set(s) <= {"kind", "name", "namespace"} for s in sources)
        )
        if not ok:
            report.note(
                file, line, f"Alert {meta.get('name')}: fields not modelled; kept as a plain manifest"
            )
            blocks[root_block].shared.append(obj)
            continue
        out["alerts"].append(
            {
                "name": meta["name"],
                "provider": spec["providerRef"]["name"],
                "severity": spec.get("eventSeverity", "info"),
                "eventSources": sources,
            }
        )
    return {k: v for k, v in out.items() if v}
