"""The verdict of a Flux object for its current generation: Ready, Failed or Waiting.

Pure: the object as the API server returns it, and a lookup of the objects it depends on (its
source, the HelmChart helm-controller made for it, its dependsOn), in; a Verdict out. Like the
Pulumi Kubernetes Operator's decide functions, it holds no clock and makes no call of its own, so
every rule is a table test (tests/readiness/test_verdict.py).

- Ready: Ready=True stamped with the current generation (Flux stamps each condition with the
  generation it judged; status.observedGeneration moves only on success for some kinds).
- Failed: what Flux will not fix by retrying this generation. Read from the controllers' sources
  (helm-controller v1.6.4, kustomize-controller v1.9.4, source-controller v1.9.3):
  - Stalled=True: Flux's own word that it stopped (helm-controller's RetriesExceeded and
    MissingRollbackTarget, an invalid CEL expression, access denied; source-controller's
    persistent build errors: a chart or version that does not exist is InvalidChartReference);
  - a HelmRelease whose install or upgrade failed (InstallFailed, UpgradeFailed) with its
    remediation retries used up, a moment before helm-controller marks it Stalled; not with the
    RetryOnFailure strategy, under which helm-controller retries for ever;
  - a HelmRelease whose install or upgrade failed before Helm stored a release: values the chart's
    values.schema.json refuses, a template that fails (`required`, `fail`). helm-controller counts
    no remediation then and retries with a backoff for ever, but the same chart and values fail
    the same way every time;
  - a HelmRelease whose source (its HelmChart) is failed: helm-controller only says SourceNotReady;
  - a Kustomization whose path is not in the source's artifact (ArtifactFailed "kustomization path
    not found") or whose kustomize build fails (BuildFailed): the same revision fails again;
  - a dependency (dependsOn) that is itself failed or suspended: Flux waits for it for ever;
  - suspended: no controller acts on it until it is resumed.
- Waiting: everything else, with Flux's current reason: the source not fetched yet, a dependency
  still reconciling, an apply that failed but is retried (a CRD another release installs later),
  an install in progress.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "NOT_FOUND",
    "SUSPENDED",
    "Lookup",
    "State",
    "Verdict",
    "failed",
    "ready",
    "verdict",
    "waiting",
]

#: kind, namespace, name -> the object, or None when it does not exist.
Lookup = Callable[[str, str, str], Mapping[str, Any] | None]

SUSPENDED = "Suspended"
NOT_FOUND = "NotFound"
# A generation no controller has judged yet: not a Flux reason, Flux has said nothing about it.
NOT_RECONCILED = "NotReconciled"
_HELM_FAILURES = {"InstallFailed": "install", "UpgradeFailed": "upgrade"}
_PATH_NOT_FOUND = "kustomization path not found"
# Helm's errors for a chart and values that can never render (chartutil.ValidateAgainstSchema, the
# template engine's `required`/`fail`): helm-controller reports them in InstallFailed/UpgradeFailed.
_HELM_NEVER_RENDERS = ("values don't meet the specifications of the schema", "execution error at (")
_SOURCE_REASONS = ("SourceNotReady", "ArtifactFailed")


class State(StrEnum):
    READY = "Ready"
    FAILED = "Failed"
    WAITING = "Waiting"


@dataclass(frozen=True)
class Verdict:
    state: State
    reason: str
    message: str = ""

    @property
    def final(self) -> bool:
        """Ready or Failed: waiting longer would not change it."""
        return self.state is not State.WAITING

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}" if self.message else self.reason


def ready(reason: str, message: str = "") -> Verdict:
    return Verdict(State.READY, reason, message)


def failed(reason: str, message: str = "") -> Verdict:
    return Verdict(State.FAILED, reason, message)


def waiting(reason: str, message: str = "") -> Verdict:
    return Verdict(State.WAITING, reason, message)


@dataclass(frozen=True)
class _Condition:
    status: str
    reason: str
    message: str


def _current(obj: Mapping[str, Any], kind: str) -> _Condition | None:
    """The condition `kind` if it was set for the object's current generation."""
    status = obj.get("status") or {}
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    for c in status.get("conditions") or []:
        if c.get("type") != kind:
            continue
        seen = c.get("observedGeneration", status.get("observedGeneration", -1))
        if int(seen if seen is not None else -1) < generation:
            return None
        return _Condition(str(c.get("status", "")), str(c.get("reason", "")), str(c.get("message", "")))
    return None


def _ref(kind: str, namespace: str, name: str) -> str:
    return f"{kind} {namespace}/{name}"


def verdict(obj: Mapping[str, Any] | None, lookup: Lookup) -> Verdict:
    """The verdict of a Flux object (Kustomization, HelmRelease or a source) for its generation."""
    return _judge(obj, lookup, frozenset())


def _judge(obj: Mapping[str, Any] | None, lookup: Lookup, seen: frozenset[str]) -> Verdict:
    if obj is None:
        return waiting(NOT_FOUND, "not in the cluster")
    ready_ = _current(obj, "Ready")
    if ready_ is not None and ready_.status == "True":
        return ready(ready_.reason, ready_.message)
    if (obj.get("spec") or {}).get("suspend"):
        return failed(SUSPENDED, "suspended: Flux does not reconcile it until it is resumed")
    stalled = _current(obj, "Stalled")
    if stalled is not None and stalled.status == "True":
        if ready_ is None or ready_.status != "False" or ready_.message == stalled.message:
            return failed(stalled.reason, stalled.message)
        return failed(ready_.reason, f"{ready_.message} ({stalled.reason}: {stalled.message})")
    blocked = _failed_dependency(obj, lookup, seen)
    if blocked is not None:
        return blocked
    if ready_ is None:
        reconciling = _current(obj, "Reconciling")
        if reconciling is not None and reconciling.status == "True":
            return waiting(reconciling.reason, reconciling.message)
        generation = (obj.get("metadata") or {}).get("generation", 0)
        return waiting(NOT_RECONCILED, f"Flux has not reconciled generation {generation} yet")
    if ready_.status == "False":
        final = _final_failure(obj, ready_, lookup)
        if final is not None:
            return final
    return waiting(ready_.reason, ready_.message)


def _failed_dependency(obj: Mapping[str, Any], lookup: Lookup, seen: frozenset[str]) -> Verdict | None:
    """Failed when a dependsOn of a Kustomization or HelmRelease (same kind) is failed itself."""
    kind = str(obj.get("kind", ""))
    if kind not in ("Kustomization", "HelmRelease"):
        return None
    meta = obj.get("metadata") or {}
    here = _ref(kind, str(meta.get("namespace", "")), str(meta.get("name", "")))
    for dep in (obj.get("spec") or {}).get("dependsOn") or []:
        namespace = str(dep.get("namespace") or meta.get("namespace", ""))
        ref = _ref(kind, namespace, str(dep.get("name", "")))
        if ref in seen or ref == here:
            continue  # a cycle: Flux waits for ever there too, and says so in its own reason
        found = _judge(lookup(kind, namespace, str(dep.get("name", ""))), lookup, seen | {here})
        if found.state is State.FAILED:
            return failed("DependencyNotReady", f"dependency {ref} failed: {found}")
    return None


def _final_failure(obj: Mapping[str, Any], ready_: _Condition, lookup: Lookup) -> Verdict | None:
    """A Ready=False reason that Flux will not get past by retrying this generation."""
    kind = obj.get("kind")
    if kind == "HelmRelease" and ready_.reason in _HELM_FAILURES:
        never = any(text in ready_.message for text in _HELM_NEVER_RENDERS)
        if never or _remediation_exhausted(obj, ready_.reason):
            return failed(ready_.reason, ready_.message)
    if kind == "Kustomization" and (
        ready_.reason == "BuildFailed"
        or (ready_.reason == "ArtifactFailed" and ready_.message.startswith(_PATH_NOT_FOUND))
    ):
        return failed(ready_.reason, ready_.message)
    if ready_.reason in _SOURCE_REASONS:
        source = _source_of(obj)
        if source is not None:
            found = _judge_source(lookup(*source))
            if found.state is State.FAILED:
                # Flux's message may predate the source's failure (helm-controller wrote it while the
                # HelmChart it had just changed was not reconciled yet): then the source's own words,
                # as helm-controller puts them on its next pass.
                kind_, namespace, name = source
                now = f"{kind_} '{namespace}/{name}' is not ready: {found.message}"
                return failed(ready_.reason, ready_.message if found.message in ready_.message else now)
    return None


def _remediation_exhausted(obj: Mapping[str, Any], reason: str) -> bool:
    """helm-controller's RetriesExhausted for the failed action: failures > remediation.retries
    (a negative number of retries is unlimited), unless the action's strategy is RetryOnFailure."""
    action = _HELM_FAILURES[reason]
    spec = (obj.get("spec") or {}).get(action) or {}
    if (spec.get("strategy") or {}).get("name") == "RetryOnFailure":
        return False
    retries = int((spec.get("remediation") or {}).get("retries") or 0)
    failures = int((obj.get("status") or {}).get(f"{action}Failures") or 0)
    return retries >= 0 and failures > retries


def _source_of(obj: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(kind, namespace, name) of what a Kustomization or HelmRelease takes its artifact from."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    if obj.get("kind") == "Kustomization":
        ref = spec.get("sourceRef") or {}
    elif obj.get("kind") == "HelmRelease" and spec.get("chartRef"):
        ref = spec["chartRef"]
    elif obj.get("kind") == "HelmRelease":
        # helm-controller records the HelmChart it made for spec.chart as <namespace>/<name>.
        chart_namespace, _, chart_name = str(status.get("helmChart") or "").partition("/")
        return ("HelmChart", chart_namespace, chart_name) if chart_name else None
    else:
        return None
    if not ref.get("kind") or not ref.get("name"):
        return None
    return (str(ref["kind"]), str(ref.get("namespace") or meta.get("namespace", "")), str(ref["name"]))


def _judge_source(obj: Mapping[str, Any] | None) -> Verdict:
    """A source (GitRepository, HelmRepository, HelmChart, OCIRepository, Bucket): source-controller
    retries every failure except those it marks Stalled."""
    return _judge(obj, lambda *_: None, frozenset())
