"""`import --fetch-remote` (issue 28) against a local HTTP server: a file fetched (through a
redirect), each failure one error naming file:line, the URL and why (a 404, a redirect to a file:
URL, the time cap, the size cap); what is fetched counted and shown, the folder carried unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eoepca_gitops.cli.main import app
from eoepca_gitops.fluxtree import walk
from eoepca_gitops.fluxtree.fetch import FetchError, Limits, fetching
from eoepca_gitops.fluxtree.remote import RemoteUse, classify, fetched_with, is_standin
from eoepca_gitops.importer import ImportResult
from tests.fluxtree.remote_server import BIG, DEPLOYMENT, http_server
from tests.fluxtree.remote_trees import imported_project, remote_tree
from tests.importer.roundtrip import run_import
from tests.importer.trees import project

LIMITS = Limits(seconds=0.5, max_bytes=BIG // 2)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with http_server() as url:
        yield url


def fetch(url: str, limits: Limits = LIMITS) -> str:
    """The text fetched for `url` as entry resources[2] of apps/kustomization.yaml, line 7."""
    remote = classify(url)
    assert remote is not None
    use = RemoteUse("apps", "apps/kustomization.yaml", 7, "resources[2]", remote)
    with fetching(limits) as fetcher:
        assert fetcher is not None
        return fetcher.fetch(use).read_text()


def test_a_file_is_fetched_through_a_redirect(server: str) -> None:
    assert yaml.safe_load(fetch(f"{server}/moved.yaml")) == DEPLOYMENT


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/missing.yaml", "HTTP 404 Not Found"),
        ("/to-file.yaml", "redirected to file:///etc/passwd, which is not an http(s) URL"),
        ("/stalls.yaml", "past the time cap (0.5 s)"),
        ("/drips.yaml", "past the time cap (0.5 s)"),
        ("/big.yaml", f"larger than the size cap ({BIG // 2} bytes)"),
    ],
)
def test_each_failure_is_one_error_naming_file_line_url_and_why(server: str, path: str, why: str) -> None:
    with pytest.raises(FetchError) as info:
        fetch(server + path)
    assert str(info.value) == f"apps/kustomization.yaml:7: resources[2]: {server}{path}: {why}"


def test_an_ssh_repository_is_not_fetched_without_credentials() -> None:
    with pytest.raises(FetchError, match=r"git@github\.com:org/repo\.git//deploy: not fetched: an SSH"):
        fetch("git@github.com:org/repo.git//deploy")


def imported(tmp_path: Path, entry: str) -> tuple[Path, ImportResult]:
    repo = remote_tree(tmp_path, [entry])
    return repo, run_import(repo, "clusters/home", "home", project(tmp_path), fetch=LIMITS)


def test_the_walk_builds_a_remote_folder_with_what_it_fetches(tmp_path: Path, server: str) -> None:
    repo = remote_tree(tmp_path, [f"{server}/moved.yaml"])
    with fetching(LIMITS) as fetcher:
        tree = walk(repo, "./clusters/home", strict=True, fetcher=fetcher)
    [fetched] = [a.obj for a in tree.objects if fetched_with(a.obj)]
    assert fetched_with(fetched) == "infrastructure/base/b0"
    assert fetched["metadata"]["name"] == "fetched"
    assert fetched["spec"]["paused"] is True  # the folder's own patch, applied as Flux applies it
    assert [a.obj["metadata"]["name"] for a in tree.objects if is_standin(a.obj)] == [
        "infrastructure/base/b0"
    ]


def test_import_counts_what_it_fetched_and_carries_the_folder_unchanged(tmp_path: Path, server: str) -> None:
    repo, result = imported(tmp_path, f"{server}/deploy.yaml")
    carried = result.files["clusters/flux/infra/remote/infrastructure/base/b0/kustomization.yaml"]
    assert carried == (repo / "infrastructure/base/b0/kustomization.yaml").read_text()
    assert not any("fetched" in text for rel, text in result.files.items() if rel.endswith(".yaml"))
    report = result.files["import-report.md"]
    assert "objects fetched for remote folders (not converted: Flux builds them): 1" in report
    assert (
        f"- `infrastructure/base/b0/kustomization.yaml:2` resources[0]: {server}/deploy.yaml (a URL), "
        "built by Flux at apply time; the folder infrastructure/base/b0 is carried unchanged; "
        "fetched: 1 object(s) built with infrastructure/base/b0"
    ) in report


@pytest.mark.flux_manifests
def test_render_shows_what_it_fetched_beside_the_stand_in(tmp_path: Path, server: str) -> None:
    _, out, _ = imported_project(tmp_path, [f"{server}/deploy.yaml"])
    (out / "Pulumi.yaml").write_text("name: home\nruntime: python\n")  # a project for the CLI to find

    def rendered(*extra: str) -> list[dict[str, Any]]:
        target = tmp_path / f"render{len(extra)}"
        args = ["render", "-s", "home", "-o", str(target), "--project", str(out), "--flux-layer", *extra]
        result = CliRunner().invoke(app, [*args, "--no-validate"])
        assert result.exit_code == 0, result.output
        return [yaml.safe_load(p.read_text()) for p in sorted((target / "flux-layer").rglob("*.yaml"))]

    offline = rendered()
    fetched = rendered("--fetch-remote", "--fetch-time-cap", "5")
    assert [o for o in fetched if fetched_with(o)] and not [o for o in offline if fetched_with(o)]
    assert [o["metadata"]["name"] for o in fetched if fetched_with(o)] == ["fetched"]
    assert [o for o in fetched if is_standin(o)] == [o for o in offline if is_standin(o)]


def test_render_fetches_only_the_git_layer(tmp_path: Path) -> None:
    _, out, _ = imported_project(tmp_path, ["github.com/org/repo//deploy?ref=v1"])
    result = CliRunner().invoke(
        app, ["render", "-s", "home", "-o", str(tmp_path / "r"), "--project", str(out), "--fetch-remote"]
    )
    assert result.exit_code == 2
    assert "render it with --flux-layer" in result.output


def test_import_stops_at_a_fetch_error(tmp_path: Path, server: str) -> None:
    with pytest.raises(
        FetchError, match=r"^infrastructure/base/b0/kustomization.yaml:2: resources\[0\]: .*404"
    ):
        imported(tmp_path, f"{server}/missing.yaml")
