"""`eoepca-gitops check`: whether a stack's cluster runs what the stack installs (`flux check`).

Exit codes: 0 everything checked is as it should be, 1 something is not, 2 the cluster cannot be read.
"""

from __future__ import annotations

import typer

from eoepca_gitops.cli.common import (
    AsJson,
    Format,
    Output,
    Project,
    StackName,
    load_flux,
    reported,
    show,
    show_data,
)
from eoepca_gitops.operations.check import CheckReport
from eoepca_gitops.project import find_project

__all__ = ["check", "check_text"]

_TITLES = {"prerequisites": "prerequisites", "controllers": "Flux {} controllers", "crds": "Flux CRDs"}


def check_text(report: CheckReport) -> str:
    """The report as `flux check` prints it: a title per group, a line per thing checked."""
    lines, group = [], ""
    for c in report.checks:
        if c.group != group:
            group = c.group
            lines.append(f"► {_TITLES[group].format(report.flux_version)}")
        lines.append(f"{'✔' if c.ok else '✗'} {c.name}: {c.detail}")
    failed = sum(not c.ok for c in report.checks)
    lines.append("✔ all checks passed" if not failed else f"✗ {failed} of {len(report.checks)} checks failed")
    return "\n".join(lines)


@reported
def check(
    stack_name: StackName, project: Project = None, output: Output = Format.text, as_json: AsJson = False
) -> None:
    """Check the prerequisites (kubectl, kustomize, pulumi, the cluster and its Kubernetes version),
    that Flux's controllers run at the version the stack pins, and that each Flux CRD serves the
    versions that release serves. Exit 1 if something is not as it should be."""
    from eoepca_gitops.kube.cluster import ClusterAccess
    from eoepca_gitops.operations.check import check_cluster, check_tools

    stack, install = load_flux(stack_name, find_project(project))
    access = ClusterAccess.for_stack(stack)
    report = check_cluster(access, install, check_tools(), stack.name, stack.config.flux.version)
    output = Format.json if as_json else output
    if output is Format.text:
        show(check_text(report))
    else:
        show_data(report.to_json(), output)
    raise typer.Exit(report.exit_code)
