"""A project as a Git revision has it (eoepca_gitops.review.revision)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.review.revision import at_revision
from tests.helpers import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose project is the folder sub/project, with a symlink inside the repository."""
    repo = tmp_path / "repo"
    project = repo / "sub" / "project"
    (project / "clusters").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: x\n")
    (project / "clusters" / "a.yaml").write_text("kind: A\n")
    (project / "clusters" / "run.sh").write_text("#!/bin/sh\n")
    (project / "clusters" / "run.sh").chmod(0o755)
    (project / "clusters" / "same.yaml").symlink_to("a.yaml")
    (repo / "shared.yaml").write_text("kind: Shared\n")
    (project / "up.yaml").symlink_to("../../shared.yaml")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    (project / "clusters" / "a.yaml").write_text("kind: Changed\n")
    (project / "untracked.yaml").write_text("kind: U\n")
    return project


@pytest.mark.parametrize("with_tar", [True, False])
def test_the_project_as_the_revision_has_it(
    repo: Path, with_tar: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not with_tar:
        monkeypatch.setattr("eoepca_gitops.review.revision.shutil.which", lambda name: None)
    with at_revision(repo, "HEAD") as project:
        assert project.name == "project" and (project / "Pulumi.yaml").is_file()
        assert (project / "clusters" / "a.yaml").read_text() == "kind: A\n"
        assert (project / "clusters" / "same.yaml").read_text() == "kind: A\n"
        assert (project / "up.yaml").read_text() == "kind: Shared\n"  # inside the repository
        assert os.access(project / "clusters" / "run.sh", os.X_OK)
        assert not (project / "untracked.yaml").exists()
    assert not project.exists()


@pytest.mark.parametrize("target", ["../../../outside", "/etc/passwd", "../../.."])
def test_a_symlink_out_of_the_repository_is_refused(repo: Path, target: str) -> None:
    (repo / "leak").symlink_to(target)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "leak")
    refused = r"HEAD: sub/project/leak is a symlink to .*, outside the repository"
    with pytest.raises(GitopsError, match=refused), at_revision(repo, "HEAD"):
        pass


def test_an_unknown_revision_is_one_error(repo: Path) -> None:
    with pytest.raises(GitopsError, match="no-such-rev"), at_revision(repo, "no-such-rev"):
        pass
