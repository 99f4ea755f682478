"""The `eoepca-gitops` command. Exit codes: 0 ok, 1 changes found (diff) or lease lost (poll), 2 error."""

from __future__ import annotations

import typer

from eoepca_gitops.cli import (
    dev_cluster,
    diff,
    import_cmd,
    new_cluster,
    operate,
    poll,
    render,
    status,
    validate,
)
from eoepca_gitops.cli.common import Commands

app = typer.Typer(
    cls=Commands,
    help="Install and drive Flux CD on Kubernetes clusters with Pulumi, one stack per cluster.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(dev_cluster.app, name="dev-cluster")
app.command("render")(render.render)
app.command("new-cluster")(new_cluster.new_cluster)
app.command("import")(import_cmd.import_tree_cmd)
app.command("validate")(validate.validate_cmd)
app.command("fetch-schemas")(validate.fetch_schemas)
app.command("diff")(diff.diff)
app.command("poll")(poll.poll)
app.command("status")(status.status)
app.command("reconcile")(operate.reconcile)
app.command("suspend")(operate.suspend)
app.command("resume")(operate.resume)
app.command("undeploy")(operate.undeploy)
