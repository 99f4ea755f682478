"""Pulumi entry point: `pulumi up --stack <cluster>` (see README.md)."""

from pathlib import Path

from components.program import run

run(Path(__file__).resolve().parent)
