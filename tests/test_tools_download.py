"""scripts/tools.sh's download path, against a local HTTP server serving made-up artefacts in the
release layout of each project (GitHub releases, get.helm.sh, dl.k8s.io), with their sha256 in a
test-only pin table (EOEPCA_TOOLS_PINS): checksums verified, a tampered artefact refused with a clear
error and nothing installed, a download that cannot be reached built instead. The build is a fake
`go` on PATH that writes a stub where `go build -o` points, so these tests take seconds."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import re
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eoepca_gitops.devcluster.ports import free_port
from tests.helpers import REPO_ROOT

TOOLS_SH = REPO_ROOT / "scripts" / "tools.sh"
SCRIPT = TOOLS_SH.read_text()


def version(name: str) -> str:
    found = re.search(rf"^{name}=(\S+)$", SCRIPT, re.M)
    assert found, name
    return found.group(1)


PULUMI, PROVIDER = version("PULUMI_VERSION"), version("K8S_PROVIDER_VERSION")
K8S, ETCD = version("K8S_VERSION"), version("ETCD_VERSION")
KWOK, HELM = version("KWOK_VERSION"), version("HELM_VERSION")

# A fake Go toolchain: `go build ... -o OUT` writes a stub saying it was built; `go mod download -json M`
# names a module folder holding what tools.sh copies out of modules (kwok's stages, the exec script).
FAKE_GO = r"""#!/bin/bash
echo "$*" >> "$FAKE_GO_LOG"
case "$1" in
  build)
    while [ $# -gt 0 ]; do
      if [ "$1" = -o ]; then printf '#!/bin/sh\necho built\n' > "$2"; chmod +x "$2"; fi
      shift
    done ;;
  mod) printf '{\n\t"Dir": "%s",\n}\n' "$FAKE_MODULE" ;;
esac
"""


def stub(text: str) -> bytes:
    return f"#!/bin/sh\necho {text}\n".encode()


def tar_gz(member: str, content: bytes) -> bytes:
    """The same bytes for the same content: gzip's header otherwise carries the current second."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(member)
        info.size, info.mode = len(content), 0o755
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buf.getvalue(), mtime=0)


# tool -> (path under the server, the member in the archive or None for a bare binary)
LAYOUT: dict[str, tuple[str, str | None]] = {
    "pulumi": (
        f"github/pulumi/pulumi/releases/download/{PULUMI}/pulumi-{PULUMI}-linux-x64.tar.gz",
        "pulumi/pulumi",
    ),
    "pulumi-resource-kubernetes": (
        f"github/pulumi/pulumi-kubernetes/releases/download/v{PROVIDER}/"
        f"pulumi-resource-kubernetes-v{PROVIDER}-linux-amd64.tar.gz",
        "pulumi-resource-kubernetes",
    ),
    "kube-apiserver": (f"k8s/release/{K8S}/bin/linux/amd64/kube-apiserver", None),
    "kube-controller-manager": (f"k8s/release/{K8S}/bin/linux/amd64/kube-controller-manager", None),
    "kube-scheduler": (f"k8s/release/{K8S}/bin/linux/amd64/kube-scheduler", None),
    "etcd": (
        f"github/etcd-io/etcd/releases/download/{ETCD}/etcd-{ETCD}-linux-amd64.tar.gz",
        f"etcd-{ETCD}-linux-amd64/etcd",
    ),
    "kwok": (f"github/kubernetes-sigs/kwok/releases/download/{KWOK}/kwok-linux-amd64", None),
    "helm": (f"helm/helm-{HELM}-linux-amd64.tar.gz", "linux-amd64/helm"),
}
VERSIONS = {
    "pulumi": PULUMI,
    "pulumi-resource-kubernetes": PROVIDER,
    "kube-apiserver": K8S,
    "kube-controller-manager": K8S,
    "kube-scheduler": K8S,
    "etcd": ETCD,
    "kwok": KWOK,
    "helm": HELM,
}
# Where tools.sh keeps each binary (the cache layout the integration tests and the dev cluster read).
INSTALLED = {
    "pulumi": f"pulumi-{PULUMI}/pulumi",
    "pulumi-resource-kubernetes": f"pulumi-resource-kubernetes-{PROVIDER}/pulumi-resource-kubernetes",
    "kube-apiserver": f"kubernetes-{K8S}/kube-apiserver",
    "kube-controller-manager": f"kubernetes-{K8S}/kube-controller-manager",
    "kube-scheduler": f"kubernetes-{K8S}/kube-scheduler",
    "etcd": f"etcd-{ETCD}/etcd",
    "kwok": f"kwok-{KWOK}/kwok",
    "helm": f"helm-{HELM}/helm",
}
# tools.sh's own names for the tool groups above
ARGS = ["pulumi", "kubernetes-provider", "kubernetes", "etcd", "kwok", "helm"]


@dataclass
class Releases:
    """A local server of release artefacts, and what was asked of it."""

    root: Path
    port: int = 0
    requests: list[str] = field(default_factory=list)
    binaries: dict[str, bytes] = field(default_factory=dict)

    def publish(self, tool: str, binary: bytes) -> str:
        """Serves `binary` as `tool`'s release artefact; returns the artefact's sha256."""
        path, member = LAYOUT[tool]
        data = binary if member is None else tar_gz(member, binary)
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.binaries[tool] = binary
        return hashlib.sha256(data).hexdigest()

    def url(self, prefix: str) -> str:
        return f"http://127.0.0.1:{self.port}/{prefix}"


@pytest.fixture
def releases(tmp_path: Path) -> Iterator[Releases]:
    served = Releases(tmp_path / "served")
    served.root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(served.root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            served.requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Run:
    code: int
    stderr: str
    tools_dir: Path
    builds: list[str]


def run_tools(tmp_path: Path, releases: Releases, pins: dict[str, str], *args: str, base: str = "") -> Run:
    fake_bin, module = tmp_path / "fake-bin", tmp_path / "module"
    fake_bin.mkdir(exist_ok=True)
    (fake_bin / "go").write_text(FAKE_GO)
    (fake_bin / "go").chmod(0o755)
    for stage in ("kustomize/stage/node/fast", "kustomize/stage/pod/fast"):
        (module / stage).mkdir(parents=True, exist_ok=True)
        (module / stage / "stage.yaml").write_text("kind: Stage\n")
    (module / "python/cmd").mkdir(parents=True, exist_ok=True)
    (module / "python/cmd/pulumi-language-python-exec").write_text("#!/bin/sh\n")
    pin_file = tmp_path / "pins"
    pin_file.write_text("".join(f"{tool} {VERSIONS[tool]} {sha}\n" for tool, sha in pins.items()))
    go_log = tmp_path / "go.log"
    go_log.touch()
    tools_dir = tmp_path / "tools"
    root = base or f"http://127.0.0.1:{releases.port}"
    env = {
        "HOME": str(tmp_path / "home"),
        # only the fake go: no real toolchain, no pulumi already installed
        "PATH": f"{fake_bin}:/usr/bin:/bin",
        "EOEPCA_TOOLS_DIR": str(tools_dir),
        "EOEPCA_TOOLS_PINS": str(pin_file),
        "EOEPCA_GITHUB_RELEASES": f"{root}/github",
        "EOEPCA_HELM_RELEASES": f"{root}/helm",
        "EOEPCA_K8S_RELEASES": f"{root}/k8s",
        "FAKE_GO_LOG": str(go_log),
        "FAKE_MODULE": str(module),
    }
    proc = subprocess.run(
        ["bash", str(TOOLS_SH), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    builds = [line for line in go_log.read_text().splitlines() if line.startswith("build")]
    return Run(proc.returncode, proc.stderr, tools_dir, builds)


def leftovers(tools_dir: Path) -> list[Path]:
    return [p for p in tools_dir.rglob(".download-*")] if tools_dir.exists() else []


def test_every_engine_tool_comes_from_its_release_download_when_pinned(
    tmp_path: Path, releases: Releases
) -> None:
    pins = {tool: releases.publish(tool, stub(f"{tool}-official")) for tool in LAYOUT}
    run = run_tools(tmp_path, releases, pins, *ARGS)
    assert run.code == 0, run.stderr
    for tool, binary in releases.binaries.items():
        installed = run.tools_dir / INSTALLED[tool]
        assert installed.read_bytes() == binary, tool
        assert os.access(installed, os.X_OK), tool
        on_path = run.tools_dir / "bin" / installed.name
        if tool == "pulumi-resource-kubernetes":  # a launcher: it ends the binary with its engine
            shown = subprocess.run([on_path], capture_output=True, text=True, timeout=30, check=True)
            assert shown.stdout == f"{tool}-official\n"
        else:
            assert on_path.resolve() == installed.resolve()
        assert f"{tool} {VERSIONS[tool]}: downloaded" in run.stderr
    assert run.builds == []  # nothing built
    assert sorted(releases.requests) == sorted(f"/{path}" for path, _ in LAYOUT.values())
    assert leftovers(run.tools_dir) == []
    # kwok's stage files still come from its module, beside the downloaded binary
    assert (run.tools_dir / f"kwok-{KWOK}/stages/stage.yaml").is_file()

    releases.requests.clear()
    again = run_tools(tmp_path, releases, pins, *ARGS)
    assert again.code == 0, again.stderr
    assert releases.requests == [] and again.builds == []  # present: neither downloaded nor built


def test_a_tampered_artefact_is_refused_and_nothing_is_installed(tmp_path: Path, releases: Releases) -> None:
    pinned = releases.publish("helm", stub("helm-official"))
    releases.publish("helm", stub("helm-tampered"))
    run = run_tools(tmp_path, releases, {"helm": pinned}, "helm")
    assert run.code == 1
    tampered = hashlib.sha256(tar_gz("linux-amd64/helm", stub("helm-tampered"))).hexdigest()
    assert (
        f"helm {HELM}: REFUSED http://127.0.0.1:{releases.port}/helm/helm-{HELM}-linux-amd64.tar.gz: "
        f"its sha256 is {tampered}, the pinned one is {pinned}; nothing installed"
    ) in run.stderr
    assert not (run.tools_dir / INSTALLED["helm"]).exists()
    assert not (run.tools_dir / "bin" / "helm").exists()
    assert leftovers(run.tools_dir) == []
    assert run.builds == []  # refused, not quietly replaced by a build


def test_an_unreachable_download_is_built_instead(tmp_path: Path, releases: Releases) -> None:
    pins = {tool: releases.publish(tool, stub(f"{tool}-official")) for tool in ("helm", "kwok")}
    closed = free_port()  # a port nothing listens on
    run = run_tools(tmp_path, releases, pins, "helm", "kwok", base=f"http://127.0.0.1:{closed}")
    assert run.code == 0, run.stderr
    assert f"helm {HELM}: download unreachable" in run.stderr
    for tool in ("helm", "kwok"):
        assert (run.tools_dir / INSTALLED[tool]).read_text() == "#!/bin/sh\necho built\n"
    assert len(run.builds) == 2
    assert leftovers(run.tools_dir) == []


def test_a_missing_artefact_is_built_instead(tmp_path: Path, releases: Releases) -> None:
    # pinned, but the server answers 404 (a release without this artefact): nothing half-installed
    run = run_tools(tmp_path, releases, {"helm": "0" * 64}, "helm")
    assert run.code == 0, run.stderr
    assert f"helm {HELM}: download unreachable" in run.stderr
    assert (run.tools_dir / INSTALLED["helm"]).read_text() == "#!/bin/sh\necho built\n"
    assert leftovers(run.tools_dir) == []


def test_a_tool_without_a_pin_is_built_without_asking_the_network(tmp_path: Path, releases: Releases) -> None:
    releases.publish("etcd", stub("etcd-official"))
    run = run_tools(tmp_path, releases, {}, "etcd")
    assert run.code == 0, run.stderr
    assert f"etcd {ETCD}: no release download pinned (builtin_pins): building it" in run.stderr
    assert releases.requests == []
    assert len(run.builds) == 1


def test_the_pin_table_names_the_pinned_versions_with_full_sha256s() -> None:
    """A version bump without a new checksum would otherwise quietly turn a download into a build."""
    table = re.search(r"builtin_pins\(\) \{\n  cat <<'EOF'\n(.*?)\nEOF", SCRIPT, re.S)
    assert table
    rows = [line.split() for line in table.group(1).splitlines()]
    assert rows, "no pins"
    for tool, pinned_version, sha in rows:
        assert tool in VERSIONS, tool
        assert pinned_version == VERSIONS[tool], (
            f"{tool}: pinned {pinned_version}, tools.sh uses {VERSIONS[tool]}"
        )
        assert re.fullmatch(r"[0-9a-f]{64}", sha), tool
