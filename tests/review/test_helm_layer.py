"""The Helm layer with a renderer standing in for helm (the real one: tests/integration/test_diff_helm.py),
and a stack reviewed across two revisions of a project."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.fluxtree import key
from eoepca_gitops.review.charts import ChartMissing, ChartUnavailable
from eoepca_gitops.review.helm_layer import RenderError, Revision, helm_layer
from eoepca_gitops.review.releases import ReleaseInput
from eoepca_gitops.review.revision import at_revision
from eoepca_gitops.review.stacks import review_stack
from eoepca_gitops.review.validation import HeadSchemas
from tests.helpers import FIXTURES, git
from tests.outside_data import link_shared_flux
from tests.review.test_releases import HR, REPO

FIXTURE = FIXTURES / "project"


class StandIn:
    """Renders what the dev cluster's stand-in charts render: the values, and a Deployment whose
    image names the chart version and whose container takes the value `securityContext` verbatim."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def render(self, release: ReleaseInput, project: Path, *, upgrade: bool) -> list[dict[str, Any]]:
        assert release.source is not None
        self.calls.append((release.chart_label, upgrade))
        if release.source.version == "9.9.9":
            raise ChartMissing(
                f'chart "{release.source.chart}" version "9.9.9" not found in {release.source.url}'
            )
        if "unreachable" in release.source.url:
            raise ChartUnavailable("dial tcp: connection refused")
        if release.values.get("fail"):
            raise RenderError("template: values.fail is set")
        image = f"stand-in/{release.source.chart}:{release.source.version}"
        context = release.values.get("securityContext")
        container = {"securityContext": context} if context else {}
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{release.name}-values"},
                "data": {"values.yaml": yaml_io.dump(dict(release.values))},
            },
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": release.name},
                "spec": {
                    "replicas": release.values.get("replicaCount", 1),
                    "selector": {"matchLabels": {"app": release.name}},
                    "template": {
                        "metadata": {"labels": {"app": release.name}},
                        "spec": {"containers": [{"image": image, "name": "stand-in", **container}]},
                    },
                },
            },
        ]


def _revision(*releases: dict[str, Any], repo: dict[str, Any] = REPO) -> Revision:
    return Revision(
        {key(r): (r, "block user-management") for r in releases},
        {key(o): o for o in (repo, *releases)},
        Path("."),
    )


def _bumped(version: str = "1.2.9", **values: Any) -> dict[str, Any]:
    hr = copy.deepcopy(HR)
    hr["spec"]["chart"]["spec"]["version"] = version
    hr["spec"]["values"].update(values)
    return hr


def test_unchanged_releases_are_not_rendered() -> None:
    renderer = StandIn()
    assert helm_layer(_revision(HR), _revision(copy.deepcopy(HR)), renderer).sections == []
    assert renderer.calls == []


def test_a_chart_bump_shows_the_rendered_objects_that_change() -> None:
    renderer = StandIn()
    layer = helm_layer(_revision(HR), _revision(_bumped()), renderer)
    [section] = layer.sections
    rendered = layer.rendered["HelmRelease um/um-login-service"]  # the head's, for the schema check
    assert [o["kind"] for o in rendered] == ["ConfigMap", "Deployment"]
    assert "stand-in/login-service:1.2.9" in str(rendered)
    assert section.release == "HelmRelease um/um-login-service" and section.group == "block user-management"
    assert section.chart == "login-service 1.2.8 -> 1.2.9" and not section.note and not section.error
    [deployment] = [o for o in section.objects if o.kind == "Deployment"]
    assert deployment.change == "changed"
    assert "-      - image: stand-in/login-service:1.2.8" in deployment.diff
    assert "+      - image: stand-in/login-service:1.2.9" in deployment.diff
    assert sorted(renderer.calls) == [("login-service 1.2.8", True), ("login-service 1.2.9", True)]


def test_a_value_change_shows_in_the_rendered_objects() -> None:
    [section] = helm_layer(_revision(HR), _revision(_bumped("1.2.8", replicaCount=3)), StandIn()).sections
    assert section.chart == "login-service 1.2.8, values changed"
    [deployment] = [o for o in section.objects if o.kind == "Deployment"]
    assert "-  replicas: 2" in deployment.diff and "+  replicas: 3" in deployment.diff


def test_added_and_removed_releases() -> None:
    [added] = helm_layer(_revision(), _revision(HR), StandIn()).sections
    assert added.chart == "login-service 1.2.8 (new release)" and {o.change for o in added.objects} == {
        "added"
    }
    [removed] = helm_layer(_revision(HR), _revision(), StandIn()).sections
    assert removed.chart == "login-service 1.2.8 (release removed)"
    assert {o.change for o in removed.objects} == {"deleted"}


def test_a_version_the_repository_does_not_have_is_an_error() -> None:
    [section] = helm_layer(_revision(HR), _revision(_bumped("9.9.9")), StandIn()).sections
    assert section.objects == () and section.error.startswith("head: login-service 9.9.9: chart")
    [fixed] = helm_layer(_revision(_bumped("9.9.9")), _revision(HR), StandIn()).sections
    assert not fixed.error and fixed.note.startswith("base: login-service 9.9.9: chart")


def test_a_chart_that_cannot_be_fetched_is_a_note() -> None:
    repo = copy.deepcopy(REPO)
    repo["spec"]["url"] = "https://unreachable.example.org/"
    [section] = helm_layer(_revision(HR, repo=repo), _revision(_bumped(), repo=repo), StandIn()).sections
    assert section.objects == () and not section.error
    refused = "dial tcp: connection refused"
    assert section.note == f"chart not fetched: {refused}"


def test_a_chart_that_refuses_the_heads_values_is_an_error() -> None:
    [section] = helm_layer(_revision(HR), _revision(_bumped("1.2.8", fail=True)), StandIn()).sections
    assert section.error == "head: login-service 1.2.8: template: values.fail is set"


def test_values_that_render_the_same_objects_say_so() -> None:
    class Same(StandIn):
        def render(self, release: ReleaseInput, project: Path, *, upgrade: bool) -> list[dict[str, Any]]:
            return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fixed"}}]

    [section] = helm_layer(_revision(HR), _revision(_bumped("1.2.8", unused=1)), Same()).sections
    assert section.objects == () and section.note == "renders the same objects"


# ---- a stack across two revisions ---------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    project = tmp_path / "a" / "b" / "c" / "project"
    shutil.copytree(FIXTURE, project)
    link_shared_flux(tmp_path)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "one")
    return project


@pytest.mark.flux_manifests
def test_a_stack_review_groups_each_layer_by_block(repo: Path) -> None:
    block = repo / "clusters" / "blocks" / "portal.yaml"
    block.write_text(block.read_text().replace("version: 1.0.11", "version: 1.0.12"))
    with at_revision(repo, "HEAD") as base:
        review = review_stack("test", base, repo, StandIn())
    assert [(s.layer, s.group) for s in review.sections] == [
        ("pulumi", "block portal"),
        ("helm", "block portal"),
    ]
    [helm] = review.layer("helm")
    assert helm.chart == "eoepca-portal 1.0.11 -> 1.0.12" and review.changed and review.errors == ()
    assert review.state == "changed" and review.helm_note == ""


@pytest.mark.flux_manifests
def test_a_stack_only_in_the_working_tree_is_added(repo: Path) -> None:
    shutil.copy(repo / "Pulumi.test.yaml", repo / "Pulumi.other.yaml")
    with at_revision(repo, "HEAD") as base:
        review = review_stack("other", base, repo, None, "--no-helm")
    assert review.state == "added" and review.helm_note == "--no-helm"
    assert {o.change for s in review.sections for o in s.objects} == {"added"}


@pytest.mark.flux_manifests
def test_a_stack_that_does_not_load_is_an_error(repo: Path) -> None:
    (repo / "Pulumi.test.yaml").write_text("config: [\n")
    with at_revision(repo, "HEAD") as base, pytest.raises(GitopsError) as exc:
        review_stack("test", base, repo, None)
    assert str(exc.value).startswith("in the working tree: ") and "not valid YAML" in str(exc.value)


# ---- the head checked against the schemas -------------------------------------------------------


def _portal_values(repo: Path, extra: str) -> None:
    block = repo / "clusters" / "blocks" / "portal.yaml"
    text = block.read_text().replace(
        "      publicIp: ${public_ip}\n", f"      publicIp: ${{public_ip}}\n{extra}"
    )
    block.write_text(text)


@pytest.mark.flux_manifests
def test_what_helm_renders_at_the_head_is_checked_against_its_schema(repo: Path) -> None:
    _portal_values(repo, "      securityContext: {runAsUsr: 1000}\n")
    with at_revision(repo, "HEAD") as base:
        review = review_stack("test", base, repo, StandIn(), schemas=HeadSchemas())
    assert review.errors == (
        "helm layer, HelmRelease demo/eoepca-portal: apps/v1 Deployment eoepca-portal: "
        "spec.template.spec.containers[0].securityContext.runAsUsr: unknown field "
        "(did you mean 'runAsUser'?)",
    )
    assert review.changed  # shown all the same
    with at_revision(repo, "HEAD") as base:
        assert review_stack("test", base, repo, StandIn()).errors == ()  # without schemas: not checked


@pytest.mark.flux_manifests
def test_the_base_is_not_checked(repo: Path) -> None:
    _portal_values(repo, "      securityContext: {runAsUsr: 1000}\n")
    git(repo, "commit", "-qam", "broken")
    _portal_values(repo, "      replicaCount: 2\n")
    (repo / "clusters" / "blocks" / "portal.yaml").write_text(
        (repo / "clusters" / "blocks" / "portal.yaml").read_text().replace("runAsUsr", "runAsUser")
    )
    with at_revision(repo, "HEAD") as base:
        review = review_stack("test", base, repo, StandIn(), schemas=HeadSchemas())
    assert review.errors == () and review.changed


class WithCrd(StandIn):
    """A chart that installs a CRD and an object of it, and one of a kind nothing defines."""

    def render(self, release: ReleaseInput, project: Path, *, upgrade: bool) -> list[dict[str, Any]]:
        schema = {
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
        }
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.org"},
            "spec": {
                "group": "example.org",
                "scope": "Namespaced",
                "names": {
                    "kind": "Widget",
                    "plural": "widgets",
                    "singular": "widget",
                    "listKind": "WidgetList",
                },
                "versions": [
                    {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
                ],
            },
        }
        widget = {
            "apiVersion": "example.org/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"size": release.values.get("size", 1)},
        }
        gadget = {"apiVersion": "other.example.org/v1", "kind": "Gadget", "metadata": {"name": "g"}}
        return [*super().render(release, project, upgrade=upgrade), crd, widget, gadget]


@pytest.mark.flux_manifests
def test_a_crd_a_chart_renders_gives_the_schema_of_its_objects(repo: Path) -> None:
    _portal_values(repo, "      size: big\n")
    with at_revision(repo, "HEAD") as base:
        review = review_stack("test", base, repo, WithCrd(), schemas=HeadSchemas())
    assert review.errors == (
        "helm layer, HelmRelease demo/eoepca-portal: example.org/v1 Widget w: spec.size: "
        "wrong type: expected integer, got string 'big'",
    )
    assert review.notes == (
        "helm layer, HelmRelease demo/eoepca-portal: other.example.org/v1 Gadget: not validated: no schema "
        "in Kubernetes v1.37.2, Flux v2.9.3 or a CRD among the objects (1 object)",
    )
