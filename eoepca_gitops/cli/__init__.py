"""Thin commands over the model and the manifest builders: parse, validate, do I/O, print.

`run` is the `eoepca-gitops` program: it imports the commands only once it can report Ctrl-C
during that import (the first second of a run) as every command reports it, in one line.
"""

from __future__ import annotations

import sys

__all__ = ["run"]


def run() -> None:
    try:
        from eoepca_gitops.cli.main import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
