"""What an operator changes through the stack: suspend / resume a block and undeploy Flux keeping the
workloads. The cluster is a fake ClusterAccess, Pulumi a fake PulumiCli (each command recorded),
time a fake clock; commits and pushes go to real Git repositories in a temporary folder."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.manifests.stack import StackManifests, build_stack
from eoepca_gitops.model.loader import load_stack
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.operations import changes
from eoepca_gitops.operations.changes import Publish, set_suspended, undeploy
from tests.fakes import FakeAccess, FakeClock, FakePulumi
from tests.helpers import FIXTURE_BLOCKS, fixture_install, values

POLLER = {"image": "registry.example/eoepca-gitops:1.0", "backendUrl": "s3://state?region=eu-west-1"}
URN = "urn:pulumi:test::eoepca-gitops::eoepca:flux:BuildingBlock$kubernetes:"


def stack(**changes_: Any) -> tuple[Stack, StackManifests]:
    secrets = {"pollerPassphrase": "p"} if "poller" in changes_ else {}
    model = load_stack(
        "test", {**values(**changes_), **secrets}, set(secrets), "Pulumi.test.yaml", FIXTURE_BLOCKS
    )
    return model, build_stack(model, fixture_install("new"))


class NoPublish:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: str, progress: Callable[[str], None]) -> None:
        self.messages.append(message)


@pytest.fixture
def pulumi(monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    fake = FakePulumi()
    monkeypatch.setattr(changes, "PulumiCli", fake)
    return fake


# -- suspend / resume ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suspended", "value", "word", "doing"),
    [(True, "true", "suspend", "suspending"), (False, "false", "resume", "resuming")],
)
def test_suspend_and_resume_go_through_the_stack_file_and_update_only_the_blocks_flux_objects(
    pulumi: FakePulumi, tmp_path: Path, suspended: bool, value: str, word: str, doing: str
) -> None:
    model, manifests = stack()
    said: list[str] = []
    publish = NoPublish()
    set_suspended(model, manifests, "portal", suspended, tmp_path, publish, said.append)  # type: ignore[arg-type]
    assert pulumi.runs == [
        ("config", "set", "--path", "overrides.portal.suspend", value),
        (
            "up",
            "--yes",
            "--skip-preview",
            f"--target={URN}kustomize.toolkit.fluxcd.io/v1:Kustomization::Kustomization/flux-system/portal",
            f"--target={URN}helm.toolkit.fluxcd.io/v2:HelmRelease::HelmRelease/demo/eoepca-portal",
        ),
    ]  # not the block's Namespace: it is not Flux's to suspend
    assert said == [f"{doing} portal: pulumi up of 2 Flux objects"]
    assert publish.messages == [f"{word} portal on test"]


def test_a_block_the_stack_does_not_enable_is_refused_before_any_change(
    pulumi: FakePulumi, tmp_path: Path
) -> None:
    model, manifests = stack()
    with pytest.raises(GitopsError) as exc:
        set_suspended(model, manifests, "nope", True, tmp_path, NoPublish(), print)  # type: ignore[arg-type]
    assert str(exc.value) == "stack test has no block 'nope' enabled (enabled: base, portal)"
    assert pulumi.runs == []


def test_a_block_without_flux_objects_updates_none(pulumi: FakePulumi, tmp_path: Path) -> None:
    model, manifests = stack()
    said: list[str] = []
    set_suspended(model, manifests, "base", True, tmp_path, NoPublish(), said.append)  # type: ignore[arg-type]
    assert pulumi.runs[1] == ("up", "--yes", "--skip-preview")
    assert said == ["suspending base: pulumi up of 0 Flux objects"]


# -- undeploy ----------------------------------------------------------------------------------------


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"namespace": "flux-system", "name": name},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas},
    }


def flux_object(kind: str, namespace: str, name: str, finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": namespace, "name": name}
    if finalizers is not None:
        meta["finalizers"] = finalizers
    return {"kind": kind, "metadata": meta, "spec": {}}


CONTROLLERS = ("source-controller", "kustomize-controller", "helm-controller")


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeAccess, FakeClock]:
    """Flux's controllers running, its objects with their finalizers, a controller manager that
    stops a scaled-down Deployment's pods 2 s later."""
    access = FakeAccess(
        *(deployment(name) for name in CONTROLLERS),
        flux_object("HelmRelease", "demo", "eoepca-portal", ["finalizers.fluxcd.io"]),
        flux_object("HelmRelease", "um", "other", ["finalizers.fluxcd.io", "example.org/keep"]),
        flux_object("Kustomization", "flux-system", "portal", ["finalizers.fluxcd.io"]),
        flux_object("GitRepository", "flux-system", "flux-system", ["finalizers.fluxcd.io"]),
        flux_object("HelmRepository", "common", "eoepca", []),  # none to release
        flux_object("Bucket", "flux-system", "no-finalizers"),
        flux_object("SealedSecret", "demo", "kept", ["sealedsecrets.bitnami.com"]),  # not Flux's
    )
    clock = FakeClock()
    monkeypatch.setattr(changes, "time", clock)
    monkeypatch.setattr(ClusterAccess, "for_stack", classmethod(lambda cls, s: access))
    real = access.merge_patch

    def merge_patch(api_version: str, kind: str, namespace: str, name: str, patch: Any) -> None:
        real(api_version, kind, namespace, name, patch)
        if kind == "Deployment" and patch == {"spec": {"replicas": 0}}:
            status = access.objects[(kind, namespace, name)]["status"]
            clock.after(2.0, lambda: status.pop("replicas"))

    access.merge_patch = merge_patch  # type: ignore[method-assign]
    return access, clock


def test_undeploy_stops_the_controllers_releases_the_finalizers_then_removes_flux_with_pulumi(
    pulumi: FakePulumi, cluster: tuple[FakeAccess, FakeClock], tmp_path: Path
) -> None:
    access, clock = cluster
    model, manifests = stack()
    said: list[str] = []
    publish = NoPublish()
    undeploy(model, manifests, fixture_install("new"), tmp_path, publish, said.append)  # type: ignore[arg-type]
    scaled = [p[3] for p in access.patches if p[1] == "Deployment"]
    assert scaled == list(CONTROLLERS)
    assert all(p[4] == {"spec": {"replicas": 0}} for p in access.patches if p[1] == "Deployment")
    released = {(p[1], p[2], p[3]): p[4] for p in access.patches if p[1] != "Deployment"}
    assert released == {
        ("GitRepository", "flux-system", "flux-system"): {"metadata": {"finalizers": None}},
        ("Kustomization", "flux-system", "portal"): {"metadata": {"finalizers": None}},
        ("HelmRelease", "demo", "eoepca-portal"): {"metadata": {"finalizers": None}},
        ("HelmRelease", "um", "other"): {"metadata": {"finalizers": None}},
    }
    assert [p[0] for p in access.patches if p[1] == "HelmRelease"] == ["helm.toolkit.fluxcd.io/v2"] * 2
    assert "finalizers" not in access.objects[("HelmRelease", "demo", "eoepca-portal")]["metadata"]
    assert access.objects[("SealedSecret", "demo", "kept")]["metadata"]["finalizers"] == [
        "sealedsecrets.bitnami.com"
    ]
    assert pulumi.runs == [
        ("config", "set", "--path", "flux.enabled", "false"),
        ("up", "--yes", "--skip-preview"),
    ]
    assert said == [
        "scaled 3 Flux controllers to 0; waiting for them to stop",
        "released the finalizers of 4 Flux objects",
        "pulumi up: deleting the Flux objects and Flux itself; namespaces and workloads stay",
    ]
    assert publish.messages == ["undeploy Flux from test, keeping the workloads"]
    assert clock.slept == [1.0, 1.0]  # the first controller took 2 s; the others had stopped by then


def test_the_finalizers_are_released_only_once_every_controller_has_stopped(
    pulumi: FakePulumi, cluster: tuple[FakeAccess, FakeClock], tmp_path: Path
) -> None:
    access, _ = cluster
    stopped_when_released: list[bool] = []
    real = access.merge_patch

    def merge_patch(api_version: str, kind: str, namespace: str, name: str, patch: Any) -> None:
        if "finalizers" in str(patch):
            stopped_when_released.append(
                all(
                    "replicas" not in access.objects[("Deployment", "flux-system", c)]["status"]
                    for c in CONTROLLERS
                )
            )
        real(api_version, kind, namespace, name, patch)

    access.merge_patch = merge_patch  # type: ignore[method-assign]
    model, manifests = stack()
    undeploy(model, manifests, fixture_install("new"), tmp_path, NoPublish(), print)  # type: ignore[arg-type]
    assert stopped_when_released == [True] * 4


def test_a_controller_already_stopped_or_gone_is_not_waited_for(
    pulumi: FakePulumi, cluster: tuple[FakeAccess, FakeClock], tmp_path: Path
) -> None:
    access, clock = cluster
    access.objects[("Deployment", "flux-system", "source-controller")]["status"] = {}
    real = access.merge_patch

    def merge_patch(api_version: str, kind: str, namespace: str, name: str, patch: Any) -> None:
        real(api_version, kind, namespace, name, patch)
        if name != "source-controller" and kind == "Deployment":  # deleted meanwhile
            access.objects.pop((kind, namespace, name))

    access.merge_patch = merge_patch  # type: ignore[method-assign]
    model, manifests = stack()
    undeploy(model, manifests, fixture_install("new"), tmp_path, NoPublish(), print)  # type: ignore[arg-type]
    assert clock.slept == []
    assert pulumi.runs[-1] == ("up", "--yes", "--skip-preview")


def test_controllers_that_do_not_stop_fail_the_undeploy_before_any_finalizer_is_released(
    pulumi: FakePulumi, cluster: tuple[FakeAccess, FakeClock], tmp_path: Path
) -> None:
    access, clock = cluster
    access.objects[("Deployment", "flux-system", "kustomize-controller")]["status"]["replicas"] = 2
    real = access.merge_patch
    access.merge_patch = (  # type: ignore[method-assign]
        lambda *a: real(*a) if a[3] != "kustomize-controller" else access.patches.append((*a[:4], a[4]))
    )
    model, manifests = stack()
    with pytest.raises(GitopsError) as exc:
        undeploy(model, manifests, fixture_install("new"), tmp_path, NoPublish(), print, timeout=30)  # type: ignore[arg-type]
    assert str(exc.value) == "Deployment flux-system/kustomize-controller did not stop in 30 s"
    assert not [p for p in access.patches if "finalizers" in str(p[4])]
    assert pulumi.runs == []
    assert 30 < clock.now - 1000 <= 31


def test_undeploy_refuses_a_stack_without_flux_and_one_it_cannot_update(
    monkeypatch: pytest.MonkeyPatch, cluster: tuple[FakeAccess, FakeClock], tmp_path: Path
) -> None:
    access, _ = cluster
    model, manifests = stack(flux={"version": "v2.9.3", "enabled": False})
    with pytest.raises(
        GitopsError, match=r"^stack test: Flux is undeployed already \(flux.enabled: false\)$"
    ):
        undeploy(model, manifests, [], tmp_path, NoPublish(), print)  # type: ignore[arg-type]
    monkeypatch.setattr(changes, "PulumiCli", FakePulumi(missing="pulumi is not on PATH"))
    model, manifests = stack()
    with pytest.raises(GitopsError, match=r"^pulumi is not on PATH$"):
        undeploy(model, manifests, fixture_install("new"), tmp_path, NoPublish(), print)  # type: ignore[arg-type]
    assert access.patches == []  # nothing changed on the cluster


# -- publishing the stack file ---------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project committed in Git, cloned from a bare remote it pushes to."""
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "operator")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "operator@example.invalid")
    remote, project = tmp_path / "remote.git", tmp_path / "project"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(tmp_path, "clone", "-q", str(remote), str(project))
    (project / "Pulumi.test.yaml").write_text("config: {}\n")
    (project / "other.txt").write_text("x\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "first")
    git(project, "push", "-q", "origin", "HEAD:main")
    return project


def test_without_commit_the_operator_is_told_to_commit(project: Path) -> None:
    model, _ = stack()
    said: list[str] = []
    Publish(model, project, commit=False, push=False)("suspend x", said.append)
    assert said == ["changed Pulumi.test.yaml: commit it so Git says what the cluster runs"]
    assert git(project, "log", "--format=%s") == "first"


@pytest.mark.parametrize("push", [False, True])
def test_commit_takes_only_the_stack_file_and_push_publishes_it(project: Path, push: bool) -> None:
    model, _ = stack()
    (project / "Pulumi.test.yaml").write_text("config: {changed: true}\n")
    (project / "other.txt").write_text("an unrelated edit\n")
    git(project, "add", "other.txt")
    said: list[str] = []
    Publish(model, project, commit=True, push=push)("suspend portal on test", said.append)
    assert git(project, "show", "--format=%s", "--name-only", "HEAD").split() == [
        "suspend",
        "portal",
        "on",
        "test",
        "Pulumi.test.yaml",
    ]
    assert said == [f"committed{' and pushed' if push else ''} Pulumi.test.yaml: suspend portal on test"]
    remote = git(project, "ls-remote", "origin", "main").split()[0]
    assert (remote == git(project, "rev-parse", "HEAD")) is push


def test_push_alone_commits_too(project: Path) -> None:
    model, _ = stack()
    (project / "Pulumi.test.yaml").write_text("config: {changed: true}\n")
    Publish(model, project, commit=False, push=True)("resume portal on test", print)
    assert git(project, "ls-remote", "origin", "main").split()[0] == git(project, "rev-parse", "HEAD")


def test_a_git_failure_is_one_error_naming_the_step(project: Path) -> None:
    model, _ = stack()
    with pytest.raises(GitopsError, match=r"^git commit: "):  # nothing changed: nothing to commit
        Publish(model, project, commit=True, push=False)("x", print)
    (project / "Pulumi.test.yaml").write_text("config: {changed: true}\n")
    git(project, "remote", "set-url", "origin", str(project.parent / "gone.git"))
    with pytest.raises(GitopsError, match=r"^git push: .*gone\.git"):
        Publish(model, project, commit=True, push=True)("x", print)


def test_a_stack_kept_by_a_poller_must_be_pushed(project: Path) -> None:
    model, _ = stack(poller=POLLER)
    for commit in (False, True):
        with pytest.raises(GitopsError) as exc:
            Publish(model, project, commit=commit, push=False)
        assert str(exc.value) == (
            "stack test is kept by a poller, which applies what is in Git: pass --commit --push so the "
            "change is in Git too, or the poller's next update reverts it"
        )
    Publish(model, project, commit=False, push=True)
