"""The ComponentResources under Pulumi's mocks: each object one resource with the provider's type token,
the options it is registered with (secrets, drift exemption, aliases across API versions, what it
waits for), what each component checks and outputs, and the migration step's provider."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

import components.objects as objects
import eoepca_gitops.kube.client as kube_client_module
import eoepca_gitops.upgrade.migrate as migrate_module
from components.bucket_source import BucketSource, BucketSourceArgs
from components.building_block import BuildingBlock, BuildingBlockArgs
from components.flux_migration import MIGRATED_ANNOTATION, FluxMigrationArgs, FluxMigrationProvider
from components.flux_system import FluxSystem, FluxSystemArgs
from components.git_source import GitSource, GitSourceArgs
from components.notifications import Notifications, NotificationsArgs
from components.objects import ObjectsComponent, register_object
from components.poller import Poller, PollerArgs
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.manifests.drift import EXEMPT
from eoepca_gitops.model import PollerConfig
from tests.conftest import Recorder
from tests.helpers import FIXTURE_INSTALLS, fixture_install

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the mocks show a Pulumi secret


def run(program: Callable[[], Any]) -> Any:
    """Runs `program` as Pulumi would; returns what its output resolves to."""
    got: list[Any] = []
    pulumi.runtime.test(lambda: pulumi.Output.from_input(program()).apply(got.append))()  # type: ignore[no-untyped-call]
    return got[0] if got else None


class Registered:
    """pulumi.CustomResource as components.objects calls it, recording each (type, name, options)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str, pulumi.ResourceOptions]] = []
        self.props: dict[str, Any] = {}
        real = pulumi.CustomResource

        def register(t: str, name: str, props: Any, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
            self.calls.append((t, name, opts))
            self.props[name] = props
            return real(t, name, props, opts)

        monkeypatch.setattr(pulumi, "CustomResource", register)  # as components.objects calls it

    def opts(self, name: str) -> pulumi.ResourceOptions:
        return next(o for _, n, o in self.calls if n == name)


def obj(kind: str, name: str, api_version: str = "v1", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "ns"}, **fields}


def test_a_secret_s_payload_is_a_pulumi_secret_and_its_status_is_never_sent(
    mocks: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = Registered(monkeypatch)
    secret = obj("Secret", "s", data={"k": "djE="}, stringData={"p": "plain"}, status={"x": 1})
    run(lambda: register_object(secret, pulumi.ResourceOptions()).urn)
    (r,) = mocks.resources
    assert (r.typ, r.name) == ("kubernetes:core/v1:Secret", "Secret/ns/s")
    assert r.inputs["data"][SECRET_SIG] and r.inputs["data"]["value"] == {"k": "djE="}
    assert r.inputs["stringData"]["value"] == {"p": "plain"}
    assert "status" not in r.inputs
    opts = registered.opts("Secret/ns/s")
    assert opts.additional_secret_outputs == ["data", "stringData"]
    assert (opts.ignore_changes, opts.aliases) == (None, None)
    assert opts.version == objects._PROVIDER_VERSION


def test_other_objects_are_sent_as_they_are(mocks: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    registered = Registered(monkeypatch)
    config = obj("ConfigMap", "c", data={"k": "v"})
    run(lambda: register_object(config, pulumi.ResourceOptions()).urn)
    assert mocks.resources[0].inputs["data"] == {"k": "v"}
    assert registered.opts("ConfigMap/ns/c").additional_secret_outputs is None
    only = obj("Secret", "t", type="Opaque")
    run(lambda: register_object(only, pulumi.ResourceOptions()).urn)
    assert registered.opts("Secret/ns/t").additional_secret_outputs is None


def test_an_object_exempt_from_drift_correction_is_created_and_never_updated(
    mocks: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = Registered(monkeypatch)
    exempt = obj("ConfigMap", "e", data={"k": "v"})
    exempt["metadata"]["annotations"] = {EXEMPT: "true"}
    kept = obj("ConfigMap", "f", data={"k": "v"})
    kept["metadata"]["annotations"] = {EXEMPT: "false"}
    run(lambda: [register_object(o, pulumi.ResourceOptions()).urn for o in (exempt, kept)])
    assert registered.opts("ConfigMap/ns/e").ignore_changes == ["metadata", "data"]
    assert registered.opts("ConfigMap/ns/f").ignore_changes is None


def test_a_flux_object_keeps_its_identity_across_api_versions(
    mocks: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = Registered(monkeypatch)
    release = obj("HelmRelease", "r", "helm.toolkit.fluxcd.io/v2", spec={})
    run(lambda: register_object(release, pulumi.ResourceOptions()).urn)
    aliases = registered.opts("HelmRelease/ns/r").aliases
    assert aliases is not None
    assert [a.type_ for a in aliases] == [  # type: ignore[union-attr]
        "kubernetes:helm.toolkit.fluxcd.io/v2alpha1:HelmRelease",
        "kubernetes:helm.toolkit.fluxcd.io/v2beta1:HelmRelease",
        "kubernetes:helm.toolkit.fluxcd.io/v2beta2:HelmRelease",
    ]


def test_the_callers_options_are_kept(mocks: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    registered = Registered(monkeypatch)
    config = obj("ConfigMap", "c")
    run(lambda: register_object(config, pulumi.ResourceOptions(protect=True)).urn)
    assert registered.opts("ConfigMap/ns/c").protect is True


def test_objects_wait_for_the_namespaces_and_crds_of_their_component(
    mocks: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = Registered(monkeypatch)
    given = [
        obj("ConfigMap", "a"),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}},
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "x.y"},
        },
        obj("Deployment", "d", "apps/v1"),
    ]
    component = run(lambda: ObjectsComponent("eoepca:test:Things", "things", given).urn.apply(lambda _: None))
    assert component is None
    assert [n for _, n, _ in registered.calls] == [
        "ConfigMap/ns/a",
        "Namespace/ns",
        "CustomResourceDefinition/x.y",
        "Deployment/ns/d",
    ]
    foundations = {n: o.depends_on for _, n, o in registered.calls}
    assert not foundations["Namespace/ns"] and not foundations["CustomResourceDefinition/x.y"]
    # in the order given: the builders give a component's Namespaces and CRDs first
    assert not foundations["ConfigMap/ns/a"]
    waited = foundations["Deployment/ns/d"]
    assert [r._name for r in waited] == ["Namespace/ns", "CustomResourceDefinition/x.y"]  # type: ignore[union-attr]
    parents = {o.parent._name for _, _, o in registered.calls}  # type: ignore[union-attr]
    assert parents == {"things"}
    assert mocks.resources[0].typ == "eoepca:test:Things"


def test_each_component_checks_what_it_is_given() -> None:
    with pytest.raises(ValueError, match=r"^GitSourceArgs.objects holds no GitRepository$"):
        GitSource("s", GitSourceArgs("u", {}, [obj("ConfigMap", "c")]))
    with pytest.raises(ValueError, match=r"^BucketSourceArgs.objects holds no Bucket$"):
        BucketSource("b", BucketSourceArgs("b", "e", [obj("ConfigMap", "c")]))
    with pytest.raises(
        ValueError, match=r"^FluxSystemArgs.objects holds no CRDs: is it a Flux install manifest\?$"
    ):
        FluxSystem("f", FluxSystemArgs("v2.9.3", "flux-system", [obj("Deployment", "d", "apps/v1")]))


def test_the_components_outputs(mocks: Recorder) -> None:
    def program() -> Any:
        git = GitSource(
            "source",
            GitSourceArgs(
                "https://g", {"branch": "main"}, [obj("GitRepository", "g", "source.toolkit.fluxcd.io/v1")]
            ),
        )
        bucket = BucketSource(
            "b", BucketSourceArgs("bkt", "s3.example", [obj("Bucket", "b", "source.toolkit.fluxcd.io/v1")])
        )
        block = BuildingBlock(
            "block",
            BuildingBlockArgs(
                [
                    obj("Kustomization", "k", "kustomize.toolkit.fluxcd.io/v1"),
                    obj("HelmRelease", "r1", "helm.toolkit.fluxcd.io/v2"),
                    obj("HelmRelease", "r2", "helm.toolkit.fluxcd.io/v2"),
                    obj("ConfigMap", "c"),
                ]
            ),
        )
        alerts = Notifications(
            "n",
            NotificationsArgs(
                [obj("Alert", "a", "notification.toolkit.fluxcd.io/v1beta3"), obj("Provider", "p")]
            ),
        )
        poller = Poller(
            "poller", PollerArgs(PollerConfig.model_validate({"image": "i", "backendUrl": "s3://x"}), [])
        )
        return pulumi.Output.all(
            git.url, git.ref, bucket.bucket_name, bucket.endpoint, block.kustomizations, block.helm_releases,
            alerts.alerts, poller.namespace, poller.deployment_name, poller.service_name, poller.metrics_port,
        )  # fmt: skip

    assert run(program) == [
        "https://g",
        {"branch": "main"},
        "bkt",
        "s3.example",
        ["k"],
        ["r1", "r2"],
        ["a"],
        "eoepca-gitops",
        "eoepca-gitops-poller",
        "eoepca-gitops-poller",
        9464,
    ]
    # each component registered once; their order is the event loop's, not the program's
    types = sorted(r.typ for r in mocks.resources if r.typ.startswith("eoepca:"))
    assert types == [
        "eoepca:flux:BucketSource",
        "eoepca:flux:BuildingBlock",
        "eoepca:flux:GitSource",
        "eoepca:flux:Notifications",
        "eoepca:gitops:Poller",
    ]


def _migration() -> FluxMigrationArgs:
    return FluxMigrationArgs(
        from_version="v0.1.0",
        to_version="v2.9.3",
        storage={"z.toolkit.fluxcd.io": "v1", "a.toolkit.fluxcd.io": "v2"},
        manifest=FIXTURE_INSTALLS / "new.yaml",
        plan=["line"],
        kubeconfig="/k",
        context="ctx",
    )


def test_fluxs_crds_wait_for_the_migration_step_and_no_other_does(
    mocks: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = Registered(monkeypatch)
    given = fixture_install("new")
    parents: dict[str, str | None] = {}
    real_init = pulumi.dynamic.Resource.__init__

    def init(self: Any, provider: Any, name: str, props: Any, opts: Any = None) -> None:
        parents[name] = opts.parent._name if opts and opts.parent else None
        real_init(self, provider, name, props, opts)

    monkeypatch.setattr(pulumi.dynamic.Resource, "__init__", init)

    def program() -> Any:
        flux = FluxSystem("flux", FluxSystemArgs("v2.9.3", "flux-system", given, _migration()))
        return pulumi.Output.all(flux.version, flux.namespace)

    assert run(program) == ["v2.9.3", "flux-system"]
    (step,) = [r for r in mocks.resources if r.name == "flux-api-migration"]
    crds = {n: p for n, p in registered.props.items() if n.startswith("CustomResourceDefinition/")}
    flux_crds = [n for n in crds if "toolkit.fluxcd.io" in n]
    assert len(flux_crds) == 4
    for name in flux_crds:  # an input from the step's output: the CRD waits for it
        annotation = crds[name]["metadata"]["annotations"][MIGRATED_ANNOTATION]
        assert isinstance(annotation, pulumi.Output)
    assert "annotations" not in crds["CustomResourceDefinition/sealedsecrets.bitnami.com"]["metadata"]
    assert step.inputs["storage"] == {"a.toolkit.fluxcd.io": "v2", "z.toolkit.fluxcd.io": "v1"}
    assert (step.inputs["fromVersion"], step.inputs["toVersion"], step.inputs["plan"]) == (
        "v0.1.0",
        "v2.9.3",
        ["line"],
    )
    assert (step.inputs["kubeconfig"], step.inputs["context"]) == ("/k", "ctx")
    # the install's own objects are not changed (they are shared: the builders copy them)
    assert all("annotations" not in o["metadata"] for o in given if o["kind"] == "CustomResourceDefinition")
    assert parents == {"flux-api-migration": "flux"}  # the step is the FluxSystem's child: its URN says so


def test_without_a_migration_step_the_install_is_registered_as_it_is(mocks: Recorder) -> None:
    run(lambda: FluxSystem("flux", FluxSystemArgs("v2.9.3", "flux-system", fixture_install("new"))).version)
    assert not [r for r in mocks.resources if r.name == "flux-api-migration"]
    crds = [r for r in mocks.resources if r.typ.endswith("CustomResourceDefinition")]
    assert all("annotations" not in r.inputs["metadata"] for r in crds)


# -- the migration step's provider --------------------------------------------------------------------


def props(**changes: Any) -> dict[str, Any]:
    return {
        "fromVersion": "v0.1.0",
        "toVersion": "v2.9.3",
        "storage": {"h": "v2"},
        "plan": ["p"],
        "manifest": str(FIXTURE_INSTALLS / "new.yaml"),
        "kubeconfig": "/k",
        "context": "ctx",
        "migrated": None,
        "done": None,
        **changes,
    }


@pytest.mark.parametrize(
    ("change", "runs"),
    [
        ({}, False),
        ({"toVersion": "v2.10.0"}, True),
        ({"storage": {"h": "v3"}}, True),
        ({"fromVersion": "v2.8.0", "plan": ["other"], "manifest": "/elsewhere", "kubeconfig": None}, False),
    ],
)
def test_the_step_runs_again_only_when_the_version_or_a_storage_version_changes(
    change: dict[str, Any], runs: bool
) -> None:
    diff = FluxMigrationProvider().diff("flux-api-migration", props(), props(**change))
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (runs, [], False)


class Client:
    def __init__(self) -> None:
        self.closed = False

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


def test_create_and_update_migrate_the_cluster_of_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    clients: list[Client] = []
    asked: list[tuple[Any, ...]] = []

    def kube_client(kubeconfig: Any, context: Any, timeout: float) -> Client:
        asked.append((kubeconfig, context, timeout))
        clients.append(Client())
        return clients[-1]

    def migrate(c: Any, install: Any) -> list[str]:
        assert c is clients[-1] and not c.closed
        kinds = sorted(o["kind"] for o in install if o["kind"] == "CustomResourceDefinition")
        return [f"{len(kinds)} CRDs"]

    # The provider imports them when the migration runs (not for check and diff): patched where they live.
    monkeypatch.setattr(kube_client_module, "kube_client", kube_client)
    monkeypatch.setattr(migrate_module, "migrate_storage", migrate)
    created = FluxMigrationProvider().create(props())
    assert created.id == "flux-api-migration"
    assert created.outs == {**props(), "migrated": "v2.9.3", "done": ["5 CRDs"]}
    assert asked == [("/k", "ctx", 60.0)] and clients[0].closed
    updated = FluxMigrationProvider().update("flux-api-migration", props(), props(toVersion="v2.9.3"))
    assert updated.outs is not None and updated.outs["migrated"] == "v2.9.3"


def test_the_step_refuses_a_manifest_of_another_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "install.yaml"
    manifest.write_text("# Flux Version: v2.8.0\n" + (FIXTURE_INSTALLS / "new.yaml").read_text())
    monkeypatch.setattr(
        kube_client_module, "kube_client", lambda *a, **k: pytest.fail("no cluster may be touched")
    )
    with pytest.raises(GitopsError) as exc:
        FluxMigrationProvider().create(props(manifest=str(manifest)))
    assert str(exc.value) == f"{manifest} is Flux v2.8.0, not v2.9.3"


def test_the_migration_step_says_what_it_did(mocks: Recorder) -> None:
    from components.flux_migration import FluxMigration

    done = run(lambda: FluxMigration("m", _migration()).done)
    assert done is None  # the mocks answer with the inputs: nothing done yet
