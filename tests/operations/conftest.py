"""What the tests of the operations' commands share: a project whose stack `test` names the
self-written install fixture and the fixture blocks `base` and `portal`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import FIXTURE_BLOCKS, FIXTURE_INSTALLS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: eoepca-gitops\nruntime: python\n")
    config = {
        "eoepca-gitops:cluster": {"name": "test", "publicIp": "10.0.0.1"},
        "eoepca-gitops:flux": {"version": "v2.9.3", "manifest": str(FIXTURE_INSTALLS / "new.yaml")},
        "eoepca-gitops:git": {"url": "https://example.org/g.git", "branch": "main"},
        "eoepca-gitops:blocks": ["base", "portal"],
    }
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": config}))
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "blocks").symlink_to(FIXTURE_BLOCKS)
    return tmp_path
