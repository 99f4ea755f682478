"""The poller image's pieces that need no container engine: the reference the stacks default to,
the user the Deployment and the Containerfile share, the pinned Python packages, and the bill of
materials (image/sbom.py) read from a dpkg status file, Python's distributions and `go version -m`.
The image itself is built and run in tests/integration/test_poller_image.py."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import tomllib
from pathlib import Path
from types import ModuleType

from eoepca_gitops.model import defaults
from tests.helpers import REPO_ROOT


def sbom_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("image_sbom", REPO_ROOT / "image" / "sbom.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_default_image_is_this_version() -> None:
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"ghcr.io/eoepca/eoepca-gitops:{version}" == defaults.POLLER_IMAGE


def test_the_containerfile_runs_as_the_deployment_user() -> None:
    text = (REPO_ROOT / "Containerfile").read_text()
    uid = defaults.POLLER_UID
    assert f"USER {uid}:{uid}" in text
    assert f"--uid {uid}" in text
    assert f"{defaults.POLLER_STATE_DIR}/home" in text


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_locked_package_is_pinned_with_its_hash() -> None:
    lines = [
        ln for ln in (REPO_ROOT / "image" / "requirements.txt").read_text().splitlines() if ln[:1] not in "#"
    ]
    assert lines
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[^ ]+ --hash=sha256:[0-9a-f]{64}", line), line
    locked = {normal(ln.split("==")[0]): ln.split("==")[1].split()[0] for ln in lines}
    # The project's exact pins reach the image at the same versions.
    for dep in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        if "==" in dep:
            name, version = dep.split("==")
            assert locked[normal(name)] == version, dep
    assert "pip" in locked  # run from its wheel in the build, not installed


DPKG = """Package: git
Status: install ok installed
Architecture: amd64
Version: 1:2.47.3-0+deb13u1
Description: fast, scalable, distributed revision control system
 with a continuation line: not a field

Package: removed-one
Status: deinstall ok config-files
Version: 1.0

Package: python3.13
Status: install ok installed
Architecture: amd64
Version: 3.13.5-2
"""

GO = """/ctx/pulumi/bin/pulumi: go1.26.1
\tpath\tgithub.com/pulumi/pulumi/pkg/v3/cmd/pulumi
\tmod\tgithub.com/eoepca/tools/pulumi\t(devel)\t
\tdep\tgithub.com/pulumi/pulumi/sdk/v3\tv3.274.1\th1:abc=
\tdep\tgithub.com/old/thing\tv1.0.0
\t=>\tgithub.com/new/thing\tv1.2.0\th1:def=
\tbuild\t-trimpath=true
/ctx/pulumi/kubernetes/pulumi-resource-kubernetes: go1.26.1
\tdep\tgithub.com/pulumi/pulumi/sdk/v3\tv3.274.1\th1:abc=
"""


def test_dpkg_packages_are_the_installed_ones() -> None:
    pkgs = list(sbom_module().dpkg_packages(DPKG))
    assert [(p["Package"], p["Version"]) for p in pkgs] == [
        ("git", "1:2.47.3-0+deb13u1"),
        ("python3.13", "3.13.5-2"),
    ]


def test_go_modules_name_toolchain_dependencies_and_replacements() -> None:
    mods = list(sbom_module().go_modules(GO))
    assert ("pulumi", "stdlib", "go1.26.1") in mods
    assert ("pulumi", "github.com/pulumi/pulumi/sdk/v3", "v3.274.1") in mods
    assert ("pulumi", "github.com/new/thing", "v1.2.0") in mods
    assert ("pulumi-resource-kubernetes", "github.com/pulumi/pulumi/sdk/v3", "v3.274.1") in mods


def test_the_document_is_spdx_with_every_package_contained(tmp_path: Path) -> None:
    (tmp_path / "status").write_text(DPKG)
    (tmp_path / "go.txt").write_text(GO)
    args = argparse.Namespace(
        name="eoepca-gitops", version="0.1.0", revision="abc123", created="2026-12-07T00:00:00Z",
        dpkg_status=str(tmp_path / "status"), go_modules=str(tmp_path / "go.txt"),
    )  # fmt: skip
    doc = sbom_module().build(args)
    assert doc["spdxVersion"] == "SPDX-2.3"
    ids = [p["SPDXID"] for p in doc["packages"]]
    assert len(ids) == len(set(ids))
    purls = {r["referenceLocator"] for p in doc["packages"] for r in p.get("externalRefs", [])}
    assert "pkg:deb/debian/git@1:2.47.3-0+deb13u1?arch=amd64" in purls
    assert "pkg:golang/github.com/pulumi/pulumi/sdk/v3@v3.274.1" in purls  # once, though in both binaries
    assert sum(1 for u in purls if u.startswith("pkg:golang/github.com/pulumi/pulumi/sdk/v3@")) == 1
    assert "pkg:pypi/pydantic@2.13.4" in purls  # this interpreter's distributions
    contained = {r["relatedSpdxElement"] for r in doc["relationships"] if r["relationshipType"] == "CONTAINS"}
    assert contained == set(ids[1:])
    json.dumps(doc)  # serialisable


def test_the_podman_arguments_are_the_pod_spec(tmp_path: Path) -> None:
    """tests/container.py turns the rendered pod spec into `podman run` as the kubelet would run it,
    secret values in the environment only, never on the command line."""
    from eoepca_gitops.manifests.poller import poller_objects
    from eoepca_gitops.model import PollerConfig
    from tests.container import Pod, expand, podman_run

    config = PollerConfig.model_validate(
        {"gitUrl": "https://git.example/c.git", "branch": "main", "stacks": ["s"], "backendUrl": "s3://b"}
    )
    objs = poller_objects(config, {"PULUMI_CONFIG_PASSPHRASE": "pass-0c1d"})
    spec = next(o for o in objs if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    secrets = {o["metadata"]["name"]: o["stringData"] for o in objs if o["kind"] == "Secret"}
    args, env = podman_run(spec, Pod("p", "ns", "127.0.0.9"), secrets, tmp_path)
    assert "pass-0c1d" not in " ".join(args)
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "pass-0c1d" and env["POD_IP"] == "127.0.0.9"
    assert {"--read-only", "--user=65532:65532", "--cap-drop=ALL", "--network=host"} <= set(args)
    assert f"--volume={tmp_path}/p/state:/var/lib/eoepca-gitops" in args
    assert args[args.index(config.image) + 1 :][:2] == ["poll", "--repo"]
    assert "[127.0.0.9]:9464" in args
    assert (tmp_path / "p" / "state").stat().st_mode & 0o777 == 0o777
    assert expand("$(A)-$$(A)-$(B)", {"A": "x"}) == "x-$(A)-$(B)"
