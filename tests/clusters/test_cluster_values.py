"""What differs between clusters by nature: typed infrastructure keys the blocks use, chart mirrors,
the Git URL rules, the kubeconfig path, and the Git layer's references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.flux_layer import missing_references
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.stack import StackManifests, build_stack
from eoepca_gitops.model import load_stack
from eoepca_gitops.model.stack import Stack
from tests.helpers import FIXTURE_BLOCKS, REPO_ROOT, values

FILE = "Pulumi.test.yaml"


def load(v: dict[str, Any], blocks: Path = FIXTURE_BLOCKS, project: Path | None = None) -> Stack:
    return load_stack("test", v, (), FILE, blocks, project)


def build(stack: Stack) -> StackManifests:
    return build_stack(stack, load_install_manifest(stack.config.flux, file=FILE, project=Path.cwd()))


def repos(m: StackManifests) -> dict[str, str]:
    return {o["metadata"]["name"]: o["spec"]["url"] for o in m.all() if o["kind"] == "HelmRepository"}


def test_infrastructure_values_become_block_variables() -> None:
    cluster = {
        "name": "c1",
        "publicIp": "10.0.0.1",
        "nfs": {"server": "nfs.c1.example.org", "path": "/exports/k8s"},
        "eoData": {
            "endpoint": "https://eodata.example.org",
            "region": "r1",
            "catalogue": "https://cat.example.org/",
        },
        "objectStore": {"endpoint": "https://s3.example.org:8443", "region": "r2"},
    }
    variables = load(values(cluster=cluster)).config.cluster.variables()
    assert variables == {
        "cluster_name": "c1",
        "public_ip": "10.0.0.1",
        "domain": "10-0-0-1.nip.io",
        "nfs_server": "nfs.c1.example.org",
        "nfs_path": "/exports/k8s",
        "eodata_endpoint": "https://eodata.example.org",
        "eodata_region": "r1",
        "eodata_catalogue": "https://cat.example.org",
        "object_store_endpoint": "https://s3.example.org:8443",
        "object_store_host": "s3.example.org:8443",
        "object_store_region": "r2",
    }


@pytest.mark.parametrize(
    ("cluster", "key", "words"),
    [
        (
            {"nfs": {"server": "not a host", "path": "/x"}},
            "cluster.nfs.server",
            "neither an IPv4 address nor a DNS",
        ),
        ({"nfs": {"server": "10.1.1.1", "path": "relative"}}, "cluster.nfs.path", "should match pattern"),
        (
            {"objectStore": {"endpoint": "s3.example.org", "region": "r"}},
            "cluster.objectStore.endpoint",
            "http or https",
        ),
        (
            {"objectStore": {"endpoint": "https://k:s@s3.example.org", "region": "r"}},
            "cluster.objectStore.endpoint",
            "credentials",
        ),
        ({"eoData": {"endpoint": "https://e.example.org"}}, "cluster.eoData.region", "missing required key"),
    ],
)
def test_bad_infrastructure_values(cluster: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(values(cluster={"name": "t", "publicIp": "10.0.0.1", **cluster}))
    assert info.value.key == f"eoepca-gitops:{key}"
    assert words in info.value.message


@pytest.mark.flux_manifests
def test_a_block_using_an_unset_cluster_value_names_the_key_to_set() -> None:
    """The shipped blocks use ${nfs_server}: a stack without cluster.nfs is refused, before anything."""
    v = values(blocks=["system-common", "system-storage"], flux={"version": "v2.9.3"})
    with pytest.raises(ConfigError) as info:
        load(v, REPO_ROOT / "clusters" / "blocks")
    assert info.value.key == "eoepca-gitops:cluster.nfs.server"
    assert "block system-storage (HelmRelease nfs-provisioner) uses ${nfs_server}" in info.value.message
    v["cluster"]["nfs"] = {"server": "10.2.0.9", "path": "/data"}
    release = next(
        o
        for o in build(load(v, REPO_ROOT / "clusters" / "blocks")).all()
        if o["metadata"]["name"] == "nfs-provisioner"
    )
    assert release["spec"]["values"]["nfs"] == {"server": "10.2.0.9", "path": "/data"}


@pytest.mark.flux_manifests
def test_chart_mirror_redirects_every_repository_and_one_its_own() -> None:
    plain = build(load(values()))
    assert repos(plain) == {"eoepca": "https://eoepca.github.io/helm-charts"}
    mirrored = build(load(values(charts={"mirror": "http://charts.internal:8080/"})))
    assert repos(mirrored) == {"eoepca": "http://charts.internal:8080/eoepca/"}
    own = build(
        load(
            values(
                charts={"mirror": "http://m.internal", "repositories": {"eoepca": "oci://r.internal/eoepca"}}
            )
        )
    )
    assert repos(own) == {"eoepca": "oci://r.internal/eoepca"}


@pytest.mark.parametrize(
    ("charts", "key", "words"),
    [
        ({"mirror": "ftp://m.internal"}, "charts.mirror", "http or https"),
        (
            {"repositories": {"nope": "https://x.example.org"}},
            "charts.repositories.nope",
            "no enabled block declares",
        ),
        ({"repositories": {"eoepca": "git://x"}}, "charts.repositories.eoepca", "http or https or oci"),
    ],
)
def test_bad_chart_config(charts: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(values(charts=charts))
    assert info.value.key == f"eoepca-gitops:{key}"
    assert words in info.value.message


@pytest.mark.parametrize(
    ("git", "words"),
    [
        ({"url": "ssh://git@example.org/x", "branch": "main"}, "ssh URL: it needs auth.type: ssh"),
        ({"url": "https://example.org/x", "branch": "main", "auth": {"type": "ssh"}}, "needs an ssh:// URL"),
        ({"url": "https://user:tok@example.org/x", "branch": "main"}, "holds credentials"),
        ({"url": "https://tok@example.org/x", "branch": "main"}, "holds credentials"),
        ({"url": "git@example.org:x.git", "branch": "main"}, "not a URL with scheme"),
    ],
)
def test_git_url_rules(git: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(values(git=git))
    assert words in info.value.message


def test_a_stack_without_git_url_loads_for_offline_views_and_is_refused_for_a_deploy() -> None:
    given = values(git={"branch": "main"})
    what = (
        "missing required key: the URL of the Git repository holding this project's clusters/ folder, "
        "which Flux clones"
    )
    folder = FIXTURE_BLOCKS
    stack = load_stack("test", given, set(), "Pulumi.test.yaml", folder, offline=True)
    assert stack.unset == (("eoepca-gitops:git.url", what),)
    with pytest.raises(ConfigError) as info:
        load_stack("test", given, set(), "Pulumi.test.yaml", folder)
    assert str(info.value) == f"Pulumi.test.yaml: eoepca-gitops:git.url: {what}"
    assert load(values()).unset == ()  # a stack that sets it


def test_kubeconfig_is_relative_to_the_project_and_must_exist(tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("apiVersion: v1\n")
    stack = load(values(kubeconfig=".kube/config"), project=tmp_path)
    assert stack.config.kubeconfig == str((tmp_path / ".kube" / "config").resolve())
    with pytest.raises(ConfigError) as info:
        load(values(kubeconfig=".state/dev-cluster/kubeconfig"), project=tmp_path)
    assert info.value.key == "eoepca-gitops:kubeconfig"
    assert info.value.message == (
        f"{tmp_path}/.state/dev-cluster/kubeconfig: no such file (a path in a stack file is relative to "
        f"the project folder {tmp_path}; to use $KUBECONFIG leave the key out, or name a context with "
        "kubeContext)"
    )
    # an absolute path is taken as it is, not under the project
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stack = load(values(kubeconfig=str(tmp_path / ".kube" / "config")), project=elsewhere)
    assert stack.config.kubeconfig == str((tmp_path / ".kube" / "config").resolve())


@pytest.mark.flux_manifests
def test_values_from_that_nothing_provides_is_found() -> None:
    m = build(load(values()))
    release = next(o for o in m.all() if o["kind"] == "HelmRelease")
    release["spec"]["valuesFrom"] = [
        {"kind": "Secret", "name": "in-git"},
        {"kind": "Secret", "name": "nowhere"},
        {"kind": "ConfigMap", "name": "optional-one", "optional": True},
    ]
    ns = release["metadata"]["namespace"]
    layer = {
        "portal": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "in-git", "namespace": ns}}]
    }
    (missing,) = missing_references(m, layer)
    assert (missing.reader, str(missing), missing.key, missing.required) == (
        f"HelmRelease {ns}/eoepca-portal",
        f"Secret {ns}/nowhere",
        "values.yaml",
        True,
    )


def test_the_object_store_host_is_the_endpoints_host_without_its_path() -> None:
    cluster = {
        **values()["cluster"],
        "objectStore": {"endpoint": "https://s3.example.org/eo/data", "region": "r"},
    }
    variables = load(values(cluster=cluster)).config.cluster.variables()
    assert variables["object_store_host"] == "s3.example.org"
    assert variables["object_store_endpoint"] == "https://s3.example.org/eo/data"


def test_only_the_trailing_slashes_of_a_url_are_dropped() -> None:
    eo_data = {
        "endpoint": "https://eodata.example.org/X//",
        "region": "r",
        "catalogue": "https://cat.example.org/X",
    }
    variables = load(values(cluster={**values()["cluster"], "eoData": eo_data})).config.cluster.variables()
    assert (variables["eodata_endpoint"], variables["eodata_catalogue"]) == (
        "https://eodata.example.org/X",
        "https://cat.example.org/X",
    )


def test_an_https_git_password_left_unset_names_the_key_that_wants_it() -> None:
    git = {
        "url": "https://git.example.org/gitops.git",
        "branch": "main",
        "auth": {"type": "https", "passwordSecret": "gitToken"},
    }
    stack = load_stack("test", values(git=git), (), FILE, FIXTURE_BLOCKS, offline=True)
    assert stack.unset == (
        (
            "eoepca-gitops:gitToken",
            "missing secret (named by git.auth.passwordSecret); set it with "
            "`pulumi config set --secret gitToken ...`",
        ),
    )


def test_every_secret_a_stack_names_is_listed_with_the_key_that_names_it() -> None:
    git = {"url": "https://git.example.org/gitops.git", "branch": "main", "auth": {"type": "https"}}
    poller = {
        "image": "poller:1",
        "backendUrl": "s3://state",
        "credentialSecrets": {"AWS_SECRET_ACCESS_KEY": "s3Key"},
    }
    stack = load_stack("test", values(git=git, poller=poller), (), FILE, FIXTURE_BLOCKS, offline=True)
    assert stack.config.secret_refs() == [
        ("gitPassword", "git.auth.passwordSecret"),
        ("pollerPassphrase", "poller.passphraseSecret"),
        ("s3Key", "poller.credentialSecrets.AWS_SECRET_ACCESS_KEY"),
    ]
