"""`eoepca-gitops:poller`: the model, its validation, the builder group and the program's Poller."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.poller import poller_args
from eoepca_gitops.manifests.stack import build_stack
from eoepca_gitops.model import load_stack
from eoepca_gitops.model.poller import PollerConfig
from tests.components.test_components import _config, _project, _run_program
from tests.conftest import Recorder
from tests.helpers import FIXTURE_BLOCKS, values

FILE = "Pulumi.test.yaml"
POLLER = {
    "image": "registry.example/eoepca-gitops:1.0",
    "backendUrl": "s3://state?region=eu-west-1",
    "credentialSecrets": {"AWS_ACCESS_KEY_ID": "pollerKeyId", "AWS_SECRET_ACCESS_KEY": "pollerKey"},
}
SECRETS = {"pollerPassphrase": "pass-4e1d", "pollerKeyId": "id-77aa", "pollerKey": "key-99bb"}


def load(v: dict[str, Any], secret_keys: tuple[str, ...] = tuple(SECRETS)) -> Any:
    with_secrets = {**v, **{k: SECRETS[k] for k in secret_keys}}
    return load_stack("test", with_secrets, secret_keys, FILE, FIXTURE_BLOCKS)


def manifests(v: dict[str, Any]) -> Any:
    stack = load(v, tuple(SECRETS) if "poller" in v else ())
    return build_stack(stack, load_install_manifest(stack.config.flux, file=FILE, project=Path.cwd()))


@pytest.mark.flux_manifests
def test_absent_means_no_poller() -> None:
    m = manifests(values())
    assert m.poller == []
    assert load(values(), ()).config.poller is None


@pytest.mark.flux_manifests
def test_defaults_follow_the_stack() -> None:
    m = manifests(values(poller=POLLER))
    kinds = [o["kind"] for o in m.poller]
    assert kinds[:2] == ["Namespace", "ServiceAccount"] and "Deployment" in kinds
    dep = next(o for o in m.poller if o["kind"] == "Deployment")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    args = c["args"]
    assert args[args.index("--repo") + 1] == "https://example.org/gitops.git"  # git.url
    assert args[args.index("--branch") + 1] == "main"  # git.branch
    assert [args[i + 1] for i, a in enumerate(args) if a == "--stack"] == ["test"]
    assert "--lease" not in args and dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    assert args[args.index("--state-configmap") + 1] == "eoepca-gitops-poller-state"
    secret = next(o for o in m.poller if o["kind"] == "Secret")
    assert secret["stringData"] == {
        "PULUMI_BACKEND_URL": "s3://state?region=eu-west-1",
        "PULUMI_CONFIG_PASSPHRASE": "pass-4e1d",
        "AWS_ACCESS_KEY_ID": "id-77aa",
        "AWS_SECRET_ACCESS_KEY": "key-99bb",
    }
    assert "pass-4e1d" not in json.dumps(dep) and "key-99bb" not in json.dumps(dep)
    assert secret in m.all()


@pytest.mark.flux_manifests
def test_replicas_turn_the_lease_on() -> None:
    p = {**POLLER, "replicas": 2, "interval": "30s", "driftMode": "correct", "stacks": ["a", "b"]}
    m = manifests(values(poller=p))
    dep = next(o for o in m.poller if o["kind"] == "Deployment")
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert dep["spec"]["replicas"] == 2
    assert args[args.index("--lease") + 1] == "eoepca-gitops-poller"
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"
    assert args[args.index("--drift-mode") + 1] == "correct"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--stack"] == ["a", "b"]
    own = next(o for o in m.poller if o["kind"] == "Role" and o["metadata"]["name"].endswith("-self"))
    assert {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
            "verbs": ["get", "create", "update", "patch"]} in own["rules"]  # fmt: skip
    assert own["metadata"]["namespace"] == "eoepca-gitops"


def test_the_poller_reads_git_with_the_stack_credentials() -> None:
    git = {"url": "https://example.org/gitops.git", "branch": "main",
           "auth": {"type": "https", "username": "bot", "passwordSecret": "gitToken"}}  # fmt: skip
    v = values(git=git, poller={k: v for k, v in POLLER.items() if k != "image"})
    stack = load_stack("test", {**v, **SECRETS, "gitToken": "tok-31a7"}, (*SECRETS, "gitToken"), FILE,
                       FIXTURE_BLOCKS)  # fmt: skip
    m = build_stack(stack, load_install_manifest(stack.config.flux, file=FILE, project=Path.cwd()))
    git_secret = next(o for o in m.poller if o["metadata"]["name"] == "eoepca-gitops-poller-git")
    assert git_secret["stringData"] == {"username": "bot", "password": "tok-31a7"}
    dep = next(o for o in m.poller if o["kind"] == "Deployment")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/eoepca/eoepca-gitops:0.1.0"
    assert "tok-31a7" not in json.dumps(dep)


@pytest.mark.parametrize(
    ("change", "secret_keys", "key", "words"),
    [
        ({"image": ""}, tuple(SECRETS), "eoepca-gitops:poller.image", "at least 1 character"),
        ({"replicas": 2, "lease": False}, tuple(SECRETS), "eoepca-gitops:poller", "needs the lease"),
        ({"replicas": 0}, tuple(SECRETS), "eoepca-gitops:poller.replicas", "greater than or equal to 1"),
        ({"driftMode": "fix"}, tuple(SECRETS), "eoepca-gitops:poller.driftMode", "'detect' or 'correct'"),
        ({"interval": "10 s"}, tuple(SECRETS), "eoepca-gitops:poller.interval", "not a Go duration"),
        ({"backendUrl": "s3://k:s@host/b"}, tuple(SECRETS), "eoepca-gitops:poller.backendUrl", "credentials"),
        ({"env": {"bad-name": "1"}}, tuple(SECRETS), "eoepca-gitops:poller", "environment variable"),
        ({"nope": 1}, tuple(SECRETS), "eoepca-gitops:poller.nope", "unknown key"),
        ({}, ("pollerKeyId", "pollerKey"), "eoepca-gitops:pollerPassphrase", "missing secret"),
    ],
)
def test_invalid(change: dict[str, Any], secret_keys: tuple[str, ...], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(values(poller={**POLLER, **change}), secret_keys)
    assert info.value.key == key, str(info.value)
    assert words in str(info.value)


def test_plain_text_passphrase_refused() -> None:
    v = {**values(poller=POLLER), **SECRETS}
    with pytest.raises(ConfigError, match="plain text where a secret is required"):
        load_stack("test", v, ("pollerKeyId", "pollerKey"), FILE, FIXTURE_BLOCKS)


def test_branch_needed_when_git_tracks_a_tag() -> None:
    v = values(git={"url": "https://example.org/g.git", "tag": "v1"}, poller=POLLER)
    with pytest.raises(ConfigError, match=r"poller\.branch"):
        load(v)
    assert load(
        values(git={"url": "https://example.org/g.git", "tag": "v1"}, poller={**POLLER, "branch": "main"})
    ).config.poller


@pytest.mark.flux_manifests
def test_program_registers_the_poller_component(mocks: Recorder, tmp_path: Path) -> None:
    _config(values(poller={**POLLER, "replicas": 2}), SECRETS)
    _run_program(_project(tmp_path))
    component = [r for r in mocks.resources if r.typ == "eoepca:gitops:Poller"]
    assert [r.name for r in component] == ["poller"]
    names = {r.name for r in mocks.resources}
    assert "Deployment/eoepca-gitops/eoepca-gitops-poller" in names
    assert "Lease" not in " ".join(names)  # the runner creates the Lease itself
    secret = next(r for r in mocks.resources if r.name == "Secret/eoepca-gitops/eoepca-gitops-poller-env")
    # a Pulumi secret (the mocks show its envelope): encrypted in state, hidden in output
    assert secret.inputs["stringData"]["4dabf18193072939515e22adb298388d"] == (
        "1b47061264138c4ac30d75fd1eb44270"
    )
    assert secret.inputs["stringData"]["value"]["PULUMI_CONFIG_PASSPHRASE"] == "pass-4e1d"


@pytest.mark.flux_manifests
def test_program_without_poller_registers_none(mocks: Recorder, tmp_path: Path) -> None:
    _config(values())
    _run_program(_project(tmp_path))
    assert not [r for r in mocks.resources if r.typ == "eoepca:gitops:Poller"]


def test_the_poller_arguments_need_what_the_loader_fills_in() -> None:
    with pytest.raises(ValueError) as info:
        poller_args(PollerConfig.model_validate({"image": "poller:1", "backendUrl": "s3://state"}))
    assert str(info.value) == "the poller's gitUrl, branch and stacks are filled in by the loader"
