"""`eoepca-gitops import`: the creodias tree and a synthetic public layout, imported then rendered,
compared object by object with what Flux applies from the original (plain pytest, no engine)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from eoepca_gitops.fluxtree import Key
from tests.importer.roundtrip import compare, index, original, render, run_import
from tests.importer.trees import flux_kustomization, import_small
from tests.outside_data import EOEPCA_TREE, link_shared_flux

TREE = EOEPCA_TREE
CREODIAS = "system/clusters/creodias/system"
K, S, N = "kustomize.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io"
# Kustomizations: the path is the project's layout; `validation` is gone from Flux's API (ignored
# since v1beta2).
KUSTOMIZATION = {"spec.path", "spec.validation"}


@pytest.mark.eoepca_tree
@pytest.mark.flux_manifests
def test_creodias_round_trip(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = run_import(TREE, CREODIAS, "creodias", tmp_path)
    imported = time.perf_counter() - started
    _, objects, apis = render(tmp_path, "creodias")
    rendered = time.perf_counter() - started - imported
    print(f"\nimport {imported:.2f}s, render (both layers) {rendered:.2f}s")
    ours, theirs = index(objects), original(TREE, "./" + CREODIAS, apis)
    allowed: dict[Key, set[str]] = {
        (K, "Kustomization", "flux-system", n): KUSTOMIZATION
        for n in ("flux-system", "user-management", "resource-management", "processing-and-chaining")
    }
    # The recurring domain is written ${domain} into their manifests in Git (the ClusterIssuer, the
    # Ingress, the workspace templates): Flux substitutes it from cluster-vars.
    for n in ("flux-system", "resource-management"):
        allowed[(K, "Kustomization", "flux-system", n)] |= {"spec.postBuild"}
    additions = {
        ("", "ConfigMap", "flux-system", "cluster-vars"),
        ("", "Secret", "flux-system", "flux-system"),  # the deploy key: made by flux bootstrap
    }
    replaced: set[Key] = set()
    problems = compare(ours, theirs, allowed, additions, replaced)
    print("\n".join(problems))
    assert not problems
    assert len(theirs) == 102
    # Every SealedSecret and the ClusterIssuer are in the report; the annotated HelmReleases are
    # declared in their blocks, annotations and all.
    report = (tmp_path / "import-report.md").read_text()
    assert report.count("encrypted SealedSecret") == 14
    assert "hr-eoepca-portal.yaml" not in report and "ClusterIssuer" in report
    stack = (tmp_path / "Pulumi.creodias.yaml").read_text()
    assert "domain: develop.eoepca.org" in stack and "publicIp: 185.52.192.231" in stack
    blocks = "".join(p.read_text() for p in (tmp_path / "clusters" / "blocks").glob("*.yaml"))
    assert "develop.eoepca.org" not in blocks and "${domain}" in blocks
    assert len(result.report) >= 20


@pytest.mark.eoepca_tree
@pytest.mark.flux_manifests
def test_import_and_render_are_deterministic(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        run_import(TREE, CREODIAS, "creodias", out)
        files, _, _ = render(out, "creodias")
        written = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        outputs.append((written, files))
    assert outputs[0] == outputs[1]


@pytest.mark.eoepca_tree
@pytest.mark.flux_manifests
def test_bad_input_is_reported_not_fatal(tmp_path: Path) -> None:
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    folder = tree / CREODIAS / "demo"
    (folder / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: [\n")
    (folder / "widget.yaml").write_text(
        "apiVersion: example.org/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: demo\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    result = run_import(tree, CREODIAS, "creodias", out)
    lines = [str(r) for r in result.report]
    assert any(
        line.startswith(f"{CREODIAS}/demo/broken.yaml:") and "not valid YAML" in line for line in lines
    )
    assert any("Widget (example.org)" in line and "widget.yaml:2" in line for line in lines)
    assert (out / "clusters/flux/flux-system/widget_demo_w.yaml").is_file()
    assert (out / f"clusters/creodias/unconverted/{CREODIAS}/demo/broken.yaml._yaml").is_file()


@pytest.mark.eoepca_tree
@pytest.mark.flux_manifests
@pytest.mark.parametrize("version", ["v2.9.3"])
def test_creodias_import_with_a_flux_upgrade(tmp_path: Path, version: str) -> None:
    manifest = "../../shared/flux"
    out = tmp_path / "a" / "b"
    out.mkdir(parents=True)
    link_shared_flux(tmp_path)
    run_import(TREE, CREODIAS, "creodias", out, flux_version=version, flux_manifest=manifest)
    _, objects, apis = render(out, "creodias")
    assert apis["HelmRelease"] == "helm.toolkit.fluxcd.io/v2"
    ours = index(objects)
    versions = {o["apiVersion"] for o in ours.values() if "toolkit.fluxcd.io" in o["apiVersion"]}
    assert not {v for v in versions if v.endswith(("v1beta1", "v1beta2", "v2beta1", "v2beta2"))}, versions
    theirs = original(TREE, "./" + CREODIAS, apis)
    non_install = {
        k
        for k, o in theirs.items()
        if (o["metadata"].get("labels") or {}).get("app.kubernetes.io/part-of") != "flux"
    }
    assert non_install <= set(ours)


@pytest.mark.flux_manifests
def test_a_public_ip_the_tree_reveals_is_the_stacks_and_not_listed_as_unset(tmp_path: Path) -> None:
    settings = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "web"},
        "data": {"address": "192.0.2.7", "url": "http://192.0.2.7:8080"},
    }
    out, result = import_small(
        tmp_path,
        {"clusters/home/apps.yaml": [flux_kustomization("apps", "./apps")], "apps/settings.yaml": [settings]},
    )
    assert [str(item) for item in result.report] == [
        "./clusters/home: no flux-system/gotk-components.yaml: the stack uses the default Flux"
    ]
    assert (out / "Pulumi.home.yaml").read_text() == (
        "# Stack home, imported by `eoepca-gitops import` from ./clusters/home.\n"
        "# See import-report.md.\n"
        "config:\n"
        "  eoepca-gitops:cluster:\n"
        "    name: home\n"
        "    publicIp: 192.0.2.7\n"
        "  eoepca-gitops:flux:\n"
        "    version: v2.9.3\n"
        "    manifest: ../shared/flux\n"
        "  eoepca-gitops:git:\n"
        "    url: https://git.example.org/fleet\n"
        "    branch: main\n"
        "    interval: 1m\n"
        "    path: ./clusters/flux\n"
        "  eoepca-gitops:blocks:\n"
        "  - flux-system\n"
        "  - apps\n"
    )
