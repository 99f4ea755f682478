"""Headless Chromium (Debian's package, installed by `make browser`) looking at a page as a user would:
the DOM after the browser built it, and a screenshot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is not installed: `make browser` installs Debian's package", pytrace=False)
    return found


def look(url: str, screenshot: Path, stay: float = 0.0) -> str:
    """The page's DOM as Chromium rendered it; its screenshot is written to `screenshot`. With `stay`,
    after the page's own timers have run that many seconds (Chromium's virtual time: no real wait)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        base = [chromium(), *FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1800"]
        if stay:
            base.append(f"--virtual-time-budget={int(stay * 1000)}")
        subprocess.run(
            [*base, f"--screenshot={screenshot}", url], capture_output=True, timeout=120, check=True
        )
        dom = subprocess.run(
            [*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
        )
    return dom.stdout
