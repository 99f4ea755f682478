"""Status rows of each kind of object, the stack's recent updates with their commit -> applied latency,
and the status page: what it shows when the cluster cannot be read, without updates, with a poller;
its HTTP server (GET / only; a failure is a 503 page). Fake PulumiCli, real Git for commit times."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.manifests.drift import EXEMPT, EXEMPT_FIELDS
from eoepca_gitops.operations import page as page_module
from eoepca_gitops.operations.page import Update, page_error, page_html, recent_updates, status_server
from eoepca_gitops.operations.status import (
    BlockStatus,
    ClusterStatus,
    ObjectStatus,
    StackLayer,
    object_status,
)
from tests.fakes import FakePulumi


def condition(type_: str = "Ready", status: str = "True", **more: Any) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": "R", "message": "M", "lastTransitionTime": "T", **more}


@pytest.mark.parametrize(
    ("conditions", "ready"),
    [
        ([condition("Available")], "True"),
        ([condition("Available", "False")], "False"),
        ([condition()], "Unknown"),
        ([], "Unknown"),
    ],
)
def test_a_deployment_is_ready_when_available(conditions: list[dict[str, Any]], ready: str) -> None:
    deployment = {
        "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/fluxcd/helm-controller:v1.6.0"}]}}},
        "status": {"conditions": conditions},
    }
    row = object_status("Deployment", "flux-system", "helm-controller", deployment)
    assert (row.ready, row.revision) == (ready, "v1.6.0")
    if ready != "Unknown":
        assert (row.reason, row.message, row.since) == ("R", "M", "T")
    assert object_status("Deployment", "ns", "d", {}).revision == ""
    bare = object_status(
        "Deployment", "ns", "d", {"status": {"conditions": [{"type": "Available", "status": "True"}]}}
    )
    assert (bare.ready, bare.reason, bare.message, bare.since) == ("True", "", "", "")
    flux_bare = object_status(
        "Kustomization", "ns", "k", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    assert (flux_bare.reason, flux_bare.message, flux_bare.since) == ("", "", "")


def test_a_flux_objects_row_says_what_its_controller_said() -> None:
    obj = {
        "metadata": {"generation": 3},
        "status": {"observedGeneration": 3, "conditions": [condition(observedGeneration=3)]},
    }
    row = object_status("Kustomization", "flux-system", "apps", obj)
    assert (row.ready, row.reason, row.message, row.since, row.ok) == ("True", "R", "M", "T", True)
    assert row.ref == "Kustomization flux-system/apps"
    assert ObjectStatus("Namespace", "", "n", "True").ref == "Namespace n"
    # each condition says which generation it is about (Flux stamps them): an old one is no answer yet
    stale = {
        "metadata": {"generation": 4},
        "status": {"observedGeneration": 4, "conditions": [condition(observedGeneration=3)]},
    }
    assert object_status("Kustomization", "f", "a", stale).ready == "Unknown"
    by_status = {
        "metadata": {"generation": 4},
        "status": {"observedGeneration": 3, "conditions": [condition()]},
    }
    assert object_status("Kustomization", "f", "a", by_status).ready == "Unknown"
    no_generation = {"status": {"conditions": [condition("Ready", "False")]}}
    assert object_status("HelmRelease", "f", "a", no_generation).ready == "False"
    suspended = {"spec": {"suspend": True}, "status": {"conditions": [condition()]}}
    assert object_status("HelmRelease", "f", "a", suspended).ready == "Suspended"


def test_a_helm_release_s_revision_is_its_chart_version_or_what_it_applied() -> None:
    def revision(status: dict[str, Any]) -> str:
        return object_status("HelmRelease", "n", "r", {"kind": "HelmRelease", "status": status}).revision

    assert revision({"history": [{"chartVersion": "2.0.0"}, {"chartVersion": "1.0.0"}]}) == "2.0.0"
    assert revision({"history": [{}]}) == ""
    assert revision({"lastAppliedRevision": "1.2.3", "lastAttemptedRevision": "1.2.4"}) == "1.2.3"
    assert revision({"lastAttemptedRevision": "1.2.4"}) == "1.2.4"
    assert revision({}) == ""


def test_drift_exemptions_are_shown() -> None:
    def exempt(annotations: dict[str, str]) -> str:
        return object_status("ConfigMap", "n", "c", {"metadata": {"annotations": annotations}}).exempt

    assert exempt({EXEMPT: "true"}) == "object"
    assert exempt({EXEMPT: "false"}) == ""
    assert exempt({EXEMPT_FIELDS: "data,spec.replicas"}) == "fields: data,spec.replicas"
    assert exempt({}) == ""


def test_a_block_is_ok_when_every_object_is() -> None:
    ok, bad = ObjectStatus("K", "n", "a", "True"), ObjectStatus("K", "n", "b", "Missing")
    assert BlockStatus("x", (ok, ok)).ok and not BlockStatus("x", (ok, bad)).ok and BlockStatus("x", ()).ok


def test_the_json_form_carries_the_poller_notes_and_error() -> None:
    s = ClusterStatus(StackLayer("t"), "v2.9.3", (), None, (), poller={"phase": "synced"}, notes=("n",))
    data = s.to_json()
    assert (data["poller"], data["notes"], data["error"], data["ready"], data["source"]) == (
        {"phase": "synced"},
        ["n"],
        None,
        True,
        None,
    )
    broken = ClusterStatus(StackLayer("t"), "v2.9.3", (), None, (), error="no cluster").to_json()
    assert (broken["error"], broken["ready"], broken["poller"]) == ("no cluster", False, None)


# -- recent updates -------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_DATE": "2026-11-30T05:00:00+00:00", "GIT_COMMITTER_DATE": "2026-11-30T05:00:00+00:00"}
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd, capture_output=True, text=True, check=True, env={**__import__("os").environ, **env},
    ).stdout.strip()  # fmt: skip


def test_recent_updates_with_the_latency_from_commit_to_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(tmp_path, "init", "-q")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "c")
    head = git(tmp_path, "rev-parse", "HEAD")

    def entry(start: str, end: str | None, **more: Any) -> dict[str, Any]:
        times = {"startTime": f"2026-11-30T{start}Z", **({"endTime": f"2026-11-30T{end}Z"} if end else {})}
        return {"kind": "update", **times, **more}

    history = [
        entry("05:01:00", "05:02:30", result="succeeded", environment={"git.head": head}),
        entry("04:00:00", "04:00:10", result="failed", environment={"git.head": "f" * 40}),  # not here
        entry("03:00:00", "03:00:05"),
        {**entry("02:00:00", "02:00:01"), "kind": "refresh"},
        entry("01:00:00", None),  # still running
    ]
    fake = FakePulumi(answers={("stack", "history"): history})
    monkeypatch.setattr(page_module, "PulumiCli", fake)
    updates = recent_updates("t", tmp_path, count=5)
    assert fake.runs == [("stack", "history", "--page-size", "5", "--json")]
    assert updates == [
        Update(datetime(2026, 11, 30, 5, 1, tzinfo=UTC), 90.0, "succeeded", head, 150.0),
        Update(datetime(2026, 11, 30, 4, tzinfo=UTC), 10.0, "failed", "f" * 40, None),
        Update(datetime(2026, 11, 30, 3, tzinfo=UTC), 5.0, "", "", None),
    ]
    empty = FakePulumi()
    monkeypatch.setattr(page_module, "PulumiCli", empty)
    assert recent_updates("t", tmp_path) == []
    assert empty.runs == [("stack", "history", "--page-size", "20", "--json")]  # the last 20 by default


# -- the page -------------------------------------------------------------------------------------


def update(minute: int, latency: float | None = None) -> Update:
    return Update(datetime(2026, 11, 30, 5, minute, tzinfo=UTC), 12.4, "succeeded", f"{minute:040d}", latency)


def test_a_cluster_that_cannot_be_read_shows_why_and_no_rows() -> None:
    s = ClusterStatus(
        StackLayer("prod", error="pulumi is not on PATH"), "v2.9.3", (), None, (), error="no cluster"
    )
    page = page_html([(s, [])])
    assert '<section id="stack-prod"><h2>prod <small>cannot tell</small></h2>' in page
    assert "last update - " in page and "&middot; pulumi is not on PATH" in page
    assert '<p class="bad">no cluster</p></section>' in page and "<table>" not in page


def test_a_ready_stack_with_its_poller_and_updates() -> None:
    controller = ObjectStatus("Deployment", "flux-system", "source-controller", "True")
    s = ClusterStatus(
        StackLayer("dev", "2026-11-30T05:03:00Z", "succeeded", "0123456789abcdef"),
        "v2.9.3",
        (controller, ObjectStatus("Deployment", "flux-system", "helm-controller", "False")),
        None,
        (BlockStatus("b", (ObjectStatus("HelmRelease", "n", "r", "True", revision="1" * 50),)),),
        poller={"phase": "synced", "applied_revision": "abcdef0123456789"},
    )
    page = page_html([(s, [update(2, 30.0), update(1, None), update(0, 10.0)])])
    assert "<small>1 not Ready</small>" in page
    assert "at <code>0123456789ab</code>" in page and "Flux v2.9.3: 1/2 controllers Ready" in page
    assert "<p>poller: synced at <code>abcdef012345</code></p>" in page
    assert f"<code>{'1' * 40}</code>" in page and "1" * 41 not in page
    assert "<td>30 s</td>" in page and "<td>-</td>" in page and "<td>12</td>" in page
    assert page.count("<circle") == 2 and "max 30 s" in page
    # oldest first, left to right; the highest latency at the top
    assert '<polyline points="10.0,75.0 470.0,15.0"' in page
    assert '<tr class="ok"><td>flux</td><td>Deployment flux-system/source-controller</td>' in page
    assert "</tbody></table><h3>Commit &rarr; applied latency</h3>" in page
    assert "tr.bad{background:#ffebe9}.bad{color:#cf222e}" in page
    empty = page_html([(ClusterStatus(StackLayer("e"), "v", (), None, ()), [update(0, 5.0)])])
    assert "No update recorded" not in empty and "Not enough updates with a known commit" in empty
    assert "<small>all Ready</small>" in empty and "<p>poller" not in empty
    assert "No update recorded." in page_html([(ClusterStatus(StackLayer("e"), "v", (), None, ()), [])])
    no_phase = ClusterStatus(StackLayer("e"), "v", (), None, (), poller={})
    assert "<p>poller:  at <code>-</code></p>" in page_html([(no_phase, [])])
    two = page_html([(no_phase, []), (ClusterStatus(StackLayer("f"), "v", (), None, ()), [])])
    assert '</section><section id="stack-f">' in two


def test_page_error_is_escaped() -> None:
    assert page_error("<b>x</b>") == (
        b"<!doctype html><html><body><h1>eoepca-gitops status</h1><p>&lt;b&gt;x&lt;/b&gt;</p></body></html>"
    )


@pytest.fixture
def served() -> Iterator[tuple[str, list[object]]]:
    answers: list[object] = [b"<p>page</p>", GitopsError("the cluster does not answer")]

    def render() -> bytes:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, bytes)
        return answer

    server = status_server("127.0.0.1", 0, render)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answers
    server.shutdown()
    server.server_close()


def test_the_page_is_served_at_root_only_and_a_failure_is_a_503_page(
    served: tuple[str, list[object]],
) -> None:
    url, _ = served
    with urllib.request.urlopen(url + "/?refresh=1") as response:
        assert (response.status, response.read()) == (200, b"<p>page</p>")
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url + "/")
    with exc.value:
        assert exc.value.code == 503 and b"the cluster does not answer" in exc.value.read()
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url + "/other")
    with exc.value:
        assert exc.value.code == 404


def test_serving_on_an_address_that_cannot_be_used_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(GitopsError, match=r"^--serve nonsense: "):
        page_module.serve_status("nonsense", ["t"], tmp_path, None, load=lambda *_: None, say=print)  # type: ignore[arg-type]


def test_the_page_is_gathered_afresh_for_each_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import eoepca_gitops.operations.collect as collect_module

    asked: list[tuple[str, Any]] = []

    def collect(model: Any, manifests: Any, project: Path, **kw: Any) -> ClusterStatus:
        asked.append((model, kw.get("state_file")))
        return ClusterStatus(StackLayer(model), "v2.9.3", (), None, ())

    def history(name: str, project: Path) -> list[Update]:
        if name == "b":
            raise GitopsError("no history")
        return [update(0, 5.0)]

    pages: list[bytes] = []

    class Server:
        server_address = ("127.0.0.1", 1234)

        def __init__(self, render: Any, data: Any) -> None:
            self.render, self.data = render, data

        def serve_forever(self) -> None:
            pages.append(self.render())
            pages.append(self.data())
            raise KeyboardInterrupt  # Ctrl-C

        def server_close(self) -> None:
            pages.append(b"closed")

    monkeypatch.setattr(collect_module, "collect", collect)
    monkeypatch.setattr(page_module, "recent_updates", history)
    monkeypatch.setattr(page_module, "status_server", lambda host, port, render, data: Server(render, data))
    said: list[str] = []
    page_module.serve_status(
        "127.0.0.1:0", ["a", "b"], tmp_path, tmp_path / "state.json",
        load=lambda name, project: SimpleNamespace(stack=name, manifests=None), say=said.append,  # type: ignore[arg-type, return-value]
    )  # fmt: skip
    assert asked == [("a", tmp_path / "state.json"), ("b", tmp_path / "state.json")] * 2
    assert pages[2] == b"closed" and pages[0].count(b"<section") == 2
    # What the page fetches to update itself: each stack's section, as the page renders it.
    assert [s["name"] for s in json.loads(pages[1])["stacks"]] == ["a", "b"]
    assert pages[0].count(b"No update recorded.") == 1  # b's history could not be read
    assert said == ["status page of a, b at http://127.0.0.1:1234/ (Ctrl-C stops it)"]
