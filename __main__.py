"""Pulumi entry point: `pulumi up --stack <cluster>` (see README.md)."""

from pathlib import Path

import pulumi

from components.program import run

pulumi.run(lambda: run(Path(__file__).resolve().parent))
