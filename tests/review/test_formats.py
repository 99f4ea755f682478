"""The review's formats: text, JSON, and the markdown of a pull-request comment (golden file, parsed
as GitHub-flavoured markdown, never over its size cap)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from eoepca_gitops.fluxtree import key
from eoepca_gitops.review.budget import MORE_ROOM, Block, Leaf, fit
from eoepca_gitops.review.changes import ObjectChange, Review, Section, StackReview
from eoepca_gitops.review.compare import compare
from eoepca_gitops.review.json_format import as_json
from eoepca_gitops.review.markdown import markdown
from eoepca_gitops.review.text import text

# GitHub-flavoured markdown as far as a comment uses it: CommonMark (HTML blocks: <details>) and tables.
MISSING = 'chart "pdp-engine" version "9.9.9" not found'
GFM = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _obj(kind: str, name: str, namespace: str = "um", **spec: Any) -> dict[str, Any]:
    api = {"HelmRelease": "helm.toolkit.fluxcd.io/v2", "Deployment": "apps/v1"}.get(kind, "v1")
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> tuple[ObjectChange, ...]:
    return tuple(c for _, c in compare({key(o): o for o in old}, {key(o): o for o in new}))


def sample() -> Review:
    hr = _obj(
        "HelmRelease", "um-login-service", chart={"spec": {"chart": "login-service", "version": "1.2.8"}}
    )
    bumped = _obj(
        "HelmRelease", "um-login-service", chart={"spec": {"chart": "login-service", "version": "1.2.9"}}
    )
    deployment = _obj("Deployment", "um-login-service", replicas=1, image="eoepca/um-login-service:v1.2.8")
    deployment2 = _obj("Deployment", "um-login-service", replicas=1, image="eoepca/um-login-service:v1.2.9")
    local = StackReview(
        "local",
        (
            Section("pulumi", "block user-management", _changes([hr], [bumped])),
            Section(
                "helm",
                "block user-management",
                _changes([deployment], [deployment2]),
                release="HelmRelease um/um-login-service",
                chart="login-service 1.2.8 -> 1.2.9",
            ),
            Section(
                "helm",
                "block user-management",
                release="HelmRelease um/um-pdp-engine",
                chart="pdp-engine 1.1.12 -> 9.9.9",
                error=f"head: pdp-engine 9.9.9: {MISSING} in http://127.0.0.1:8181/eoepca/ repository",
            ),
            Section("flux", "block portal", _changes([], [_obj("ConfigMap", "n", "demo")])),
            Section(
                "helm",
                "block portal",
                release="HelmRelease demo/eoepca-portal",
                chart="eoepca-portal 1.0.11, values changed",
                note="chart not fetched at base: https://eoepca.github.io/helm-charts/ cannot be reached",
            ),
        ),
        errors=(f"HelmRelease um/um-pdp-engine: head: pdp-engine 9.9.9: {MISSING}",),
    )
    creodias = StackReview(
        "creodias",
        (Section("pulumi", "Flux install", _changes([_obj("Namespace", "flux-system", "")], [])),),
        upgrade=("flux upgrade: v0.24.0 -> v2.9.3: 0 object(s) of this stack migrated",),
        helm_note="--no-helm",
    )
    return Review(
        "origin/main",
        "working tree",
        (local, creodias, StackReview("minikube"), StackReview("new", state="added")),
    )


def test_markdown_golden(golden: Callable[[str, str], None]) -> None:
    golden("diff-comment.md", markdown(sample()))


def _tokens(md: str) -> list[str]:
    return [t.type for t in GFM.parse(md)]


def test_markdown_parses_as_gfm_with_a_table_details_and_diffs() -> None:
    md = markdown(sample())
    tokens = GFM.parse(md)
    types = [t.type for t in tokens]
    assert types.count("table_open") == 1 and types.count("tr_open") == 1 + 3  # header + 3 shown stacks
    assert sum(1 for t in tokens if t.type == "fence" and t.info == "diff") == 4
    html_blocks = "".join(t.content for t in tokens if t.type == "html_block")
    assert html_blocks.count("<details") == html_blocks.count("</details>") > 0
    assert "<b>stack local</b>" in html_blocks and "No change in `minikube`." in md
    assert "stack minikube" not in md  # unchanged: the one line only
    rendered = GFM.render(md)
    assert "+      - image: eoepca/um-login-service:v1.2.9" not in rendered  # a fence holds it
    assert "<td>" in rendered and "<blockquote>" in rendered  # the table and the failures


def test_markdown_escapes_what_the_change_controls() -> None:
    evil = "x</summary></details>\n# `` ``` <script>alert(1)</script> *"
    stack = StackReview(
        evil,
        (
            Section(
                "helm",
                evil,
                _changes([], [_obj("ConfigMap", "n", data="```\n</details>")]),
                release=evil,
                chart=evil,
                note=evil,
            ),
        ),
        errors=(evil,),
    )
    rendered = GFM.render(markdown(Review(evil, evil, (stack,))))
    assert "<script>" not in rendered and "</details>\n# " not in rendered
    assert rendered.count("<details") == rendered.count("</details>")


@settings(max_examples=40, deadline=None)
@given(
    n_objects=st.integers(0, 60),
    lines=st.integers(0, 400),
    width=st.integers(1, 300),
    cap=st.integers(1_000, 20_000),
)
def test_markdown_never_exceeds_the_cap_and_stays_well_formed(
    n_objects: int, lines: int, width: int, cap: int
) -> None:
    old = [
        _obj("ConfigMap", f"c{i}", data={f"k{j}": "a" * width for j in range(lines // 10)})
        for i in range(n_objects)
    ]
    new = [
        _obj("ConfigMap", f"c{i}", data={f"k{j}": "b" * width for j in range(lines // 10)})
        for i in range(n_objects)
    ]
    sections = tuple(
        Section("pulumi", f"block b{i % 7}", _changes(old[i : i + 1], new[i : i + 1]))
        for i in range(n_objects)
    )
    review = Review("main", "working tree", (StackReview("s", sections), StackReview("t", sections)))
    md = markdown(review, cap)
    assert len(md) <= cap
    rendered = GFM.render(md)
    assert rendered.count("<details") == rendered.count("</details>")
    total = 2 * n_objects
    if len(markdown(review, 10**9)) > cap and total:
        assert "not shown (size limit)" in md or "more lines not shown" in md


def test_a_capped_comment_counts_what_it_leaves_out() -> None:
    big = _changes(
        [_obj("ConfigMap", f"c{i}", data={f"k{j}": "a" for j in range(300)}) for i in range(30)],
        [_obj("ConfigMap", f"c{i}", data={f"k{j}": "b" for j in range(300)}) for i in range(30)],
    )
    md = markdown(
        Review("main", "working tree", (StackReview("s", (Section("pulumi", "block b", big),)),)), 8_000
    )
    assert len(md) <= 8_000 and "more lines not shown" in md and "more objects not shown (size limit)" in md


def test_fit_reserves_room_for_closing_text() -> None:
    doc = Block("<a>\n", "</a>\n", [Block("<b>\n", "</b>\n", [Leaf("x" * 50) for _ in range(10)])])
    out = fit(doc, 200 + 2 * MORE_ROOM)
    assert (
        out.endswith("</b>\n</a>\n") and "more objects not shown" in out and len(out) <= 200 + 2 * MORE_ROOM
    )


def test_text_lists_each_layer_with_diffs_of_changed_objects() -> None:
    out = text(sample())
    assert "stack local: origin/main -> working tree\n" in out
    assert "pulumi layer: 0 added, 1 changed, 0 deleted\n  ~ HelmRelease um/um-login-service\n      @@" in out
    assert "helm layer: 3 release(s) to render: 0 added, 1 changed, 0 deleted" in out
    assert "  HelmRelease um/um-pdp-engine: pdp-engine 1.1.12 -> 9.9.9\n    error: head:" in out
    assert "flux layer: 1 added, 0 changed, 0 deleted\n  + ConfigMap demo/n\n" in out
    assert "helm layer: not shown: --no-helm" in out
    assert out.index("flux upgrade: v0.24.0") < out.index("pulumi layer: 0 added, 0 changed, 1 deleted")


def test_json_is_stacks_layers_objects() -> None:
    doc = json.loads(as_json(sample()))
    assert doc["base"] == "origin/main" and doc["changed"] is True and len(doc["errors"]) == 1
    local = doc["stacks"][0]
    assert [s["state"] for s in doc["stacks"]] == ["changed", "changed", "unchanged", "added"]
    assert list(local["layers"]) == ["pulumi", "flux", "helm"]
    [obj] = local["layers"]["pulumi"]["objects"]
    assert {k: obj[k] for k in ("group", "kind", "namespace", "name", "change")} == {
        "group": "block user-management",
        "kind": "HelmRelease",
        "namespace": "um",
        "name": "um-login-service",
        "change": "changed",
    }
    assert "+      version: 1.2.9" in obj["diff"]
    helm = local["layers"]["helm"]
    assert helm["summary"] == {"added": 0, "changed": 1, "deleted": 0} and helm["shown"] is True
    assert [r["release"] for r in helm["releases"]] == [
        "HelmRelease um/um-login-service",
        "HelmRelease um/um-pdp-engine",
        "HelmRelease demo/eoepca-portal",
    ]
    assert helm["objects"][0]["release"] == "HelmRelease um/um-login-service"
    assert doc["stacks"][1]["layers"]["helm"] == {
        "summary": {"added": 0, "changed": 0, "deleted": 0},
        "objects": [],
        "shown": False,
        "note": "--no-helm",
        "releases": [],
    }
