"""`prepare`: the one way from a loaded stack to what is registered, reviewed and shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.prepared import prepare
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.project import open_stack
from tests.helpers import FIXTURES

pytestmark = pytest.mark.flux_manifests


def test_the_stack_is_built_with_the_manifest_of_its_flux_version() -> None:
    stack = open_stack(FIXTURES / "project", "test")
    prepared = prepare(stack, FIXTURES / "project")
    install = load_install_manifest(stack.config.flux, file=stack.file_name, project=FIXTURES / "project")
    assert prepared.stack is stack and prepared.install == install
    assert prepared.manifest.is_file() and stack.config.flux.version in prepared.manifest.read_text()[:2048]
    assert prepared.manifests.all() == build_stack(stack, install).all()


def test_a_manifest_that_is_no_flux_install_names_the_stack_file_and_key(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", project)
    stack = open_stack(project, "test")
    (project / "install.yaml").write_text(f"# Flux Version: {stack.config.flux.version}\nkind: Namespace\n")
    flux = stack.config.flux.model_copy(update={"manifest": "install.yaml"})
    with pytest.raises(ConfigError) as info:
        prepare(stack.model_copy(update={"config": stack.config.model_copy(update={"flux": flux})}), project)
    assert (info.value.file, info.value.key) == ("Pulumi.test.yaml", "eoepca-gitops:flux.manifest")
