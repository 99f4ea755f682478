"""The import's notifications (importer/notifications.py): a tree's Flux Providers and Alerts as the
stack's `notifications`, or kept as plain manifests with a report line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eoepca_gitops.importer.notifications import notifications_config
from eoepca_gitops.importer.report import Report, ReportItem
from eoepca_gitops.importer.route import BlockParts, Candidate, Forms, Routed

N = "notification.toolkit.fluxcd.io/v1beta3"
SLACK_FILE = "clusters/prod/notifications.yaml"


def _found(obj: dict[str, Any], block: str = "apps", file: str = SLACK_FILE, line: int = 1) -> Candidate:
    return Candidate(block, "flux-system/apps", Forms(obj, obj, obj), file, line)


def _provider(name: str = "slack", metadata: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": N,
        "kind": "Provider",
        "metadata": {"name": name, "namespace": "flux-system", **(metadata or {})},
        "spec": {"type": "slack", "channel": "ops", **spec},
    }


def _alert(name: str = "on-error", provider: str = "slack", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": N,
        "kind": "Alert",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {
            "providerRef": {"name": provider},
            "eventSources": [{"kind": "Kustomization", "name": "*"}],
            **spec,
        },
    }


def _secret(kind: str, name: str, namespace: str | None = "flux-system") -> dict[str, Any]:
    metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata}


def _routed(
    providers: list[dict[str, Any]],
    alerts: Sequence[dict[str, Any]] = (),
    shared: Sequence[dict[str, Any]] = (),
    own: Sequence[dict[str, Any]] = (),
) -> Routed:
    apps = BlockParts("apps", "the apps", shared=[_found(o) for o in shared], own=[_found(o) for o in own])
    return Routed(
        "flux-system",
        {"flux-system": BlockParts("flux-system", "the root"), "apps": apps},
        {},
        providers=[_found(p, line=i + 1) for i, p in enumerate(providers)],
        alerts=[_found(a, line=10 + i) for i, a in enumerate(alerts)],
    )


def _kept(reason: str, line: int = 1) -> ReportItem:
    return ReportItem(SLACK_FILE, line, f"{reason}: fields not modelled; kept as a plain manifest")


def test_a_provider_and_its_alert_are_the_stacks_notifications() -> None:
    routed = _routed(
        [_provider(address="https://hooks.example.org/x")],
        [_alert(eventSeverity="error", inclusionList=[".*failed.*"])],
    )
    report = Report()
    assert notifications_config(routed, "flux-system", report) == {
        "providers": [
            {"name": "slack", "type": "slack", "channel": "ops", "address": "https://hooks.example.org/x"}
        ],
        "alerts": [
            {
                "name": "on-error",
                "provider": "slack",
                "severity": "error",
                "eventSources": [{"kind": "Kustomization", "name": "*"}],
                "inclusionList": [".*failed.*"],
            }
        ],
    }
    assert report.items == []


def test_an_alert_without_an_event_severity_is_of_severity_info() -> None:
    config = notifications_config(_routed([_provider()], [_alert()]), "flux-system", Report())
    assert config["alerts"][0]["severity"] == "info"


def test_a_tree_without_notifications_says_none() -> None:
    assert notifications_config(_routed([]), "flux-system", Report()) == {}


def test_alerts_are_said_only_when_there_are_some() -> None:
    assert notifications_config(_routed([_provider()]), "flux-system", Report()) == {
        "providers": [{"name": "slack", "type": "slack", "channel": "ops"}]
    }


def test_a_provider_reads_its_address_from_a_sealed_secret_of_the_tree() -> None:
    routed = _routed([_provider(secretRef={"name": "slack-url"})], own=[_secret("SealedSecret", "slack-url")])
    report = Report()
    config = notifications_config(routed, "flux-system", report)
    assert config["providers"] == [
        {"name": "slack", "type": "slack", "channel": "ops", "secretRef": "slack-url"}
    ]
    assert report.items == []


def test_a_plain_secret_of_the_tree_without_a_namespace_is_in_fluxs() -> None:
    routed = _routed(
        [_provider(secretRef={"name": "slack-url"})], shared=[_secret("Secret", "slack-url", None)]
    )
    report = Report()
    notifications_config(routed, "flux-system", report)
    assert report.items == []


def test_a_provider_secret_the_tree_does_not_hold_is_reported() -> None:
    routed = _routed(
        [_provider(secretRef={"name": "slack-url"})],
        shared=[
            _secret("Secret", "slack-url", "apps"),
            _secret("ConfigMap", "slack-url"),
            _secret("SealedSecret", "other"),
        ],
    )
    report = Report()
    config = notifications_config(routed, "flux-system", report)
    assert config["providers"] == [
        {"name": "slack", "type": "slack", "channel": "ops", "secretRef": "slack-url"}
    ]
    assert report.items == [
        ReportItem(
            SLACK_FILE,
            1,
            "Provider slack: its address is the Secret flux-system/slack-url, which the tree does not "
            "hold: the cluster must have it (or give the provider addressSecret, a stack secret)",
        )
    ]


def test_a_provider_secret_ref_with_more_than_a_name_is_kept_as_a_manifest() -> None:
    provider = _provider(secretRef={"name": "slack-url", "namespace": "apps"})
    routed = _routed([provider])
    report = Report()
    assert notifications_config(routed, "flux-system", report) == {}
    assert report.items == [_kept("Provider slack")]
    assert [c.forms.final for c in routed.blocks["apps"].shared] == [provider]


def test_a_provider_with_metadata_beyond_its_name_is_kept_as_a_manifest() -> None:
    routed = _routed([_provider(metadata={"labels": {"team": "ops"}})])
    report = Report()
    assert notifications_config(routed, "flux-system", report) == {}
    assert report.items == [_kept("Provider slack")]


def test_a_provider_in_another_namespace_is_kept_as_a_manifest() -> None:
    routed = _routed([_provider(metadata={"namespace": "apps"})])
    report = Report()
    assert notifications_config(routed, "flux-system", report) == {}
    assert report.items == [_kept("Provider slack")]


def test_a_provider_without_a_namespace_is_in_fluxs() -> None:
    provider = _provider()
    del provider["metadata"]["namespace"]
    config = notifications_config(_routed([provider]), "flux-system", Report())
    assert config == {"providers": [{"name": "slack", "type": "slack", "channel": "ops"}]}


def test_a_provider_the_model_refuses_is_kept_as_a_manifest() -> None:
    routed = _routed([_provider(type="carrier-pigeon"), _provider("hook", timeout="30s")])
    report = Report()
    assert notifications_config(routed, "flux-system", report) == {}
    assert report.items == [_kept("Provider slack"), _kept("Provider hook", line=2)]


def test_a_manifest_kept_goes_to_the_block_that_applies_its_blocks_manifests() -> None:
    routed = _routed([_provider(metadata={"labels": {"a": "b"}})])
    routed.plain_home["apps"] = "flux-system"
    notifications_config(routed, "flux-system", Report())
    assert [c.forms.final["kind"] for c in routed.blocks["flux-system"].shared] == ["Provider"]
    assert routed.blocks["apps"].shared == []


def test_an_alert_of_a_provider_kept_as_a_manifest_is_kept_too() -> None:
    routed = _routed([_provider(metadata={"labels": {"a": "b"}})], [_alert()])
    report = Report()
    assert notifications_config(routed, "flux-system", report) == {}
    assert report.items == [_kept("Provider slack"), _kept("Alert on-error", line=10)]
    assert [c.forms.final["kind"] for c in routed.blocks["apps"].shared] == ["Provider", "Alert"]


def test_an_alert_without_a_provider_is_kept_as_a_manifest() -> None:
    alert = _alert()
    del alert["spec"]["providerRef"]
    report = Report()
    config = notifications_config(_routed([_provider()], [alert]), "flux-system", report)
    assert "alerts" not in config
    assert report.items == [_kept("Alert on-error", line=10)]


def test_an_alert_the_model_refuses_is_kept_as_a_manifest() -> None:
    report = Report()
    config = notifications_config(_routed([_provider()], [_alert(suspend=True)]), "flux-system", report)
    assert "alerts" not in config
    assert report.items == [_kept("Alert on-error", line=10)]


def test_an_alert_in_another_namespace_is_kept_as_a_manifest() -> None:
    alert = _alert()
    alert["metadata"]["namespace"] = "apps"
    report = Report()
    config = notifications_config(_routed([_provider()], [alert]), "flux-system", report)
    assert "alerts" not in config
    assert report.items == [_kept("Alert on-error", line=10)]
