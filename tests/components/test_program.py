"""The program's wiring (components/program.py) under Pulumi's mocks, on the self-written install
fixture: which cluster each resource goes to for every combination of kubeconfig / kubeContext /
neither, what the upgrade step is given, what Flux disabled leaves, dependencies between
components, the stack's outputs; and the values the program reads from Pulumi's config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pulumi
import pytest

import components.program as program
from components.building_block import BuildingBlock
from eoepca_gitops.flux_apis import crd_specs
from eoepca_gitops.upgrade.plan import LiveCrd, LiveFlux, LiveObject, LiveRelease
from tests.conftest import Recorder
from tests.helpers import FIXTURE_BLOCKS, FIXTURE_INSTALLS, fixture_install, values

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
"""
FLUX = {"version": "v2.9.3", "manifest": str(FIXTURE_INSTALLS / "new.yaml")}
PROVIDER = "pulumi:providers:kubernetes"


def configure(v: dict[str, Any], secrets: dict[str, str] | None = None) -> None:
    """The stack's config as Pulumi hands it to a program: structured values as JSON text."""
    flat = {f"eoepca-gitops:{k}": val if isinstance(val, str) else json.dumps(val) for k, val in v.items()}
    flat.update({f"eoepca-gitops:{k}": s for k, s in (secrets or {}).items()})
    pulumi.runtime.set_all_config(flat, [f"eoepca-gitops:{k}" for k in (secrets or {})])


class Cluster:
    """read_stack_cluster of the program: what it was asked, the LiveFlux it answers (None: no cluster)."""

    def __init__(self, live: LiveFlux | None = None) -> None:
        self.live = live
        self.asked: list[tuple[str | None, str | None]] = []

    def __call__(self, stack: Any, install: Any, warn: Any) -> LiveFlux | None:
        self.asked.append((stack.config.kubeconfig, stack.config.kube_context))
        return self.live


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Cluster:
    fake = Cluster()
    monkeypatch.setattr(program, "read_stack_cluster", fake)
    return fake


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    found: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: found.__setitem__(name, value))
    return found


def project(folder: Path) -> Path:
    """A project of the fixture blocks."""
    (folder / "clusters").mkdir(exist_ok=True)
    if not (folder / "clusters" / "blocks").exists():
        (folder / "clusters" / "blocks").symlink_to(FIXTURE_BLOCKS)
    return folder


def run(folder: Path, secrets: dict[str, str] | None = None, **changes: Any) -> None:
    configure(values(**{"flux": FLUX, **changes}), secrets)
    # the decorator drives the event loop until every registration has reached the mocks
    pulumi.runtime.test(lambda: program.run(project(folder)))()  # type: ignore[no-untyped-call]


def logged(monkeypatch: pytest.MonkeyPatch, level: str) -> list[str]:
    """What the program logs at `level` ("info", "warn") from now on."""
    lines: list[str] = []
    monkeypatch.setattr(pulumi.log, level, lambda line, *a, **k: lines.append(line))
    return lines


def kubernetes(mocks: Recorder) -> list[Any]:
    return [r for r in mocks.resources if r.typ.startswith("kubernetes:")]


@pytest.mark.parametrize(
    ("kubeconfig", "context"),
    [("kubeconfig.yaml", None), (None, "ctx"), ("kubeconfig.yaml", "ctx")],
    ids=["kubeconfig", "kubeContext", "both"],
)
def test_a_stack_naming_its_cluster_gets_an_explicit_provider_for_every_object(
    mocks: Recorder, cluster: Cluster, tmp_path: Path, kubeconfig: str | None, context: str | None
) -> None:
    (tmp_path / "kubeconfig.yaml").write_text(KUBECONFIG)
    bucket = {"name": "artifacts", "bucketName": "eoepca", "endpoint": "s3.example.org"}
    notifications = {"providers": [{"name": "hook", "type": "generic", "secretRef": "hook-url"}]}
    poller = {"image": "registry.example/eoepca-gitops:1.0", "backendUrl": "s3://state?region=eu-west-1"}
    run(
        tmp_path,
        {"pollerPassphrase": "p"},
        kubeconfig=kubeconfig,
        kubeContext=context,
        buckets=[bucket],
        notifications=notifications,
        poller=poller,
    )
    (provider,) = [r for r in mocks.resources if r.typ == PROVIDER]
    assert provider.name == "cluster"
    # without a kubeconfig of the stack's, the provider's own default: $KUBECONFIG
    assert provider.inputs.get("kubeconfig") == (KUBECONFIG if kubeconfig else os.environ["KUBECONFIG"])
    assert provider.inputs.get("context") == context
    objects = kubernetes(mocks)
    ref = f"urn:pulumi:test::eoepca-gitops::pulumi:pulumi:Stack${PROVIDER}::cluster::cluster-id"
    assert len(objects) > 10 and {r.provider for r in objects} == {ref}
    every = {
        "Bucket/flux-system/artifacts",
        "Provider/flux-system/hook",
        "Deployment/eoepca-gitops/eoepca-gitops-poller",
    }
    assert every <= {r.name for r in objects}
    expected = str(tmp_path / kubeconfig) if kubeconfig else None
    assert cluster.asked == [(expected, context)]  # the upgrade gate reads that cluster too
    (migration,) = [r for r in mocks.resources if r.name == "flux-api-migration"]
    assert (migration.inputs.get("kubeconfig"), migration.inputs.get("context")) == (expected, context)


def test_a_stack_naming_no_cluster_uses_the_default_provider(
    mocks: Recorder, cluster: Cluster, tmp_path: Path
) -> None:
    run(tmp_path)
    assert not [r for r in mocks.resources if r.typ == PROVIDER]
    assert all(not r.provider for r in kubernetes(mocks))
    assert cluster.asked == [(None, None)]


def test_the_upgrade_step_gets_the_plan_of_the_cluster_as_it_is(
    mocks: Recorder, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = crd_specs(fixture_install("old"))
    cluster.live = LiveFlux(
        tuple(
            LiveCrd(name, s["group"], s["names"]["kind"], s["names"]["plural"], tuple(s["versions"]),
                    tuple(v["name"] for v in s["versions"] if v["storage"]), release="v0.1.0")
            for name, s in old.items()
        ),
        (LiveObject("HelmRelease", "demo", "a", "helm.toolkit.fluxcd.io/v2beta1", {"interval": "1m"}),),
        (LiveRelease("demo", "a", 1, "deployed"),),
    )  # fmt: skip
    said = logged(monkeypatch, "info")
    run(tmp_path)
    assert said[0].startswith("Flux upgrade v0.1.0 -> v2.9.3: 1 object(s) rewritten")
    assert said[1:] == [
        "  migrate GitRepository source.toolkit.fluxcd.io v1beta1 -> v1 (0 object(s))",
        "  migrate Kustomization kustomize.toolkit.fluxcd.io v1beta2 -> v1 (0 object(s))",
        "  migrate HelmRelease helm.toolkit.fluxcd.io v2beta1 -> v2 (1 object(s))",
        "  1 Helm release(s) kept as they are (helm-controller adopts them)",
    ]
    (migration,) = [r for r in mocks.resources if r.name == "flux-api-migration"]
    assert migration.inputs["fromVersion"] == "v0.1.0" and migration.inputs["toVersion"] == "v2.9.3"
    assert migration.inputs["plan"] == said
    assert migration.inputs["storage"] == {
        "buckets.source.toolkit.fluxcd.io": "v1",
        "gitrepositories.source.toolkit.fluxcd.io": "v1",
        "helmreleases.helm.toolkit.fluxcd.io": "v2",
        "kustomizations.kustomize.toolkit.fluxcd.io": "v1",
    }
    assert migration.inputs["manifest"] == FLUX["manifest"]


def test_no_cluster_to_read_is_said_in_the_step_and_nothing_is_logged(
    mocks: Recorder, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = logged(monkeypatch, "info")
    run(tmp_path)
    (migration,) = [r for r in mocks.resources if r.name == "flux-api-migration"]
    assert migration.inputs["plan"] == ["the cluster was not read"]
    assert migration.inputs.get("fromVersion") is None
    assert said == []
    cluster.live = LiveFlux(())  # a cluster without Flux: nothing to migrate, nothing to say
    mocks.resources.clear()
    run(tmp_path)
    (migration,) = [r for r in mocks.resources if r.name == "flux-api-migration"]
    assert migration.inputs["plan"] == ["Flux v2.9.3: no object is stored in a version it does not serve"]
    assert said == []


@pytest.mark.parametrize("context", [None, "ctx"], ids=["default provider", "the stack's provider"])
def test_what_the_upgrade_cannot_carry_over_registers_no_object(
    mocks: Recorder, cluster: Cluster, tmp_path: Path, context: str | None
) -> None:
    old = crd_specs(fixture_install("old"))
    hr = old["helmreleases.helm.toolkit.fluxcd.io"]
    cluster.live = LiveFlux(
        (LiveCrd("helmreleases.helm.toolkit.fluxcd.io", hr["group"], "HelmRelease", "helmreleases",
                 tuple(hr["versions"]), ("v2beta1",)),),
        releases=(LiveRelease("demo", "a", 4, "pending-install"),),
    )  # fmt: skip
    with pytest.raises(
        pulumi.RunError, match=r"^Pulumi\.test\.yaml: eoepca-gitops:flux\.version: Flux v2\.9\.3: "
    ):
        run(tmp_path, kubeContext=context)
    # The stack's provider alone: registered before the rest is built, so the engine starts it meanwhile.
    assert [r.typ for r in mocks.resources] == ([PROVIDER] if context else [])


def test_flux_disabled_still_sends_the_blocks_to_the_stacks_cluster(
    mocks: Recorder, cluster: Cluster, tmp_path: Path
) -> None:
    run(tmp_path, kubeContext="ctx", flux={**FLUX, "enabled": False})
    ref = f"urn:pulumi:test::eoepca-gitops::pulumi:pulumi:Stack${PROVIDER}::cluster::cluster-id"
    objects = kubernetes(mocks)
    assert objects and {r.provider for r in objects} == {ref}


def test_a_secret_given_in_plain_text_is_refused(mocks: Recorder, cluster: Cluster, tmp_path: Path) -> None:
    git = {"url": "ssh://git@example.org/g", "branch": "main", "auth": {"type": "ssh"}}
    configure(values(flux=FLUX, git=git) | {"gitSshPrivateKey": "PRIVATE KEY IN PLAIN TEXT"})
    with pytest.raises(pulumi.RunError, match="eoepca-gitops:gitSshPrivateKey: given in plain text"):
        pulumi.runtime.test(lambda: program.run(project(tmp_path)))()  # type: ignore[no-untyped-call]
    assert kubernetes(mocks) == []


def test_a_git_layer_that_does_not_build_is_said(
    mocks: Recorder, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warned = logged(monkeypatch, "warn")
    run(tmp_path)
    assert [w for w in warned if w.startswith(f"Git layer not checked: it does not build in {tmp_path}: ")]


def test_flux_disabled_registers_the_blocks_alone_and_reads_no_cluster(
    mocks: Recorder, cluster: Cluster, tmp_path: Path, exports: dict[str, Any]
) -> None:
    run(tmp_path, flux={**FLUX, "enabled": False})
    types = {r.typ for r in mocks.resources}
    assert "eoepca:flux:FluxSystem" not in types and "eoepca:flux:GitSource" not in types
    assert [r.name for r in mocks.resources if r.typ == "eoepca:flux:BuildingBlock"] == ["base", "portal"]
    assert not [r for r in mocks.resources if "Kustomization" in r.typ or "HelmRelease" in r.typ]
    assert cluster.asked == []
    assert "fluxVersion" not in exports and "sourceUrl" not in exports


def test_each_block_waits_for_the_source_and_the_blocks_it_depends_on(
    mocks: Recorder, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: dict[str, list[str]] = {}

    class Recorded(BuildingBlock):
        def __init__(self, name: str, args: Any, opts: pulumi.ResourceOptions) -> None:
            waits[name] = [f"{type(d).__name__}:{d._name}" for d in opts.depends_on or []]  # type: ignore[union-attr]
            super().__init__(name, args, opts)

    monkeypatch.setattr(program, "BuildingBlock", Recorded)
    run(tmp_path)
    assert waits == {
        "base": ["FluxSystem:flux", "GitSource:source"],
        "portal": ["FluxSystem:flux", "GitSource:source", "Recorded:base"],
    }


def test_the_stacks_outputs(
    mocks: Recorder, cluster: Cluster, tmp_path: Path, exports: dict[str, Any]
) -> None:
    run(tmp_path)
    assert set(exports) == {
        "fluxVersion",
        "sourceUrl",
        "sourceRef",
        "kustomizations",
        "helmReleases",
        "ingressHosts",
    }
    assert all(isinstance(exports[k], pulumi.Output) for k in ("fluxVersion", "sourceUrl", "sourceRef"))
    components = {r.typ: r.name for r in mocks.resources if r.typ.startswith("eoepca:")}
    assert components["eoepca:flux:FluxSystem"] == "flux" and components["eoepca:flux:GitSource"] == "source"
    assert exports["kustomizations"] == ["portal"]
    assert exports["helmReleases"] == ["eoepca-portal"]
    assert exports["ingressHosts"] == ["eoepca-portal.10-0-0-1.nip.io"]


def test_ingress_hosts_are_the_cluster_domain_names_in_release_values() -> None:
    release = {
        "kind": "HelmRelease",
        "spec": {
            "values": {
                "a": "https://a.example.org/path",
                "b": ["b.example.org:443", {"c": "x c.example.org,d.example.org"}],
                "e": "e.other.org",
                "n": 3,
                "root": "example.org",  # the domain itself is no host under it
            }
        },
    }
    other = {"kind": "ConfigMap", "spec": {"values": {"x": "x.example.org"}}}
    assert program._ingress_hosts([release, other, {"kind": "HelmRelease", "spec": {}}], "example.org") == {
        "a.example.org",
        "b.example.org",
        "c.example.org",
        "d.example.org",
    }


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ('{"a": 1}', {"a": 1}),
        ("[1, 2]", [1, 2]),
        ("{not json", "{not json"),
        ("plain", "plain"),
        ("", ""),
        (3, 3),
    ],
)
def test_structured_config_arrives_as_json_text(raw: Any, decoded: Any) -> None:
    assert program._decode(raw) == decoded


def test_the_model_is_loaded_from_pulumis_config_with_its_secret_keys(
    mocks: Recorder, tmp_path: Path
) -> None:
    configure(
        values(flux=FLUX, git={"url": "ssh://git@example.org/g", "branch": "main", "auth": {"type": "ssh"}}),
        {"gitSshPrivateKey": "KEY"},
    )
    pulumi.runtime.set_config("other-project:x", "ignored")
    stack = program.load_from_pulumi(project(tmp_path))
    assert stack.name == "test"
    assert stack.config.git.url == "ssh://git@example.org/g"
    assert stack.config.flux.manifest == FLUX["manifest"]
