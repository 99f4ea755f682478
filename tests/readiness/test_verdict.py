"""The verdict of a Flux object, reason by reason: one row per rule of eoepca_gitops/readiness/
verdict.py, with the conditions and messages Flux's controllers write (helm-controller v1.6.4,
kustomize-controller v1.9.4, source-controller v1.9.3)."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from eoepca_gitops.readiness.verdict import Lookup, Verdict, failed, ready, verdict, waiting
from tests.readiness.fake_cluster import condition as c
from tests.readiness.fake_cluster import flux_object as o


def HR(*conds: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return o("HelmRelease", "app", "ns", *conds, **kw)


def KS(*conds: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return o("Kustomization", "app", "flux-system", *conds, **kw)


def lookup_of(*objects: dict[str, Any]) -> Lookup:
    found = {(x["kind"], x["metadata"]["namespace"], x["metadata"]["name"]): x for x in objects}
    return lambda kind, namespace, name: found.get((kind, namespace, name))


CHART = {"helmChart": "common/ns-app"}
CHART_GONE = (
    "invalid chart reference: failed to get chart version for remote reference: no 'login-service' chart "
    "with version matching '9.9.9' found"
)
HELM_CHART_STALLED = o(
    "HelmChart",
    "ns-app",
    "common",
    c("Ready", "False", "InvalidChartReference", CHART_GONE),
    c("Stalled", "True", "InvalidChartReference", CHART_GONE),
)
SOURCE_NOT_READY = f"HelmChart 'common/ns-app' is not ready: {CHART_GONE}"
SCHEMA = (
    "Helm install failed for release ns/app with chart portal@1.0.9: values don't meet the "
    "specifications of the schema(s) in the following chart(s):\nportal:\n- at '/replicaCount': got string"
)
PATH_GONE = "kustomization path not found: stat /tmp/kustomization-1/clusters/x: no such file or directory"
GIT = {"sourceRef": {"kind": "GitRepository", "name": "flux-system"}}


def dep(kind: str, name: str, *conds: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return o(kind, name, "flux-system" if kind == "Kustomization" else "ns", *conds, **kw)


class Case(NamedTuple):
    name: str
    obj: dict[str, Any] | None
    related: tuple[dict[str, Any], ...]
    expected: Verdict


CASES = [
    # -- any kind --------------------------------------------------------------------------------------------
    Case("missing", None, (), waiting("NotFound", "not in the cluster")),
    Case(
        "Ready for this generation",
        HR(c("Ready", "True", "InstallSucceeded", "Helm install succeeded")),
        (),
        ready("InstallSucceeded", "Helm install succeeded"),
    ),
    Case(
        "Ready for the previous generation: not judged yet",
        HR(c("Ready", "True", "InstallSucceeded", generation=1)),
        (),
        waiting("NotReconciled", "Flux has not reconciled generation 2 yet"),
    ),
    Case(
        "no status at all",
        HR(),
        (),
        waiting("NotReconciled", "Flux has not reconciled generation 2 yet"),
    ),
    Case(
        "Reconciling for this generation, Ready from the previous one",
        HR(
            c("Ready", "True", "UpgradeSucceeded", generation=1),
            c("Reconciling", "True", "Progressing", "Fulfilling prerequisites"),
        ),
        (),
        waiting("Progressing", "Fulfilling prerequisites"),
    ),
    Case(
        "conditions without observedGeneration: status.observedGeneration says",
        {
            **HR(),
            "status": {
                "observedGeneration": 2,
                "conditions": [{"type": "Ready", "status": "True", "reason": "R"}],
            },
        },
        (),
        ready("R"),
    ),
    Case(
        "an install in progress",
        HR(c("Ready", "Unknown", "Progressing", "Running 'install' action with timeout of 5m0s")),
        (),
        waiting("Progressing", "Running 'install' action with timeout of 5m0s"),
    ),
    Case(
        "suspended",
        HR(c("Ready", "True", "UpgradeSucceeded", generation=1), spec={"suspend": True}),
        (),
        failed("Suspended", "suspended: Flux does not reconcile it until it is resumed"),
    ),
    Case(
        "suspended but Ready for this generation",
        HR(c("Ready", "True", "UpgradeSucceeded"), spec={"suspend": True}),
        (),
        ready("UpgradeSucceeded"),
    ),
    Case(
        "Stalled, Ready saying the same",
        HR(
            c("Ready", "False", "AccessDenied", "cross-namespace"),
            c("Stalled", "True", "AccessDenied", "cross-namespace"),
        ),
        (),
        failed("AccessDenied", "cross-namespace"),
    ),
    Case(
        "Stalled RetriesExceeded: Ready's reason first, the stall after",
        HR(
            c("Ready", "False", "InstallFailed", "Helm install failed: timeout"),
            c("Stalled", "True", "RetriesExceeded", "Failed to install after 1 attempt(s)"),
        ),
        (),
        failed(
            "InstallFailed",
            "Helm install failed: timeout (RetriesExceeded: Failed to install after 1 attempt(s))",
        ),
    ),
    Case(
        "Stalled alone",
        KS(c("Stalled", "True", "InvalidCELExpression", "bad expression")),
        (),
        failed("InvalidCELExpression", "bad expression"),
    ),
    Case(
        "Stalled for the previous generation: not any more",
        HR(
            c("Ready", "False", "InstallFailed", "x", generation=1),
            c("Stalled", "True", "RetriesExceeded", "y", generation=1),
        ),
        (),
        waiting("NotReconciled", "Flux has not reconciled generation 2 yet"),
    ),
    # -- HelmRelease: install and upgrade --------------------------------------------------------------------
    Case(
        "install failed, no retries left (the default: 0)",
        HR(c("Ready", "False", "InstallFailed", "boom"), status={"installFailures": 1}),
        (),
        failed("InstallFailed", "boom"),
    ),
    Case(
        "install failed, retries left",
        HR(
            c("Ready", "False", "InstallFailed", "boom"),
            spec={"install": {"remediation": {"retries": 2}}},
            status={"installFailures": 2},
        ),
        (),
        waiting("InstallFailed", "boom"),
    ),
    Case(
        "install failed, retries used up",
        HR(
            c("Ready", "False", "InstallFailed", "boom"),
            spec={"install": {"remediation": {"retries": 2}}},
            status={"installFailures": 3},
        ),
        (),
        failed("InstallFailed", "boom"),
    ),
    Case(
        "install failed, unlimited retries",
        HR(
            c("Ready", "False", "InstallFailed", "boom"),
            spec={"install": {"remediation": {"retries": -1}}},
            status={"installFailures": 9},
        ),
        (),
        waiting("InstallFailed", "boom"),
    ),
    Case(
        "install failed under RetryOnFailure: retried for ever",
        HR(
            c("Ready", "False", "InstallFailed", "boom"),
            spec={"install": {"strategy": {"name": "RetryOnFailure"}}},
            status={"installFailures": 1},
        ),
        (),
        waiting("InstallFailed", "boom"),
    ),
    Case(
        "install failed before any release was stored: nothing counted yet",
        HR(c("Ready", "False", "InstallFailed", "boom")),
        (),
        waiting("InstallFailed", "boom"),
    ),
    Case(
        "upgrade failed, no retries left",
        HR(c("Ready", "False", "UpgradeFailed", "boom"), status={"upgradeFailures": 1, "installFailures": 0}),
        (),
        failed("UpgradeFailed", "boom"),
    ),
    Case(
        "upgrade failed, a retry left (the install's count does not matter)",
        HR(
            c("Ready", "False", "UpgradeFailed", "boom"),
            spec={"upgrade": {"remediation": {"retries": 1}}},
            status={"upgradeFailures": 1, "installFailures": 5},
        ),
        (),
        waiting("UpgradeFailed", "boom"),
    ),
    Case(
        "values the chart's schema refuses: helm-controller retries them for ever",
        HR(c("Ready", "False", "InstallFailed", SCHEMA), spec={"install": {"remediation": {"retries": -1}}}),
        (),
        failed("InstallFailed", SCHEMA),
    ),
    Case(
        "a template that fails on the values",
        HR(
            c(
                "Ready",
                "False",
                "UpgradeFailed",
                "execution error at (portal/templates/a.yaml:3:4): host required",
            )
        ),
        (),
        failed("UpgradeFailed", "execution error at (portal/templates/a.yaml:3:4): host required"),
    ),
    Case(
        "values from a ConfigMap not there yet",
        HR(c("Ready", "False", "ValuesError", "could not find ConfigMap 'ns/v'")),
        (),
        waiting("ValuesError", "could not find ConfigMap 'ns/v'"),
    ),
    # -- HelmRelease: its source -----------------------------------------------------------------------------
    Case(
        "a chart version that does not exist (the HelmChart is Stalled)",
        HR(c("Ready", "False", "SourceNotReady", SOURCE_NOT_READY), status=CHART),
        (HELM_CHART_STALLED,),
        failed("SourceNotReady", SOURCE_NOT_READY),
    ),
    Case(
        "Flux's message older than the HelmChart's failure: the HelmChart's own words",
        HR(
            c(
                "Ready",
                "False",
                "SourceNotReady",
                "HelmChart 'common/ns-app' is not ready: latest generation of object has not been reconciled",
            ),
            status=CHART,
        ),
        (HELM_CHART_STALLED,),
        failed("SourceNotReady", SOURCE_NOT_READY),
    ),
    Case(
        "a HelmChart not fetched yet",
        HR(c("Ready", "False", "SourceNotReady", "HelmChart 'common/ns-app' is not ready"), status=CHART),
        (o("HelmChart", "ns-app", "common", c("Ready", "False", "ChartPullError", "connection refused")),),
        waiting("SourceNotReady", "HelmChart 'common/ns-app' is not ready"),
    ),
    Case(
        "a HelmChart Stalled for its previous generation",
        HR(c("Ready", "False", "SourceNotReady", "x"), status=CHART),
        (
            o(
                "HelmChart",
                "ns-app",
                "common",
                c("Stalled", "True", "InvalidChartReference", "y", generation=1),
            ),
        ),
        waiting("SourceNotReady", "x"),
    ),
    Case(
        "a HelmChart not made yet",
        HR(c("Ready", "False", "ArtifactFailed", "could not get Source object")),
        (),
        waiting("ArtifactFailed", "could not get Source object"),
    ),
    Case(
        "chartRef: an OCIRepository that is Stalled",
        HR(
            c("Ready", "False", "SourceNotReady", "OCIRepository 'ns/oci' is not ready"),
            spec={"chartRef": {"kind": "OCIRepository", "name": "oci"}},
        ),
        (o("OCIRepository", "oci", "ns", c("Stalled", "True", "URLInvalid", "bad URL")),),
        failed("SourceNotReady", "OCIRepository 'ns/oci' is not ready: bad URL"),
    ),
    # -- dependencies ----------------------------------------------------------------------------------------
    Case(
        "a dependency that failed",
        HR(
            c("Ready", "False", "DependencyNotReady", "dependency 'ns/db' is not ready"),
            spec={"dependsOn": [{"name": "db"}]},
        ),
        (
            dep(
                "HelmRelease",
                "db",
                c("Ready", "False", "InstallFailed", "boom"),
                status={"installFailures": 1},
            ),
        ),
        failed("DependencyNotReady", "dependency HelmRelease ns/db failed: InstallFailed: boom"),
    ),
    Case(
        "a dependency that failed, before Flux looked at this generation",
        HR(spec={"dependsOn": [{"name": "db", "namespace": "data"}]}),
        (o("HelmRelease", "db", "data", c("Stalled", "True", "RetriesExceeded", "gave up")),),
        failed("DependencyNotReady", "dependency HelmRelease data/db failed: RetriesExceeded: gave up"),
    ),
    Case(
        "a dependency whose own dependency failed",
        HR(spec={"dependsOn": [{"name": "db"}]}),
        (
            dep("HelmRelease", "db", spec={"dependsOn": [{"name": "disk"}]}),
            dep("HelmRelease", "disk", c("Stalled", "True", "RetriesExceeded", "gave up")),
        ),
        failed(
            "DependencyNotReady",
            "dependency HelmRelease ns/db failed: DependencyNotReady: "
            "dependency HelmRelease ns/disk failed: RetriesExceeded: gave up",
        ),
    ),
    Case(
        "a dependency still installing",
        HR(
            c("Ready", "False", "DependencyNotReady", "dependency 'ns/db' is not ready"),
            spec={"dependsOn": [{"name": "db"}]},
        ),
        (dep("HelmRelease", "db", c("Ready", "Unknown", "Progressing", "Running 'install'")),),
        waiting("DependencyNotReady", "dependency 'ns/db' is not ready"),
    ),
    Case(
        "a dependency not there (yet: Git may bring it)",
        HR(
            c("Ready", "False", "DependencyNotReady", "unable to get 'ns/db' dependency"),
            spec={"dependsOn": [{"name": "db"}]},
        ),
        (),
        waiting("DependencyNotReady", "unable to get 'ns/db' dependency"),
    ),
    Case(
        "a suspended dependency",
        KS(
            c("Ready", "False", "DependencyNotReady", "dependency 'flux-system/base' is not ready"),
            spec={"dependsOn": [{"name": "base"}]},
        ),
        (dep("Kustomization", "base", spec={"suspend": True}),),
        failed(
            "DependencyNotReady",
            "dependency Kustomization flux-system/base failed: "
            "Suspended: suspended: Flux does not reconcile it until it is resumed",
        ),
    ),
    Case(
        "dependencies in a cycle: no answer but Flux's",
        HR(c("Ready", "False", "DependencyNotReady", "cycle"), spec={"dependsOn": [{"name": "b"}]}),
        (dep("HelmRelease", "b", spec={"dependsOn": [{"name": "app"}]}),),
        waiting("DependencyNotReady", "cycle"),
    ),
    Case(
        "a dependency on itself",
        HR(c("Ready", "False", "DependencyNotReady", "self"), spec={"dependsOn": [{"name": "app"}]}),
        (),
        waiting("DependencyNotReady", "self"),
    ),
    # -- Kustomization ---------------------------------------------------------------------------------------
    Case(
        "a path that is not in Git",
        KS(c("Ready", "False", "ArtifactFailed", PATH_GONE), spec=GIT),
        (),
        failed("ArtifactFailed", PATH_GONE),
    ),
    Case(
        "a build that fails",
        KS(c("Ready", "False", "BuildFailed", "kustomize build failed: accumulating resources")),
        (),
        failed("BuildFailed", "kustomize build failed: accumulating resources"),
    ),
    Case(
        "the source's artifact not fetched yet",
        KS(c("Ready", "False", "ArtifactFailed", "Source artifact not found, retrying in 30s"), spec=GIT),
        (
            o(
                "GitRepository",
                "flux-system",
                "flux-system",
                c("Ready", "False", "GitOperationFailed", "refused"),
            ),
        ),
        waiting("ArtifactFailed", "Source artifact not found, retrying in 30s"),
    ),
    Case(
        "a source that is Stalled",
        KS(c("Ready", "False", "ArtifactFailed", "Source artifact not found, retrying in 30s"), spec=GIT),
        (o("GitRepository", "flux-system", "flux-system", c("Stalled", "True", "URLInvalid", "bad URL")),),
        failed("ArtifactFailed", "GitRepository 'flux-system/flux-system' is not ready: bad URL"),
    ),
    Case(
        "an apply Flux retries (a CRD a release installs later)",
        KS(c("Ready", "False", "ReconciliationFailed", "no matches for kind ClusterIssuer")),
        (),
        waiting("ReconciliationFailed", "no matches for kind ClusterIssuer"),
    ),
    Case(
        "health checks not passed yet",
        KS(
            c(
                "Ready",
                "False",
                "HealthCheckFailed",
                "timeout waiting for: [Deployment/x status: 'InProgress']",
            )
        ),
        (),
        waiting("HealthCheckFailed", "timeout waiting for: [Deployment/x status: 'InProgress']"),
    ),
    Case(
        "a dependency whose build fails",
        KS(
            c("Ready", "False", "DependencyNotReady", "dependency 'flux-system/base' is not ready"),
            spec={"dependsOn": [{"name": "base"}]},
        ),
        (dep("Kustomization", "base", c("Ready", "False", "BuildFailed", "bad kustomization.yaml")),),
        failed(
            "DependencyNotReady",
            "dependency Kustomization flux-system/base failed: BuildFailed: bad kustomization.yaml",
        ),
    ),
    # -- sources ---------------------------------------------------------------------------------------------
    Case(
        "a GitRepository with its artifact",
        o("GitRepository", "flux-system", "flux-system", c("Ready", "True", "Succeeded", "stored artifact")),
        (),
        ready("Succeeded", "stored artifact"),
    ),
    Case(
        "a GitRepository that cannot clone: retried",
        o(
            "GitRepository",
            "flux-system",
            "flux-system",
            c("Ready", "False", "GitOperationFailed", "auth failed"),
        ),
        (),
        waiting("GitOperationFailed", "auth failed"),
    ),
    Case(
        "a HelmChart whose version does not exist",
        HELM_CHART_STALLED,
        (),
        failed("InvalidChartReference", CHART_GONE),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_verdict(case: Case) -> None:
    assert verdict(case.obj, lookup_of(*case.related)) == case.expected


def test_only_waiting_is_not_final() -> None:
    assert [v.final for v in (ready("R"), failed("F"), waiting("W"))] == [True, True, False]
    assert str(failed("F", "m")) == "F: m" and str(waiting("W")) == "W"


def test_the_lookup_is_asked_only_for_what_the_object_names() -> None:
    asked: list[tuple[str, str, str]] = []

    def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        asked.append((kind, namespace, name))
        return None

    hr = HR(c("Ready", "False", "SourceNotReady", "x"), spec={"dependsOn": [{"name": "db"}]}, status=CHART)
    verdict(hr, lookup)
    assert asked == [("HelmRelease", "ns", "db"), ("HelmChart", "common", "ns-app")]
    asked.clear()
    verdict(HR(c("Ready", "True", "InstallSucceeded"), spec={"dependsOn": [{"name": "db"}]}), lookup)
    assert asked == []  # Ready needs nothing else
