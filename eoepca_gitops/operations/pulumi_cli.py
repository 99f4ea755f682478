"""The `pulumi` CLI for one stack of a project, as the operations run it: the user's own environment
(backend, passphrase), the project folder, no prompts; every failure one GitopsError with its last line.

Each command is a run of its own (eoepca_gitops/runs.py): killed with this process, and whatever it
started (the plugins) stopped when it ends, times out or is interrupted (Ctrl-C)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.runs import Run, tied_to_this_process

__all__ = ["PulumiCli"]


@dataclass(frozen=True)
class PulumiCli:
    stack: str
    project: Path
    env: dict[str, str] | None = None

    def available(self) -> str | None:
        """Why pulumi cannot be run here, or None."""
        if shutil.which("pulumi", path=(self.env or os.environ).get("PATH")) is None:
            return "pulumi is not on PATH (. scripts/env.sh puts it there)"
        return None

    def run(self, *args: str, timeout: float = 1800) -> str:
        missing = self.available()
        if missing:
            raise GitopsError(missing)
        run = Run.new("pulumi")
        try:
            proc = subprocess.run(
                tied_to_this_process(["pulumi", *args, "--stack", self.stack, "--non-interactive"]),
                cwd=self.project,
                env=run.env(self.env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitopsError(
                f"pulumi {args[0]} --stack {self.stack}: not done after {timeout:.0f} s, stopped"
            ) from None
        finally:
            run.stop()
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
            errors = [ln.strip() for ln in lines if "error:" in ln] or lines[-1:]
            raise GitopsError(f"pulumi {args[0]} --stack {self.stack}: {errors[-1] if errors else 'failed'}")
        return proc.stdout

    def json(self, *args: str, timeout: float = 1800) -> Any:
        return json.loads(self.run(*args, "--json", timeout=timeout) or "null")
