"""Every file or folder of this repository that a document names exists: a README whose table
names a moved room sends the next person to the wrong door. Results files are records of past runs
and keep the names of their day."""

from __future__ import annotations

import re
import subprocess

from tests.helpers import REPO_ROOT

RECORDS = {"bench/results.md", "tests/mutation/results.md"}
# A path starts at a top-level folder of the checkout; globs and <placeholders> name a family, not a file.
_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)+[\w.*<>{}-]*)")


def _documents() -> list[str]:
    command = ["git", "ls-files", "*.md"]
    tracked = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [f for f in tracked.stdout.split() if f not in RECORDS]


def _named(text: str, tops: set[str]) -> set[str]:
    found = set()
    for match in _PATH.finditer(text):
        path = match.group(1).rstrip(".-/")
        if path.split("/")[0] in tops and not set(path) & set("*<>{}"):
            found.add(path)
    return found


def test_every_path_a_document_names_exists() -> None:
    tops = {p.name for p in REPO_ROOT.iterdir() if p.name not in {".git", ".venv", ".state"}}
    missing = [
        f"{doc}: {path}"
        for doc in _documents()
        for path in sorted(_named((REPO_ROOT / doc).read_text(), tops))
        if not (REPO_ROOT / path).exists()
    ]
    assert not missing, "\n".join(missing)


def test_a_moved_file_is_found() -> None:
    tops = {"tests", "docs"}
    assert _named("see tests/house/test_layers.py, tests/*.py and docs/<name>.md", tops) == {
        "tests/house/test_layers.py"
    }
