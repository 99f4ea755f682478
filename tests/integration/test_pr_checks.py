"""The pull-request scripts exactly as the workflow's jobs run them (scripts/pr-review.sh,
scripts/pr-preview.sh, scripts/pr-comment.py), on a scratch repository with a base commit and
pull-request commits, with the real CLI, helm, Pulumi engine and dev cluster:

- review, a pull request that (a) bumps a chart version, (b) changes a Helm value, (c) adds a block:
  green; the markdown shows (a) and (b) as field lines, with the objects Helm renders from them (the
  Deployment's image, its replicas), and (c)'s objects as added; rendered/ holds every object; the
  comment built from it (as the workflow's comment job runs pr-comment.py) is the golden file
  tests/golden/pr-review-comment.md (commits and the chart server's port left out), parses as
  GitHub-flavoured markdown and is under GitHub's limit. A pull request that (d) adds an invalid
  field to a block: exit 2, the field named; one that (e) puts an invalid field into a Helm value
  the chart copies verbatim into its Deployment: exit 2, naming the release, the Helm-rendered
  Deployment and the field (render, which does not run helm, passes: the diff's schema check of the
  Helm layer catches it).
- preview of a stack on the dev cluster: its changes; after a pull request that breaks the stack,
  red (the preview's exit code) with the error in the comment.

The charts are the dev cluster's stand-ins (eoepca_gitops/devcluster/charts.py: the Deployment's
image tag is the chart version, its replicas `replicaCount`, its container's securityContext the
value `securityContext`), served on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import pytest
import yaml

from eoepca_gitops.devcluster.charts import charts_of_project, server_argv, write_repository
from eoepca_gitops.devcluster.ports import free_port
from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT
from tests.outside_data import flux_manifests
from tests.review.test_pr_scripts import gfm

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]

CLI = Path(sys.executable).parent / "eoepca-gitops"
LIMIT = 65_536


def git(project: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def tree_at(repo: Path, rev: str, dest: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev], capture_output=True, check=True)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def scratch(dest: Path, stacks: dict[str, dict[str, object]]) -> Path:
    """The committed project at HEAD in a new repository, with only the stack files `stacks` names
    (each a copy of Pulumi.local.yaml with those config keys replaced; a value None removes the key)."""
    tree_at(REPO_ROOT, "HEAD", dest)
    local = yaml.safe_load((dest / "Pulumi.local.yaml").read_text())
    for stack_file in dest.glob("Pulumi.*.yaml"):
        stack_file.unlink()
    for name, changes in stacks.items():
        config = {**local["config"]}
        for key, value in changes.items():
            if value is None:
                config.pop(f"eoepca-gitops:{key}", None)
            else:
                config[f"eoepca-gitops:{key}"] = value
        text = yaml.safe_dump({**local, "config": config}, sort_keys=False)
        (dest / f"Pulumi.{name}.yaml").write_text(text)
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")
    (dest / ".gitignore").write_text(".venv\nrendered/\nreview/\npreview/\n")
    git(dest, "init", "-q", "-b", "main")
    commit(dest, "base")
    return dest


def commit(project: Path, message: str) -> str:
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", message)
    return git(project, "rev-parse", "HEAD")


def steady(text: str, volatile: dict[str, str]) -> str:
    """`text` with each volatile string (a commit also by its abbreviations) as its stand-in."""
    for value, name in volatile.items():
        text = text.replace(value, name)
        if re.fullmatch(r"[0-9a-f]{40}", value):
            text = re.sub(rf"\b{value[:7]}[0-9a-f]{{0,33}}\b", name, text)
    return text


def comment(project: Path, env: dict[str, str], head: str) -> str:
    """The comment as the workflow's comment job composes it."""
    argv = ["python3", "scripts/pr-comment.py", "--review", "review", "--previews", "preview"]
    proc = run(project, [*argv, "--head", head, "--base", "main"], env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def edit_yaml(path: Path, edit: object) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def run(project: Path, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False
    )


# ---- review --------------------------------------------------------------------------------------

EXTRA_BLOCK = {
    "name": "pr-extra",
    "description": "A block a pull request adds.",
    "namespaces": ["pr-extra"],
    "dependsOn": ["system-common"],
    "helmReleases": [
        {
            "name": "extra",
            "namespace": "pr-extra",
            "chart": "extra",
            "version": "0.1.0",
            "sourceRef": {"kind": "HelmRepository", "name": "eoepca", "namespace": "common"},
            "interval": "1m0s",
        }
    ],
}


def release(block: dict[str, object], name: str) -> dict[str, object]:
    releases = block["helmReleases"]
    assert isinstance(releases, list)
    found: dict[str, object] = next(r for r in releases if r["name"] == name)
    return found


@pytest.fixture
def chart_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root, port = tmp_path / "charts", free_port()
    root.mkdir()
    server = subprocess.Popen(server_argv(root, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}", root
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_review_shows_a_chart_bump_a_value_and_a_new_block_and_refuses_a_bad_field(
    tmp_path: Path,
    tools_env: dict[str, str],
    chart_server: tuple[str, Path],
    golden: Callable[[str, str], None],
) -> None:
    mirror, charts = chart_server
    project = scratch(tmp_path / "project", {"local": {"charts": {"mirror": mirror}}})
    base = git(project, "rev-parse", "HEAD")
    demo = project / "clusters/blocks/system-demo.yaml"

    def pull_request(block: dict[str, object]) -> None:
        release(block, "eoepca-portal")["version"] = "1.0.10"  # (a)
        values = release(block, "django-portal")["values"]
        assert isinstance(values, dict)
        values["replicaCount"] = 3  # (b)

    edit_yaml(demo, pull_request)
    (project / "clusters/blocks/pr-extra.yaml").write_text(
        yaml.safe_dump(EXTRA_BLOCK, sort_keys=False)
    )  # (c)
    edit_yaml(project / "Pulumi.local.yaml", lambda s: s["config"]["eoepca-gitops:blocks"].append("pr-extra"))
    head = commit(project, "pull request")
    # the chart repository serves what both revisions name
    at_base = tree_at(project, base, tmp_path / "at-base")
    write_repository({*charts_of_project(project), *charts_of_project(at_base)}, charts)

    env = {**tools_env, "EOEPCA_GITOPS": str(CLI), "EOEPCA_FLUX_MANIFESTS": str(flux_manifests())}
    env["EOEPCA_CACHE_DIR"] = str(tmp_path / "cache")
    proc = run(project, ["scripts/pr-review.sh", base, "review"], env)
    assert proc.returncode == 0, proc.stderr + (project / "review" / "errors.txt").read_text()
    markdown = (project / "review" / "diff.md").read_text()
    changed = [line for line in markdown.splitlines() if line.startswith(("+", "-"))]

    def shown(pattern: str) -> bool:
        return any(re.fullmatch(pattern, line) for line in changed)

    # (a) the HelmRelease's chart version (Pulumi layer), and the image Helm renders from it
    assert shown(r"-\s+version: ['\"]?1\.0\.9['\"]?") and shown(r"\+\s+version: ['\"]?1\.0\.10['\"]?"), (
        markdown
    )
    assert shown(r"\+\s+(- )?image: \S+/eoepca-portal:1\.0\.10"), markdown
    # (b) the value (Pulumi layer), and the Deployment's replicas Helm renders from it
    assert shown(r"\+\s+replicaCount: 3") and shown(r"\+\s+replicas: 3"), markdown
    assert "pr-extra" in markdown  # (c)
    assert '"pr-extra"' in (project / "review" / "diff.json").read_text()
    json.loads((project / "review" / "diff.json").read_text())
    assert list((project / "rendered" / "local").rglob("*.yaml")), "nothing rendered"
    assert list((project / "rendered" / "local" / "flux-layer").rglob("*.yaml")), "no Flux layer rendered"

    text = comment(project, env, head)
    assert len(text.encode("utf-16-le")) // 2 <= LIMIT
    assert "✅" in text.splitlines()[3]
    html = gfm(text)
    assert html.count("<details") == html.count("</details>") > 0 and "<table>" in html
    golden("pr-review-comment.md", steady(text, {head: "HEAD", base: "BASE", mirror: "MIRROR"}))

    # (d) an invalid field in a block: the review fails, naming it
    good = demo.read_text()
    edit_yaml(demo, lambda block: release(block, "eoepca-portal").update(intervall="5m"))
    commit(project, "a typo")
    proc = run(project, ["scripts/pr-review.sh", base, "review"], env)
    assert proc.returncode == 2
    errors = (project / "review" / "errors.txt").read_text()
    assert "render local: error:" in errors and "intervall" in errors, errors

    # (e) an invalid field in a Helm value the chart puts verbatim into its Deployment: render does
    # not run helm and passes; the diff checks what Helm renders and fails, naming object and field
    demo.write_text(good)

    def bad_value(block: dict[str, object]) -> None:
        values = release(block, "django-portal")["values"]
        assert isinstance(values, dict)
        values["securityContext"] = {"runAsUsr": 1}

    edit_yaml(demo, bad_value)
    head = commit(project, "a typo in a value")
    proc = run(project, ["scripts/pr-review.sh", base, "review"], env)
    assert proc.returncode == 2
    problem = (
        "stack local: helm layer, HelmRelease demo/django-portal: apps/v1 Deployment django-portal: "
        "spec.template.spec.containers[0].securityContext.runAsUsr: unknown field (did you mean 'runAsUser'?)"
    )
    errors = (project / "review" / "errors.txt").read_text()
    assert errors == f"diff against {base}: error: {problem}\n", errors
    assert problem in json.loads((project / "review" / "diff.json").read_text())["errors"]
    text = comment(project, env, head)
    assert "❌" in text.splitlines()[3] and "securityContext.runAsUsr: unknown field" in text


# ---- preview -------------------------------------------------------------------------------------


def test_a_preview_shows_the_changes_and_a_broken_stack_is_red(
    tmp_path: Path, tools_env: dict[str, str], dev_cluster: DevClusterHandle
) -> None:
    assert dev_cluster.git_url and dev_cluster.charts_url
    stack = "devtest"  # the local stack, pointed at this cluster through its Environment's kubeconfig
    project = scratch(
        tmp_path / "project",
        {
            stack: {
                "git": {"url": dev_cluster.git_url, "branch": "main", "path": "./clusters/local"},
                "charts": {"mirror": dev_cluster.charts_url.rstrip("/")},
                "kubeContext": None,
                "await": None,
            }
        },
    )
    state = tmp_path / "state"
    state.mkdir()
    env = {
        **tools_env,
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "local",  # the salt of Pulumi.local.yaml is for it
        "KUBECONFIG_DATA": dev_cluster.kubeconfig.read_text(),
        "PULUMI_PYTHON_CMD": sys.executable,
        "EOEPCA_FLUX_MANIFESTS": str(flux_manifests()),
    }
    init = run(project, ["pulumi", "stack", "init", stack, "--non-interactive"], env)
    assert init.returncode == 0, init.stderr

    proc = run(project, ["scripts/pr-preview.sh", stack, "preview"], env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    status, summary = (project / "preview" / f"{stack}.result").read_text().splitlines()
    assert status == "changes" and re.search(r"\+ \d+ to create", summary), summary

    edit_yaml(project / f"Pulumi.{stack}.yaml", lambda s: s["config"]["eoepca-gitops:git"].pop("url"))
    commit(project, "a pull request that breaks the stack")
    proc = run(project, ["scripts/pr-preview.sh", stack, "preview"], env)
    assert proc.returncode != 0  # red
    status, error = (project / "preview" / f"{stack}.result").read_text().splitlines()
    assert status == "failed" and "git.url" in error, error

    (project / "review").mkdir()
    (project / "review" / "stacks.txt").write_text(f"{stack}\n")
    comment = run(
        project, ["python3", "scripts/pr-comment.py", "--review", "review", "--previews", "preview"], env
    )
    assert f"| `{stack}` | ❌ failed |" in comment.stdout and "git.url" in comment.stdout
