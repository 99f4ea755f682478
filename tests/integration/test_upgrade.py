"""The creodias stack upgraded from Flux v0.24.0 to v2.9.3 by `pulumi up`, in place, on its own dev
cluster (the real Flux v2.9 controllers wait while v0.24 is installed: they need the v2.9 APIs).

Before: the stack applied on v0.24.0 (CRDs storing v1beta1/v1beta2/v2beta1 objects), and Helm
releases for three of its HelmReleases made with a Helm 3 client as an old helm-controller left
them (one at revision 2). First, an object Flux applied from Git in a removed version is refused
by the gate with nothing changed. Then flux.version: v2.9.3: the preview names the upgrade and shows
only in-place updates; `pulumi up` is killed during the migration, then again after the new CRDs,
and run to the end; afterwards every Flux object is served and stored in the new versions, no CRD
stores a removed version, and the real v2.9 helm-controller adopts every pre-existing release with
its history.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from eoepca_gitops.devcluster import DevCluster
from eoepca_gitops.devcluster.snapshot import snapshot_repository
from eoepca_gitops.devcluster.tools import tools_bin_dir
from eoepca_gitops.flux_apis import crd_specs, storage_version
from eoepca_gitops.kube.client import kube_client
from eoepca_gitops.kube.resources import flux_resource
from eoepca_gitops.runs import Run
from eoepca_gitops.upgrade.live import list_all, read_live_crds
from tests.conftest import DevClusterHandle
from tests.helpers import REPO_ROOT
from tests.integration.local_stack import HelmRecord, LocalStack, ready, wait_for
from tests.leftovers import kill_engine
from tests.outside_data import flux_manifests, install_manifest

pytestmark = [pytest.mark.integration, pytest.mark.flux_manifests]
T = TypeVar("T")

OLD, NEW = "v0.24.0", "v2.9.3"


@functools.cache
def new_crds() -> dict[str, Any]:
    return dict(crd_specs(yaml.safe_load_all(install_manifest(NEW).read_text())))


# HelmReleases of the creodias stack without dependencies, whose releases exist before the upgrade:
# (namespace, name) -> (HelmRepository, chart, version)
INSTALLED = {
    ("demo", "eoepca-portal"): ("eoepca", "eoepca-portal", "1.0.9"),
    ("default", "storage"): ("eoepca", "storage", "1.0.1"),
    ("default", "nfs-provisioner"): (
        "nfs-subdir-external-provisioner",
        "nfs-subdir-external-provisioner",
        "4.0.12",
    ),
}
FROM_GIT = """
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: from-git
  namespace: test
  labels:
    kustomize.toolkit.fluxcd.io/name: system-test
    kustomize.toolkit.fluxcd.io/namespace: flux-system
spec:
  interval: 5m
  chart:
    spec:
      chart: dummy
      version: 1.0.1
      sourceRef: {kind: HelmRepository, name: eoepca, namespace: flux-system}
"""


def say(what: str, seconds: float) -> None:
    print(f"[upgrade] {what}: {seconds:.1f} s", flush=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevClusterHandle]:
    served = snapshot_repository(REPO_ROOT, tmp_path_factory.mktemp("served-repo"))
    dev = DevCluster(tmp_path_factory.mktemp("upgrade-cluster"), progress=print, default_ports=False)
    try:
        info = dev.up(flux=True, git_repo=served)
        yield DevClusterHandle(
            info.kubeconfig, info.server, info.state_dir, info.start_seconds,
            info.git_repo, info.git_url, info.charts_url,
        )  # fmt: skip
    finally:
        dev.down()


@pytest.fixture(scope="module")
def stack(
    cluster: DevClusterHandle, tools_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """creodias on v0.24.0, pointed at this cluster (its Git server, chart repository, kubeconfig)."""
    assert cluster.git_repo and cluster.git_url and cluster.charts_url
    state = tmp_path_factory.mktemp("state")
    env = {
        **tools_env,
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_PYTHON_CMD": sys.executable,
        "EOEPCA_FLUX_MANIFESTS": str(flux_manifests()),
    }
    creodias = LocalStack(cluster, cluster.git_repo, env, name="creodias")

    def here(c: dict[str, Any]) -> None:
        c["git"] = {"url": cluster.git_url, "branch": "main", "interval": "5s", "path": "./clusters/creodias"}
        c["charts"] = {"mirror": str(cluster.charts_url).rstrip("/")}
        c["kubeconfig"] = str(cluster.kubeconfig)
        assert c["flux"]["version"] == OLD

    creodias.edit_config(here)
    creodias.pulumi("stack", "init")
    started = time.monotonic()
    creodias.pulumi("up", "--yes", "--skip-preview")
    say(f"pulumi up on {OLD}", time.monotonic() - started)
    # No destroy: the cluster is this module's own and goes with it.
    yield creodias


def flux_crds(stack: LocalStack) -> dict[str, dict[str, Any]]:
    with kube_client(stack.cluster.kubeconfig) as client:
        return {
            c.metadata.name: c.to_dict()
            for c in list_all(client, CustomResourceDefinition)
            if c.metadata and c.metadata.name in new_crds()
        }


def helm(stack: LocalStack, tmp: Path, *args: str) -> None:
    home = {f"HELM_{d}_HOME": str(tmp / d.lower()) for d in ("CACHE", "CONFIG", "DATA")}
    proc = subprocess.run(
        [str(tools_bin_dir() / "helm"), *args, "--kubeconfig", str(stack.cluster.kubeconfig)],
        capture_output=True,
        text=True,
        env={**os.environ, **home},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def revisions(stack: LocalStack, namespace: str, name: str) -> list[int]:
    found = stack.get("secrets", None, namespace) or []
    labels = [s["metadata"].get("labels") or {} for s in found]
    return sorted(int(la["version"]) for la in labels if la.get("owner") == "helm" and la.get("name") == name)


@pytest.fixture(scope="module")
def releases(
    stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], HelmRecord]:
    """The Helm releases an old helm-controller left: installed with the HelmRelease's chart, one upgraded."""
    tmp = tmp_path_factory.mktemp("helm")
    for (namespace, name), (repo, chart, version) in INSTALLED.items():
        url = f"{str(stack.cluster.charts_url).rstrip('/')}/{repo}/"
        helm(stack, tmp, "install", name, chart, "--repo", url, "--version", version, "-n", namespace)
    repo, chart, version = INSTALLED[("demo", "eoepca-portal")]
    url = f"{str(stack.cluster.charts_url).rstrip('/')}/{repo}/"
    helm(stack, tmp, "upgrade", "eoepca-portal", chart, "--repo", url, "--version", version, "-n", "demo",
         "--set", "replicaCount=2")  # fmt: skip
    records = {key: stack.helm_release(*key) for key in INSTALLED}
    assert records[("demo", "eoepca-portal")] is not None and records[("demo", "eoepca-portal")].revision == 2
    return {k: r for k, r in records.items() if r is not None}


def test_an_object_flux_applied_from_git_in_a_removed_version_is_refused_before_anything_changes(
    stack: LocalStack, releases: dict[tuple[str, str], HelmRecord], tmp_path: Path
) -> None:
    manifest = tmp_path / "from-git.yaml"
    manifest.write_text(FROM_GIT)
    # As kustomize-controller applies what it reads from Git: server-side, as its own field manager.
    stack.kubectl("apply", "--server-side", "--field-manager=kustomize-controller", "-f", str(manifest))
    before = flux_crds(stack)
    original = stack.stack_file.read_text()
    stack.edit_config(lambda c: c["flux"].update(version=NEW))
    try:
        proc = stack.pulumi("preview", check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out
        refused = (
            "HelmRelease test/from-git (helm.toolkit.fluxcd.io/v2beta1, applied by Kustomization system-test)"
        )
        assert refused in out
        assert "Traceback" not in out
        proc = stack.pulumi("up", "--yes", "--skip-preview", check=False)
        assert proc.returncode != 0 and "HelmRelease test/from-git" in proc.stdout + proc.stderr
        # Nothing changed: the CRDs as they were, the object still there in its version.
        after = flux_crds(stack)
        for name, crd in before.items():
            assert after[name]["spec"]["versions"] == crd["spec"]["versions"], name
            assert after[name]["status"]["storedVersions"] == crd["status"]["storedVersions"], name
        assert stack.get("helmreleases.v2beta1.helm.toolkit.fluxcd.io", "from-git", "test") is not None
    finally:
        stack.stack_file.write_text(original)
        stack.kubectl("delete", "-f", str(manifest))


def _objects(stack: LocalStack) -> dict[str, list[tuple[str, str, str]]]:
    """Every Flux object by kind: (apiVersion, namespace, name), read in each CRD's storage version."""
    out = {}
    with kube_client(stack.cluster.kubeconfig) as client:
        for crd in read_live_crds(client):
            resource = flux_resource(crd.group, crd.storage, crd.kind, crd.plural)
            items = [o.to_dict() for o in list_all(client, resource, namespace="*")]
            if items:
                out[crd.kind] = sorted(
                    (o["apiVersion"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in items
                )
    return out


def up_killed(stack: LocalStack, log: Path, what: str, when: Callable[[], T | None]) -> T:
    """`pulumi up`, killed (SIGKILL) as soon as `when` returns something; the plugins it started end
    with it (tests/leftovers.py: kill_engine)."""
    run = Run.new("upgrade-up")
    with log.open("w") as out:
        up = subprocess.Popen(
            ["pulumi", "up", "--yes", "--skip-preview", "--stack", stack.name, "--non-interactive"],
            cwd=stack.project, env=run.env(stack.env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            return wait_for(what, when, every=0.05)
        finally:
            kill_engine(up, run)


def _all_new(crds: dict[str, dict[str, Any]]) -> bool:
    """Every Flux CRD as the new release has it (served versions)."""
    return all(
        [v["name"] for v in c["spec"]["versions"]] == [v["name"] for v in new_crds()[n]["versions"]]
        for n, c in crds.items()
    )


def _migrated(crds: dict[str, dict[str, Any]]) -> list[str] | None:
    """The CRDs storing only the new version, once GitRepository's are (the migration goes by CRD name:
    Alert, Bucket, GitRepository, HelmChart, HelmRelease, ...: the HelmReleases are next)."""
    done = [
        n
        for n, c in crds.items()
        if c["status"]["storedVersions"] == [storage_version(new_crds()[n])["name"]]
    ]
    return done if "gitrepositories.source.toolkit.fluxcd.io" in done else None


def test_upgrade_to_v2_9_in_place_survives_a_kill_and_keeps_every_helm_release(
    stack: LocalStack, releases: dict[tuple[str, str], HelmRecord], tmp_path: Path
) -> None:
    objects_before = _objects(stack)
    assert sum(len(v) for v in objects_before.values()) >= 40
    old_crds = flux_crds(stack)
    assert old_crds["helmreleases.helm.toolkit.fluxcd.io"]["status"]["storedVersions"] == ["v2beta1"]
    stack.edit_config(lambda c: c["flux"].update(version=NEW))

    # The preview: the upgrade named, only in-place updates, every Flux object updated (not replaced).
    started = time.monotonic()
    preview = json.loads(stack.pulumi("preview", "--json").stdout)
    say("pulumi preview of the upgrade", time.monotonic() - started)
    ops = {s["urn"]: s["op"] for s in preview["steps"]}
    assert not [u for u, op in ops.items() if op not in ("same", "update", "create")], ops
    flux_objects = {u: op for u, op in ops.items() if ".toolkit.fluxcd.io/" in u.split("::")[-2]}
    assert len(flux_objects) == sum(len(v) for v in objects_before.values())
    assert set(flux_objects.values()) == {"update"}
    said = "\n".join(d.get("message", "") for d in preview.get("diagnostics", []))
    print(said, flush=True)
    assert f"Flux upgrade {OLD} -> {NEW}" in said, said
    assert "migrate HelmRelease helm.toolkit.fluxcd.io v2beta1 -> v2 (25 object(s))" in said, said

    # pulumi up killed twice: once the migration has stored some CRDs' objects in the new versions,
    # then (run again) once the new CRDs are in, while the Flux objects are being updated. A killed CLI
    # leaves its lock on the state (the file backend): `pulumi cancel` removes it, as its message says.
    started = time.monotonic()
    migrated = up_killed(
        stack, tmp_path / "up-1.log", "the migration to be halfway", lambda: _migrated(flux_crds(stack))
    )
    say(f"pulumi up until killed ({len(migrated)}/{len(old_crds)} CRDs migrated)", time.monotonic() - started)
    print(f"[upgrade] migrated when killed: {', '.join(sorted(migrated))}", flush=True)
    stack.pulumi("cancel", "--yes")
    started = time.monotonic()
    up_killed(stack, tmp_path / "up-2.log", "the new CRDs", lambda: _all_new(flux_crds(stack)))
    say("pulumi up again, until killed once the new CRDs were applied", time.monotonic() - started)
    stack.pulumi("cancel", "--yes")
    started = time.monotonic()
    stack.pulumi("up", "--yes", "--skip-preview")
    say("pulumi up a third time, to the end", time.monotonic() - started)
    started = time.monotonic()
    stack.pulumi("preview", "--expect-no-changes")
    say("pulumi preview after the upgrade (no changes)", time.monotonic() - started)

    # Every Flux object served in the new version, every CRD storing only it.
    crds = flux_crds(stack)
    assert set(old_crds) < set(crds)  # the v2.9 install adds OCIRepository and ExternalArtifact
    for name, crd in crds.items():
        spec = new_crds()[name]
        assert [v["name"] for v in crd["spec"]["versions"]] == [v["name"] for v in spec["versions"]], name
        assert crd["status"]["storedVersions"] == [storage_version(spec)["name"]], name
    served = {
        new_crds()[n]["names"]["kind"]: f"{s['group']}/{storage_version(s)['name']}"
        for n, s in new_crds().items()
    }
    # The same objects, each now in the new version (the v2.9 source-controller adds HelmCharts).
    after = _objects(stack)
    assert {kind: after.get(kind) for kind in objects_before} == {
        kind: [(served[kind], ns, name) for _, ns, name in objects]
        for kind, objects in objects_before.items()
    }

    # The real v2.9 helm-controller adopts each release: the same release, its history kept. It works
    # through all 25 HelmReleases of the stack meanwhile (on 2 cores: from seconds to a few minutes).
    started = time.monotonic()
    for (namespace, name), before in releases.items():

        def adopted(namespace: str = namespace, name: str = name) -> Any:
            hr = stack.get("helmreleases.helm.toolkit.fluxcd.io", name, namespace)
            return hr if hr is not None and ready(hr) and (hr.get("status") or {}).get("history") else None

        hr = wait_for(f"helm-controller to adopt {namespace}/{name}", adopted, timeout=600)
        record = stack.helm_release(namespace, name)
        assert record is not None and record.status == "deployed"
        assert record.first_deployed == before.first_deployed, "installed again"
        assert record.revision >= before.revision, "revision reset"
        assert revisions(stack, namespace, name)[: before.revision] == list(range(1, before.revision + 1))
        assert hr["status"]["history"][0]["version"] == record.revision
        print(f"[upgrade] {namespace}/{name}: Helm revision {before.revision} -> {record.revision}, adopted")
    say("until helm-controller v2.9 adopted the releases", time.monotonic() - started)
