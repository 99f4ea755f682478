"""A project for the operations' command tests: stack `test` on the self-written install fixture, with
blocks `base` (a HelmRepository) and `portal` (a Kustomization and a HelmRelease)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import FIXTURE_BLOCKS, FIXTURE_INSTALLS


def operations_project(folder: Path) -> Path:
    (folder / "Pulumi.yaml").write_text("name: eoepca-gitops\nruntime: python\n")
    config = {
        "eoepca-gitops:cluster": {"name": "test", "publicIp": "10.0.0.1"},
        "eoepca-gitops:flux": {"version": "v2.9.3", "manifest": str(FIXTURE_INSTALLS / "new.yaml")},
        "eoepca-gitops:git": {"url": "https://example.org/g.git", "branch": "main"},
        "eoepca-gitops:blocks": ["base", "portal"],
    }
    (folder / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": config}))
    (folder / "clusters").mkdir()
    (folder / "clusters" / "blocks").symlink_to(FIXTURE_BLOCKS)
    return folder
