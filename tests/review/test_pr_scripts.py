"""The pull-request scripts the workflow runs (scripts/pr-review.sh, pr-preview.sh, pr-comment.py),
run as the workflow runs them, with stand-ins for the commands they drive: a fake `eoepca-gitops`
that records its arguments, a fake `pulumi` that answers as the real one does. The real commands
are driven in tests/integration/test_pr_checks.py.

- the comment: a golden file; valid GitHub-flavoured markdown (markdown-it-py with tables); under
  GitHub's 65,536-character limit however large the diff, the errors or the number of stacks;
- the preview: red (the preview's exit code) on a failing preview despite the `| tee`; the result
  file says previewed / changes / failed with the error / not previewed and why; `local` never;
- the review: the CLI's interface as the workflow relies on it; exit 2 on any error, named.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.helpers import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"
COMMENT = SCRIPTS / "pr-comment.py"
LIMIT = 65_536


def gfm(text: str) -> str:
    """HTML as a GitHub-flavoured markdown parser renders `text` (tables on, raw HTML kept)."""
    html: str = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    return html


def compose(review: Path, previews: Path, *extra: str) -> str:
    out = subprocess.run(
        ["python3", str(COMMENT), "--review", str(review), "--previews", str(previews), *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


DIFF_MD = """#### `creodias`: 1 changed

<details><summary>user-management: HelmRelease um/um-login-service (pulumi layer)</summary>

```diff
   chart:
     spec:
-      version: 1.2.8
+      version: 1.2.9
```

</details>

`minikube`, `local`: no change
"""


def review_dir(tmp_path: Path, stacks: list[str], errors: list[str], diff: str | None) -> Path:
    review = tmp_path / "review"
    review.mkdir()
    (review / "stacks.txt").write_text("".join(f"{s}\n" for s in stacks))
    (review / "errors.txt").write_text("".join(f"{e}\n" for e in errors))
    if diff is not None:
        (review / "diff.md").write_text(diff)
    return review


def previews_dir(tmp_path: Path, results: dict[str, tuple[str, str]]) -> Path:
    previews = tmp_path / "preview"
    previews.mkdir()
    for stack, (status, detail) in results.items():
        (previews / f"{stack}.result").write_text(f"{status}\n{detail}\n")
    return previews


def test_the_comment_joins_errors_previews_and_the_diff(
    tmp_path: Path, golden: Callable[[str, str], None]
) -> None:
    stacks = ["creodias", "local", "minikube", "staging", "prod", "lost"]
    review = review_dir(
        tmp_path,
        stacks,
        ["render staging: error: Pulumi.staging.yaml: blocks.x.releases.y.vaules: unknown field"],
        DIFF_MD,
    )
    previews = previews_dir(
        tmp_path,
        {
            "creodias": ("changes", "~ 1 to update, 95 unchanged"),
            "local": (
                "not-previewed",
                "the local dev cluster's stack (127.0.0.1, `make demo`): no CI runner reaches it",
            ),
            "minikube": (
                "not-previewed",
                "no credentials: set KUBECONFIG_DATA as secrets of the GitHub Environment `minikube`",
            ),
            "staging": ("failed", "error: configured Kubernetes cluster is unreachable | <timeout>"),
            "prod": ("previewed", "96 unchanged"),
        },
    )
    text = compose(review, previews, "--head", "0123456789abcdef0123", "--base", "main")
    golden("pr-comment.md", text)
    assert text.startswith("<!-- eoepca-gitops-review -->\n")
    html = gfm(text)
    assert html.count("<table>") == 1 and html.count("<tr>") == 1 + len(stacks)
    assert "<td><code>lost</code></td>" in html and "no result" in html  # a preview job that left nothing
    assert "unreachable | &lt;timeout&gt;" in html  # a cell's | and < cannot break the table
    assert html.count("<details>") == html.count("</details>") == 1


def test_a_review_without_diff_says_so(tmp_path: Path) -> None:
    review = review_dir(tmp_path, ["creodias"], ["diff against origin/main: error: no such revision"], None)
    text = compose(review, previews_dir(tmp_path, {}))
    assert "❌ the check fails" in text
    assert "The diff did not run: see the errors above." in text


@pytest.mark.parametrize("stacks", [3, 2_000])
def test_the_comment_stays_under_githubs_limit_however_large(tmp_path: Path, stacks: int) -> None:
    names = [f"stack-{i:04d}" for i in range(stacks)]
    block = (
        "<details><summary>block</summary>\n\n```diff\n" + "+ añadido 🚀 line\n" * 400 + "```\n\n</details>\n"
    )
    review = review_dir(
        tmp_path,
        names,
        [f"render {n}: error: {'x' * 500}" for n in names[:1_000]],
        "<details><summary>all</summary>\n\n" + block * 200,  # ~1.6 MB, cut inside an open fence
    )
    previews = previews_dir(tmp_path, {n: ("failed", "error: " + "y" * 400) for n in names})
    text = compose(review, previews)
    assert utf16(text) <= LIMIT
    html = gfm(text)
    assert html.count("<details>") == html.count("</details>")
    assert "The diff is cut here to fit the comment" in text
    assert text.count("```") % 2 == 0
    if stacks > 100:
        assert "more stacks" in text and "more: see the job log" in text


def test_the_diff_budget_leaves_room_for_the_rest() -> None:
    out = subprocess.run(
        ["python3", str(COMMENT), "--diff-budget"], capture_output=True, text=True, check=True
    )
    assert 50_000 < int(out.stdout) < LIMIT - 6_000


# ---- pr-preview.sh -----------------------------------------------------------------------------

FAKE_PULUMI = """#!/bin/bash
echo "pulumi $*" >> "$FAKE_LOG"
echo "KUBECONFIG holds: $(cat "$KUBECONFIG")" >> "$FAKE_LOG"
printf '%b' "$FAKE_OUTPUT"
exit "${FAKE_EXIT:-0}"
"""

CREDENTIALS = {
    "PULUMI_BACKEND_URL": "s3://state",
    "PULUMI_CONFIG_PASSPHRASE": "pass",
    "KUBECONFIG_DATA": "apiVersion: v1\nkind: Config\n",
}


def project(tmp_path: Path, stacks: list[str]) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for stack in stacks:
        (folder / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    return folder


def preview(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, output: str = "", code: int = 0
) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = tmp_path / "project"
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "pulumi").write_text(FAKE_PULUMI)
    (fake / "pulumi").chmod(0o755)
    base = {"PATH": f"{fake}:/usr/bin:/bin", "FAKE_LOG": str(tmp_path / "pulumi.log")}
    run_env = {**base, "FAKE_OUTPUT": output, "FAKE_EXIT": str(code), **(env or {})}
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "pr-preview.sh"), *args],
        cwd=folder,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, folder / "preview"


def result(folder: Path, stack: str) -> list[str]:
    return (folder / f"{stack}.result").read_text().splitlines()


def test_the_plan_previews_every_stack_but_local(tmp_path: Path) -> None:
    project(tmp_path, ["creodias", "local", "minikube"])
    proc, out = preview(tmp_path, "--plan")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["creodias", "minikube"]
    assert result(out, "local")[0] == "not-previewed"
    assert "local dev cluster" in result(out, "local")[1]
    assert not (out / "creodias.result").exists()


def test_a_stack_without_credentials_is_not_previewed_and_says_what_to_set(tmp_path: Path) -> None:
    project(tmp_path, ["creodias"])
    proc, out = preview(tmp_path, "--ready", "creodias", env={"PULUMI_BACKEND_URL": "s3://x"})
    assert (proc.returncode, proc.stdout) == (0, "no\n")
    assert result(out, "creodias") == [
        "not-previewed",
        "no credentials: set PULUMI_CONFIG_PASSPHRASE KUBECONFIG_DATA as secrets of the GitHub "
        "Environment `creodias` (docs/pr-checks.md)",
    ]
    proc, out = preview(tmp_path, "creodias", env={**CREDENTIALS, "SECRETS_WITHHELD": "1"})
    assert proc.returncode == 0
    assert (
        result(out, "creodias")[1] == "no credentials: GitHub gives no secrets to a pull request from a fork"
    )
    assert not (tmp_path / "pulumi.log").exists()  # pulumi never ran
    proc, _ = preview(tmp_path, "--ready", "creodias", env=CREDENTIALS)
    assert proc.stdout == "yes\n"


def test_a_failing_preview_is_red_despite_the_tee(tmp_path: Path) -> None:
    project(tmp_path, ["creodias"])
    output = (
        "Previewing update (creodias):\\n\\nDiagnostics:\\n  pulumi:pulumi:Stack (eoepca-gitops-creodias):\\n"
        "    error: Pulumi.creodias.yaml: eoepca-gitops:git.url: not set\\n"
    )
    proc, out = preview(tmp_path, "creodias", env=CREDENTIALS, output=output, code=255)
    assert proc.returncode == 255
    assert result(out, "creodias") == [
        "failed",
        "error: Pulumi.creodias.yaml: eoepca-gitops:git.url: not set",
    ]
    assert "Diagnostics:" in proc.stdout and "Diagnostics:" in (out / "creodias.log").read_text()
    calls = (tmp_path / "pulumi.log").read_text()
    assert "pulumi preview --stack creodias --non-interactive --diff" in calls
    assert "KUBECONFIG holds: apiVersion: v1" in calls  # the Environment's kubeconfig, as a file


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("    ~ 1 to update\\n    95 unchanged\\n", ["changes", "~ 1 to update, 95 unchanged"]),
        ("    96 unchanged\\n", ["previewed", "96 unchanged"]),
    ],
)
def test_a_preview_reports_its_summary(tmp_path: Path, summary: str, expected: list[str]) -> None:
    project(tmp_path, ["creodias"])
    output = "Previewing update (creodias):\\n\\nResources:\\n" + summary + "\\nDuration: 3s\\n"
    proc, out = preview(tmp_path, "creodias", env=CREDENTIALS, output=output)
    assert proc.returncode == 0, proc.stderr
    assert result(out, "creodias") == expected


def test_local_is_never_previewed_even_with_credentials(tmp_path: Path) -> None:
    project(tmp_path, ["local"])
    proc, out = preview(tmp_path, "local", env=CREDENTIALS)
    assert proc.returncode == 0
    assert result(out, "local")[0] == "not-previewed"
    assert not (tmp_path / "pulumi.log").exists()


# ---- pr-review.sh ------------------------------------------------------------------------------

# Records each call; `render` of the stack named in FAKE_BAD_RENDER and `diff` with FAKE_DIFF_EXIT fail
# as the CLI does (one `error:` line, exit 2).
FAKE_CLI = """#!/bin/bash
echo "$*" >> "$FAKE_LOG"
case "$1" in
  render)
    if [ "$3" = "${FAKE_BAD_RENDER:-}" ]; then echo "error: Pulumi.$3.yaml: blocks: bad field" >&2; exit 2; fi
    mkdir -p "$5"; echo "note: rendered" >&2 ;;
  diff)
    if [ "${FAKE_DIFF_EXIT:-1}" = 2 ]; then echo "error: no such revision" >&2; exit 2; fi
    while [ $# -gt 0 ]; do [ "$1" = --json-out ] && echo '{"stacks": []}' > "$2"; shift; done
    echo "#### changes"; exit "${FAKE_DIFF_EXIT:-1}" ;;
esac
"""


def review(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path, list[str]]:
    folder = project(tmp_path, ["creodias", "local"])
    cli = tmp_path / "eoepca-gitops"
    cli.write_text(FAKE_CLI)
    cli.chmod(0o755)
    log = tmp_path / "cli.log"
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "pr-review.sh"), "origin/main", "review"],
        cwd=folder,
        env={"PATH": os.environ["PATH"], "EOEPCA_GITOPS": str(cli), "FAKE_LOG": str(log), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, folder / "review", log.read_text().splitlines()


def test_the_review_renders_every_stack_then_diffs_them_all(tmp_path: Path) -> None:
    proc, out, calls = review(tmp_path)
    assert proc.returncode == 0, proc.stderr  # changes are what a pull request is for
    budget = subprocess.run(["python3", str(COMMENT), "--diff-budget"], capture_output=True, text=True).stdout
    assert calls == [
        "render --stack creodias --out rendered/creodias --flux-layer",
        "render --stack local --out rendered/local --flux-layer",
        f"diff --all-stacks --against origin/main --format markdown --max-chars {budget.strip()} "
        "--json-out review/diff.json",  # one run: both formats
    ]
    assert (out / "stacks.txt").read_text() == "creodias\nlocal\n"
    assert (out / "diff.md").read_text() == "#### changes\n"
    assert json.loads((out / "diff.json").read_text()) == {"stacks": []}
    assert (out / "errors.txt").read_text() == ""


def test_the_review_fails_with_exit_2_naming_every_error(tmp_path: Path) -> None:
    proc, out, _ = review(tmp_path, FAKE_BAD_RENDER="local")
    assert proc.returncode == 2
    assert (out / "errors.txt").read_text() == "render local: error: Pulumi.local.yaml: blocks: bad field\n"
    assert "render local: error: Pulumi.local.yaml: blocks: bad field" in proc.stderr
    assert (out / "diff.md").is_file()  # the other stacks are still reviewed


def test_a_failing_diff_fails_the_review_once(tmp_path: Path) -> None:
    proc, out, calls = review(tmp_path, FAKE_DIFF_EXIT="2")
    assert proc.returncode == 2
    assert (out / "errors.txt").read_text() == "diff against origin/main: error: no such revision\n"
    assert len([c for c in calls if c.startswith("diff")]) == 1
