"""`eoepca-gitops import --fetch-remote` (issue 28) against a real Git repository served over HTTP by
`git http-backend` (the dev cluster's Git server, in this process) and a raw-file HTTP server, both
on 127.0.0.1: the `git::http://...//path?ref=TAG` form, an http(s) URL naming a repository (its GET
fails, so it is cloned as kustomize does) and a raw file; then the size cap and a missing ref, each
one error line, exit 2. Never the internet."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from eoepca_gitops.devcluster.git_server import serve
from tests.fluxtree.remote_server import DEPLOYMENT, http_server, serving
from tests.fluxtree.remote_trees import remote_tree
from tests.helpers import git
from tests.importer.trees import project

pytestmark = pytest.mark.integration


def _deployment(name: str) -> str:
    return yaml.safe_dump({**DEPLOYMENT, "metadata": {"name": name, "namespace": "infra"}})


@pytest.fixture(scope="module")
def git_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """http://127.0.0.1:PORT/remote.git: deploy/ holds Deployment fetched-v1 at tag v1 and
    fetched-main on main; 64 KiB of random bytes beside it (past a 10 KiB size cap)."""
    repo = tmp_path_factory.mktemp("served") / "remote"
    (repo / "deploy").mkdir(parents=True)
    (repo / "random.bin").write_bytes(os.urandom(64 * 1024))
    git(repo, "init", "-q", "-b", "main")
    (repo / "deploy/kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    for name in ("fetched-v1", "fetched-main"):
        (repo / "deploy/deployment.yaml").write_text(_deployment(name))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", name)
        if name == "fetched-v1":
            git(repo, "tag", "v1")
    with serving(serve(repo, "remote", 0, repo.parent / "view")) as url:
        yield f"{url}/remote.git"


def _import(
    tmp_path: Path, remotes: list[str], *options: str, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    repo = remote_tree(tmp_path, remotes)
    out = project(tmp_path)
    cli = Path(sys.executable).parent / "eoepca-gitops"
    argv = [str(cli), "import", str(repo / "clusters/home"), "--stack", "home", "--repo-root", str(repo)]
    argv += ["--out", str(out), "--flux-manifest", "../shared/flux", "--fetch-remote", *options]
    env = {**os.environ, **({"HOME": str(home)} if home else {})}
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120, env=env)


def test_each_remote_form_is_fetched_and_counted(tmp_path: Path, git_url: str) -> None:
    # The user's git set-up is not used: it would send the fetch to a port nothing listens on.
    home = tmp_path / "home"
    home.mkdir()
    port = git_url.split(":")[2].split("/")[0]
    (home / ".gitconfig").write_text(f'[url "http://127.0.0.1:9/"]\n\tinsteadOf = http://127.0.0.1:{port}/\n')
    with http_server() as files:
        remotes = [f"git::{git_url}//deploy?ref=v1", f"{git_url}//deploy?ref=main", f"{files}/deploy.yaml"]
        done = _import(tmp_path, remotes, home=home)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "project/import-report.md").read_text()
    assert "objects fetched for remote folders (not converted: Flux builds them): 3" in report
    for i, entry in enumerate(remotes):
        assert f"resources[0]: {entry} (" in report
        assert f"fetched: 1 object(s) built with infrastructure/base/b{i}" in report
    carried = tmp_path / "project/clusters/flux/infra/remote/infrastructure/base"
    assert sorted(p.name for p in carried.iterdir()) == ["b0", "b1", "b2"]
    assert not list(carried.rglob("deployment.yaml"))  # the folders as the tree has them, nothing fetched


@pytest.mark.parametrize(
    ("options", "remote", "why"),
    [
        (["--fetch-size-cap", "0.01"], "git::{url}//deploy?ref=v1", "larger than the size cap (10485 bytes)"),
        ([], "git::{url}//deploy?ref=v9", "git fetch failed: fatal: couldn't find remote ref v9"),
    ],
)
def test_a_cap_or_a_missing_ref_is_one_error(
    tmp_path: Path, git_url: str, options: list[str], remote: str, why: str
) -> None:
    entry = remote.format(url=git_url)
    done = _import(tmp_path, [entry], *options)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: infrastructure/base/b0/kustomization.yaml:2: resources[0]: {entry}: {why}"
    ]
    assert not (tmp_path / "project/import-report.md").exists()
