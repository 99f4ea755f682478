"""Charts as Helm fetches them, cached: `helm pull` from the chart repository (or OCI registry) a
stack names, kept under ~/.cache/eoepca-gitops/charts/<hash of the URL>/<chart>-<version>.tgz.

A chart version never changes: an exact version found in the cache is not asked for again, so a
review of a bump needs the network once per chart version. A version constraint (`<2.0`, `*`) is
resolved by the repository each time. Helm runs with homes of its own (no repository list, cache or
credentials of the user's), and its repository index goes to a temporary folder.

Two failures, told apart: ChartMissing when the repository answered and has no such chart or
version (the release would fail on the cluster too), ChartUnavailable when it could not be asked
(no network, a timeout, a registry refusing) or the chart is not where the release says.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from eoepca_gitops.credentials import redact
from eoepca_gitops.errors import GitopsError, PathError
from eoepca_gitops.files import inside, read_bytes, write_file
from eoepca_gitops.manifests.flux_release import cache_root
from eoepca_gitops.review.releases import ChartSource

__all__ = ["ChartMissing", "ChartUnavailable", "Helm", "cache_dir", "fetch", "last_line"]

# helm's words when the repository's index has no such chart, or no such version of it.
_NOT_IN_REPOSITORY = re.compile(r'chart "[^"]*"(?: version "[^"]*")? not found in ')
_EXACT = re.compile(r"v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)")
#: Seconds one helm call may take (a chart repository that does not answer).
TIMEOUT = 120


class ChartMissing(GitopsError):
    """The repository answered: it has no such chart or chart version."""


class ChartUnavailable(GitopsError):
    """The chart could not be fetched (network, registry, a source outside the project)."""


def cache_dir() -> Path:
    return cache_root() / "charts"


@dataclass
class Helm:
    """The helm binary, run with homes of its own under `home`."""

    binary: Path
    home: Path
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [str(self.binary), *args],
                capture_output=True,
                text=True,
                env=self.env,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ChartUnavailable(f"helm {args[0]} did not finish in {TIMEOUT} s") from None


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return redact(lines[-1].removeprefix("Error: ")) if lines else "no message"


def _entry(source: ChartSource, version: str) -> Path:
    where = hashlib.sha256(source.url.encode()).hexdigest()[:16]
    return cache_dir() / where / f"{source.chart}-{version}.tgz"


def _pull(helm: Helm, source: ChartSource) -> Path:
    with tempfile.TemporaryDirectory(prefix="eoepca-gitops-chart-") as tmp:
        if source.kind == "oci":
            ref = ["pull", f"{source.url.rstrip('/')}/{source.chart}"]
        else:
            ref = ["pull", source.chart, "--repo", source.url]
        result = helm.run(*ref, "--version", source.version, "--destination", tmp)
        if result.returncode != 0:
            problem = last_line(result.stderr)
            if _NOT_IN_REPOSITORY.search(result.stderr):
                raise ChartMissing(problem)
            raise ChartUnavailable(problem)
        pulled = sorted(Path(tmp).glob("*.tgz"))
        if len(pulled) != 1:
            raise ChartUnavailable(f"helm pull left {len(pulled)} chart archives, not one")
        version = pulled[0].name.removeprefix(f"{source.chart}-").removesuffix(".tgz")
        entry = _entry(source, version)
        entry.parent.mkdir(parents=True, exist_ok=True)
        # Whole or not at all, whoever else (another release's thread, another run) pulls it meanwhile.
        return write_file(entry.parent, entry.name, read_bytes(pulled[0]), replace=True)


def fetch(helm: Helm, source: ChartSource, project: Path) -> Path:
    """The chart of `source`: a packaged chart from the cache or its repository, or a folder of
    `project` (a chart in the stack's own Git repository)."""
    if source.kind == "folder":
        try:
            folder = inside(project, source.url)
        except PathError as exc:
            raise ChartUnavailable(str(exc)) from None
        if not (folder / "Chart.yaml").is_file():
            raise ChartMissing(f"no Chart.yaml in {source.url} of the repository")
        return folder
    exact = _EXACT.fullmatch(source.version)
    if exact and _entry(source, exact.group(1)).is_file():
        return _entry(source, exact.group(1))
    return _pull(helm, source)
