"""What the tests of the operations' commands share: `project`, a project whose stack `test` names the
self-written install fixture and the fixture blocks `base` and `portal` (tests/operations/projects.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.operations.projects import operations_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return operations_project(tmp_path)
