"""The `eoepca-gitops` command. Exit codes: 0 ok, 1 changes found (diff), 2 error."""

from __future__ import annotations

import typer

from components.cli import dev_cluster, import_cmd, new_cluster, render
from components.cli import diff as diff_cmd
from components.cli import watch as watch_cmd

app = typer.Typer(
    help="Install and drive Flux CD on Kubernetes clusters with Pulumi, one stack per cluster.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(dev_cluster.app, name="dev-cluster")
app.command("render")(render.render)
app.command("new-cluster")(new_cluster.new_cluster)
app.command("import")(import_cmd.import_tree_cmd)
app.command("diff")(diff_cmd.diff)
app.command("watch")(watch_cmd.watch)
app.command("status")(watch_cmd.status)
