"""Where the Flux install manifest of a version comes from: a local file or folder, a mirror folder,
the cache, or one download into the cache; each failure one ConfigError naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.manifests import flux_release
from eoepca_gitops.manifests.flux_release import (
    MIRROR_ENV,
    cache_dir,
    load_install_manifest,
    manifest_path,
    read_install_manifest,
    release_version,
)
from eoepca_gitops.model.stack import FluxConfig

MANIFEST = "# Flux Version: v2.9.3\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n"


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No mirror folder; the cache in tmp_path/cache."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setenv("EOEPCA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_the_version_is_read_from_the_header() -> None:
    assert release_version(MANIFEST) == "v2.9.3"
    assert release_version("# Flux Version: v0.24.0 \nrest") == "v0.24.0"
    assert release_version("apiVersion: v1\n") is None
    assert release_version("x" * 2048 + "\n# Flux Version: v2.9.3\n") is None  # only the start counts


def test_the_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOEPCA_CACHE_DIR", "/c")
    assert cache_dir() == Path("/c/flux")
    monkeypatch.delenv("EOEPCA_CACHE_DIR")
    monkeypatch.setenv("HOME", "/home/u")
    assert cache_dir() == Path("/home/u/.cache/eoepca-gitops/flux")


@pytest.mark.parametrize(
    "layout", ["install-v2.9.3.yaml", "v2.9.3/install.yaml", "install.yaml", "gotk-components.yaml"]
)
def test_a_local_folder_in_every_layout(isolated: Path, layout: str) -> None:
    path = isolated / "flux" / layout
    path.parent.mkdir(parents=True)
    path.write_text(MANIFEST)
    assert manifest_path(FluxConfig(manifest="flux"), file="Pulumi.t.yaml", project=isolated) == path


def test_a_local_file_of_another_version_is_refused(isolated: Path) -> None:
    (isolated / "install.yaml").write_text(MANIFEST)
    with pytest.raises(ConfigError) as info:
        manifest_path(
            FluxConfig(manifest="install.yaml", version="v2.8.0"), file="Pulumi.t.yaml", project=isolated
        )
    assert str(info.value) == (
        f"Pulumi.t.yaml: eoepca-gitops:flux.manifest: {isolated / 'install.yaml'} is Flux v2.9.3, not v2.8.0"
    )


def test_a_local_folder_without_the_version_is_refused(isolated: Path) -> None:
    (isolated / "flux").mkdir()
    with pytest.raises(ConfigError) as info:
        manifest_path(FluxConfig(manifest="flux"), file="Pulumi.t.yaml", project=isolated)
    assert str(info.value) == (
        "Pulumi.t.yaml: eoepca-gitops:flux.version: "
        f"no install manifest for Flux v2.9.3 in {isolated / 'flux'}"
    )


def test_the_mirror_folder_then_the_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = isolated / "cache" / "flux" / "v2.9.3" / "install.yaml"
    cached.parent.mkdir(parents=True)
    cached.write_text(MANIFEST)
    mirror = isolated / "mirror"
    mirror.mkdir()
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    assert manifest_path(FluxConfig(), file="f", project=isolated) == cached  # not in the mirror
    (mirror / "install-v2.9.3.yaml").write_text(MANIFEST)
    assert manifest_path(FluxConfig(), file="f", project=isolated) == mirror / "install-v2.9.3.yaml"


def test_a_download_lands_in_the_cache_once(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    urls: list[str] = []

    def download(url: str) -> str:
        urls.append(url)
        return MANIFEST

    monkeypatch.setattr(flux_release, "_download", download)
    path = manifest_path(FluxConfig(), file="f", project=isolated)
    assert path == isolated / "cache" / "flux" / "v2.9.3" / "install.yaml"
    assert path.read_text() == MANIFEST
    assert sorted(p.name for p in path.parent.iterdir()) == ["install.yaml"]  # no temporary file left
    assert manifest_path(FluxConfig(), file="f", project=isolated) == path
    assert urls == ["https://github.com/fluxcd/flux2/releases/download/v2.9.3/install.yaml"]


def test_a_failed_download_says_what_to_set_instead(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str) -> str:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(flux_release, "_download", offline)
    with pytest.raises(ConfigError) as info:
        manifest_path(FluxConfig(version="v2.8.0"), file="Pulumi.t.yaml", project=isolated)
    assert str(info.value) == (
        "Pulumi.t.yaml: eoepca-gitops:flux.version: no install manifest for Flux v2.8.0: downloading "
        "https://github.com/fluxcd/flux2/releases/download/v2.8.0/install.yaml failed (Network is "
        "unreachable); for an air-gapped cluster set flux.manifest to a local file or folder, or "
        "EOEPCA_FLUX_MANIFESTS to a folder of release manifests"
    )
    assert not (isolated / "cache" / "flux" / "v2.8.0").exists()


def test_the_manifest_is_parsed_into_its_mappings(isolated: Path) -> None:
    crds = "".join(
        f"---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: {n}}}\n"
        for n in ("gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io")
    )
    (isolated / "install.yaml").write_text(MANIFEST + crds + "---\n- not a mapping\n")
    assert load_install_manifest(FluxConfig(manifest="install.yaml"), file="f", project=isolated) == (
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}},
        *(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": n},
            }
            for n in (
                "gitrepositories.source.toolkit.fluxcd.io",
                "kustomizations.kustomize.toolkit.fluxcd.io",
            )
        ),
    )
    (isolated / "broken.yaml").write_text("# Flux Version: v2.9.3\na: [1\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line 3, column 1: not valid YAML: "):
        load_install_manifest(FluxConfig(manifest="broken.yaml"), file="f", project=isolated)
    (isolated / "namespace.yaml").write_text(MANIFEST)
    with pytest.raises(
        ConfigError,
        match=r"^f: eoepca-gitops:flux.manifest: .*namespace.yaml is not a Flux install manifest \(it has no "
        r"CRD gitrepositories.source.toolkit.fluxcd.io and no "
        r"CRD kustomizations.kustomize.toolkit.fluxcd.io\)$",
    ):
        load_install_manifest(FluxConfig(manifest="namespace.yaml"), file="f", project=isolated)


def test_a_cached_manifest_that_is_no_install_manifest_names_the_version(isolated: Path) -> None:
    cached = isolated / "cache" / "flux" / "v2.9.3" / "install.yaml"
    cached.parent.mkdir(parents=True)
    cached.write_text(MANIFEST)
    with pytest.raises(ConfigError) as info:
        load_install_manifest(FluxConfig(), file="f", project=isolated)
    assert info.value.key == "eoepca-gitops:flux.version"


def test_a_download_completes_a_cache_folder_an_interrupted_one_left(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = isolated / "cache" / "flux" / "v2.9.3"
    folder.mkdir(parents=True)
    (folder / ".install.yaml.1.tmp").write_text("# Flux Version: v2.9.3\npart")  # the writer's, killed
    monkeypatch.setattr(flux_release, "_download", lambda url: MANIFEST)
    path = manifest_path(FluxConfig(), file="f", project=isolated)
    assert path.read_text() == MANIFEST


def test_only_the_header_says_the_version(isolated: Path) -> None:
    # a "Flux Version" comment further down (past the first 2048 characters) is not the release's header
    body = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  pad: '" + "x" * 2100
    (isolated / "install.yaml").write_text(MANIFEST + body + "'\n# Flux Version: v2.0.0\n")
    path = manifest_path(FluxConfig(manifest="install.yaml"), file="f", project=isolated)
    assert path == isolated / "install.yaml"


def test_a_manifest_is_parsed_once_per_content_and_kept_as_json(isolated: Path) -> None:
    manifest = isolated / "install.yaml"
    manifest.write_text(MANIFEST)
    objects = read_install_manifest(manifest)
    (kept,) = (isolated / "cache" / "parsed").iterdir()
    assert json.loads(kept.read_text()) == list(objects)
    kept.write_text(json.dumps([{"kind": "Namespace", "metadata": {"name": "read from what was kept"}}]))
    flux_release._parse.cache_clear()  # a new process: what was kept is read, nothing parsed
    assert read_install_manifest(manifest)[0]["metadata"]["name"] == "read from what was kept"
    manifest.write_text(MANIFEST + "---\nkind: ConfigMap\ndata: {1: one}\n")  # an integer key
    flux_release._parse.cache_clear()
    assert read_install_manifest(manifest)[-1]["data"] == {1: "one"}
    assert len(list((isolated / "cache" / "parsed").iterdir())) == 1  # JSON would not hold it
