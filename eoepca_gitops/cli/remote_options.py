"""`--fetch-remote` and its caps, one definition for every command that builds the Git layer
(`import`, `render`): the same words, defaults and limits wherever a remote base may be fetched."""

from __future__ import annotations

import typer

from eoepca_gitops.fluxtree.fetch import Limits

FETCH_REMOTE = typer.Option(
    False,
    "--fetch-remote",
    help="Fetch the remote bases kustomizations name (no credentials sent) to count and show their "
    "objects; the folders are carried unchanged either way.",
)
FETCH_SECONDS = typer.Option(
    Limits.seconds, "--fetch-time-cap", min=0.1, help="--fetch-remote: seconds per remote resource."
)
FETCH_MIB = typer.Option(
    Limits.max_bytes / 2**20, "--fetch-size-cap", min=0.001, help="--fetch-remote: MiB per remote resource."
)


def fetch_limits(fetch_remote: bool, seconds: float, mib: float) -> Limits | None:
    """The caps a fetch runs with, or None when remote bases are not to be fetched."""
    return Limits(seconds, int(mib * 2**20)) if fetch_remote else None
