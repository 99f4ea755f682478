"""The dev cluster's parts that need no engine binary: its state folder and what `up` records there,
tokens and kubeconfigs, certificates, where the tools are found, how each part and each Flux
controller is started (command lines, ports), when a controller should run, the fake node."""

from __future__ import annotations

import base64
import csv
import ipaddress
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from eoepca_gitops.devcluster import certs, flux, kubernetes, tools
from eoepca_gitops.devcluster.flux import CONTROLLERS, ControllerState, controller_argv, default_ports
from eoepca_gitops.devcluster.kubeconfig import CONTEXT, IDENTITIES, ensure_tokens, write_kubeconfig
from eoepca_gitops.devcluster.layout import ClusterInfo, StateLayout
from eoepca_gitops.devcluster.supervisor import supervisor_argv
from eoepca_gitops.errors import ToolsMissingError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the state folder -------------------------------------------------------------------------------


def test_the_state_folder_layout(tmp_path: Path) -> None:
    lay = StateLayout(tmp_path)
    assert {k: str(v.relative_to(tmp_path)) for k, v in vars(lay).items() if k != "root"} == {
        "pki": "pki",
        "tokens": "pki/tokens.csv",
        "etcd_data": "etcd",
        "logs": "logs",
        "pids": "pids",
        "kubeconfigs": "kubeconfigs",
        "serving": "serving-certs",
        "kubeconfig": "kubeconfig",
        "info": "cluster.json",
        "lock": ".lock",
        "charts": "charts",
        "git_view": "git-view",
        "flux_storage": "flux-artifacts",
        "flux_status": "flux.json",
    }


def test_what_up_records_is_read_back_as_it_was(tmp_path: Path) -> None:
    info = ClusterInfo(
        tmp_path, tmp_path / "kubeconfig", "https://127.0.0.1:6443", {"etcd": 2379}, 12.5, True,
        tmp_path / "repo", "http://127.0.0.1:8180/x.git", "http://127.0.0.1:8181/",
    )  # fmt: skip
    (tmp_path / "cluster.json").write_text(info.to_json())
    assert ClusterInfo.from_file(tmp_path / "cluster.json") == info
    assert info.to_json().startswith('{\n  "state_dir": ')  # for people to read
    bare = ClusterInfo(tmp_path, tmp_path / "k", "https://s", {})
    (tmp_path / "bare.json").write_text(bare.to_json())
    assert ClusterInfo.from_file(tmp_path / "bare.json") == bare
    assert ClusterInfo.from_file(tmp_path / "missing.json") is None
    for broken in (
        "{",
        "[]",
        '{"state_dir": "x"}',
        '{"state_dir": "x", "kubeconfig": "k", "server": "s", "ports": 3}',
    ):
        (tmp_path / "broken.json").write_text(broken)
        assert ClusterInfo.from_file(tmp_path / "broken.json") is None


# -- tokens and kubeconfigs -------------------------------------------------------------------------


def test_tokens_are_made_once_for_every_identity_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "state" / "pki" / "tokens.csv"  # no folder of it yet
    tokens = ensure_tokens(path)
    assert set(tokens) == set(IDENTITIES) and len(set(tokens.values())) == len(IDENTITIES)
    assert all(len(t) == 48 for t in tokens.values())
    assert mode(path) == 0o600
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows[0] == [tokens["admin"], "eoepca-dev-admin", "eoepca-dev-admin", "system:masters"]
    assert [r[1] for r in rows] == [i.name for i in IDENTITIES.values()]
    before = path.read_text()
    assert ensure_tokens(path) == tokens and path.read_text() == before
    # one identity's row lost: the others keep their tokens, it gets a new one
    path.write_text("\n".join(",".join(r) for r in rows if r[1] != "system:kwok-controller") + "\nx\n")
    again = ensure_tokens(path)
    assert {k: v for k, v in again.items() if k != "kwok"} == {k: v for k, v in tokens.items() if k != "kwok"}
    assert again["kwok"] != tokens["kwok"] and len(path.read_text().splitlines()) == len(IDENTITIES)


def test_a_kubeconfig_embeds_the_ca_and_the_token(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(b"CA PEM")
    path = write_kubeconfig(tmp_path / "sub" / "kubeconfig", "https://127.0.0.1:6443", ca, "me", "tok")
    assert path == tmp_path / "sub" / "kubeconfig" and mode(path) == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == CONTEXT == "eoepca-dev"
    assert config["clusters"] == [
        {
            "name": CONTEXT,
            "cluster": {
                "server": "https://127.0.0.1:6443",
                "certificate-authority-data": base64.b64encode(b"CA PEM").decode(),
            },
        }
    ]
    assert config["users"] == [{"name": "me", "user": {"token": "tok"}}]
    assert config["contexts"] == [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "me"}}]
    assert sorted(p.name for p in path.parent.iterdir()) == ["kubeconfig"]


# -- certificates -----------------------------------------------------------------------------------


def test_certificates_are_made_once_with_private_keys_private(tmp_path: Path) -> None:
    files = certs.generate(tmp_path / "pki")
    assert files == certs.CertFiles.in_dir(tmp_path / "pki") and files.all_exist()
    assert sorted(p.name for p in (tmp_path / "pki").iterdir()) == [
        "apiserver.crt", "apiserver.key", "ca.crt", "ca.key", "sa.key", "sa.pub",
    ]  # fmt: skip
    for key in (files.ca_key, files.serving_key, files.sa_key):
        assert mode(key) == 0o600
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    serving = x509.load_pem_x509_certificate(files.serving_cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert serving.issuer == ca.subject
    assert serving.subject.rfc4514_string() == "CN=kube-apiserver"
    assert ca.subject.rfc4514_string() == "CN=eoepca-dev-cluster-ca"
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("10.0.0.1"),
    ]
    assert "kubernetes.default.svc.cluster.local" in names.get_values_for_type(x509.DNSName)
    ca_key = ca.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey) and serving.signature_hash_algorithm is not None
    signed_with = ec.ECDSA(serving.signature_hash_algorithm)
    ca_key.verify(serving.signature, serving.tbs_certificate_bytes, signed_with)  # raises if not
    before = files.ca_cert.read_bytes()
    assert certs.generate(tmp_path / "pki") == files and files.ca_cert.read_bytes() == before
    files.sa_pub.unlink()  # an incomplete set is made again, whole
    certs.generate(tmp_path / "pki")
    assert files.ca_cert.read_bytes() != before and files.all_exist()


# -- the tools --------------------------------------------------------------------------------------


def tool_cache(root: Path, *names: str) -> Path:
    """A tool cache as scripts/tools.sh leaves it: executables in bin/, kwok's stage files of two
    versions (each with a kustomization.yaml that is no stage)."""
    (root / "bin").mkdir(parents=True)
    for name in names:
        (root / "bin" / name).write_text("#!/bin/sh\n")
        (root / "bin" / name).chmod(0o755)
    for version, stages in (("kwok-v0.6.0", ("old.yaml",)), ("kwok-v0.7.0", ("b.yaml", "a.yaml"))):
        (root / version / "stages").mkdir(parents=True)
        for stage in (*stages, "kustomization.yaml"):
            (root / version / "stages" / stage).write_text("")
    return root


def test_the_tools_are_found_in_the_cache_with_the_newest_kwok_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tool_cache(tmp_path / "tools", *tools.BINARIES)
    monkeypatch.setenv("EOEPCA_TOOLS_DIR", str(cache))
    monkeypatch.setenv("PATH", "/nonexistent")
    assert tools.tools_dir() == cache and tools.tools_bin_dir() == cache / "bin"
    found = tools.find_tools()
    assert (found.etcd, found.kube_apiserver, found.kwok) == (
        cache / "bin" / "etcd",
        cache / "bin" / "kube-apiserver",
        cache / "bin" / "kwok",
    )
    assert (found.kube_controller_manager, found.kube_scheduler) == (
        cache / "bin" / "kube-controller-manager",
        cache / "bin" / "kube-scheduler",
    )
    assert found.kwok_stages == (
        cache / "kwok-v0.7.0" / "stages" / "a.yaml",
        cache / "kwok-v0.7.0" / "stages" / "b.yaml",
    )


def test_missing_tools_are_named_with_what_builds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "tools"
    (cache / "bin").mkdir(parents=True)
    (cache / "bin" / "etcd").write_text("not executable")
    monkeypatch.setenv("EOEPCA_TOOLS_DIR", str(cache))
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolsMissingError) as exc:
        tools.find_tools()
    assert str(exc.value) == (
        "missing: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, kwok stage files "
        f"({cache}/kwok-*/stages/*.yaml). Build them with `scripts/tools.sh` (cache {cache}; "
        "EOEPCA_TOOLS_DIR moves it)."
    )
    with pytest.raises(ToolsMissingError) as exc:
        tools.find_flux_controllers()
    assert str(exc.value).startswith(
        "missing: source-controller, kustomize-controller, helm-controller, notification-controller. "
        "Build them with `scripts/tools.sh flux`"
    )
    assert str(exc.value).endswith("or start the cluster without Flux (--no-flux).")


def test_a_tool_on_path_stands_in_for_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tool_cache(tmp_path / "tools", "etcd")
    on_path = tool_cache(tmp_path / "elsewhere", *tools.FLUX_CONTROLLERS)
    monkeypatch.setenv("EOEPCA_TOOLS_DIR", str(cache))
    monkeypatch.setenv("PATH", str(on_path / "bin"))
    assert tools.find_flux_controllers() == {n: on_path / "bin" / n for n in tools.FLUX_CONTROLLERS}
    with pytest.raises(
        ToolsMissingError, match=r"^missing: kube-apiserver, kube-controller-manager, kube-scheduler, kwok\. "
    ):
        tools.find_tools()


def test_the_default_state_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EOEPCA_DEV_CLUSTER_DIR", raising=False)
    assert tools.default_state_dir() == tools.REPO_ROOT / ".state" / "dev-cluster"
    monkeypatch.setenv("EOEPCA_DEV_CLUSTER_DIR", str(tmp_path))
    assert tools.default_state_dir() == tmp_path
    monkeypatch.delenv("EOEPCA_TOOLS_DIR", raising=False)
    assert tools.tools_dir() == Path.home() / ".cache" / "eoepca-gitops" / "tools"


# -- how the parts start ----------------------------------------------------------------------------

PORTS = {**kubernetes.DEFAULT_PORTS, **{k: 20000 + i for i, k in enumerate(default_ports())}}


def fake_tools(tmp_path: Path) -> tools.Tools:
    b = tmp_path / "bin"
    return tools.Tools(
        b / "etcd", b / "kube-apiserver", b / "kcm", b / "sched", b / "kwok", (b / "s1.yaml", b / "s2.yaml")
    )


def test_every_kubernetes_part_listens_on_loopback_at_its_port(tmp_path: Path) -> None:
    lay, t = StateLayout(tmp_path), fake_tools(tmp_path)
    files = certs.CertFiles.in_dir(lay.pki)
    etcd = kubernetes.etcd_argv(t, lay, PORTS)
    assert etcd[0] == str(t.etcd) and f"--data-dir={lay.etcd_data}" in etcd
    assert (
        "--listen-client-urls=http://127.0.0.1:2379" in etcd
        and "--listen-peer-urls=http://127.0.0.1:2380" in etcd
    )
    api = kubernetes.apiserver_argv(t, lay, PORTS, files)
    assert {"--etcd-servers=http://127.0.0.1:2379", "--bind-address=127.0.0.1", "--secure-port=6443",
            f"--token-auth-file={lay.tokens}", f"--client-ca-file={files.ca_cert}",
            "--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC"} <= set(api)  # fmt: skip
    kcm = kubernetes.controller_manager_argv(t, lay, PORTS, tmp_path / "kcm.kubeconfig", files)
    assert kcm[:6] == [
        str(t.kube_controller_manager),
        "--bind-address=127.0.0.1",
        "--secure-port=10257",
        f"--cert-dir={lay.serving / 'kube-controller-manager'}",
        f"--kubeconfig={tmp_path / 'kcm.kubeconfig'}",
        "--leader-elect=false",
    ]
    assert f"--service-account-private-key-file={files.sa_key}" in kcm
    assert kubernetes.scheduler_argv(t, lay, PORTS, tmp_path / "s.kubeconfig")[2] == "--secure-port=10259"
    stages = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    kwok = kubernetes.kwok_argv(t, PORTS, tmp_path / "kwok.kubeconfig", stages)
    assert f"--config={stages[0]}" in kwok and f"--config={stages[1]}" in kwok
    assert kwok[-5:] == [
        "--server-address=127.0.0.1:10247",
        "--node-ip=127.0.0.1",
        # the node's kubelet port: the Flux supervisor's server of the controllers' pods' logs
        f"--node-port={PORTS['flux-pod-logs']}",
        "--node-lease-duration-seconds=40",
        "--cidr=10.244.0.0/16",
    ]
    assert "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake" in kwok


class Api:
    """KubeApi.get_json over a dict of paths."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def get_json(self, path: str) -> Any:
        self.asked.append(path)
        return self.answers.get(path)


def test_the_fake_node_is_ready_once_kwok_says_so_and_the_taint_is_gone() -> None:
    assert kubernetes.fake_node() == {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "kwok-node-0",
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": "kwok-node-0",
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
            },
        },
        "spec": {},
    }
    path = f"/api/v1/nodes/{kubernetes.NODE_NAME}"
    ready = {"type": "Ready", "status": "True"}
    assert kubernetes.node_ready(Api({})) is False  # type: ignore[arg-type]
    assert kubernetes.node_ready(Api({path: {"status": {"conditions": [ready]}}})) is True  # type: ignore[arg-type]
    not_ready = {"status": {"conditions": [{**ready, "status": "False"}]}}
    assert kubernetes.node_ready(Api({path: not_ready})) is False  # type: ignore[arg-type]
    tainted = {
        "status": {"conditions": [ready]},
        "spec": {"taints": [{"key": "node.kubernetes.io/not-ready"}]},
    }
    assert kubernetes.node_ready(Api({path: tainted})) is False  # type: ignore[arg-type]
    other = {"status": {"conditions": [ready]}, "spec": {"taints": [{"key": "example.org/dedicated"}]}}
    assert kubernetes.node_ready(Api({path: other})) is True  # type: ignore[arg-type]


# -- Flux's controllers ------------------------------------------------------------------------------

SERVED = {
    "/apis/source.toolkit.fluxcd.io/v1": {
        "resources": [{"name": n} for n in ("gitrepositories", "helmrepositories", "helmcharts", "buckets")]
    },
    "/apis/kustomize.toolkit.fluxcd.io/v1": {"resources": [{"name": "kustomizations"}]},
}


def test_a_controller_runs_while_its_deployment_has_replicas_and_its_apis_are_served() -> None:
    source, kustomize, helm, _ = CONTROLLERS
    api = Api(SERVED)
    assert source.serves(api, {"source-controller": 1}) is None  # type: ignore[arg-type]
    assert kustomize.serves(api, {"kustomize-controller": 2}) is None  # type: ignore[arg-type]
    assert helm.serves(api, {"helm-controller": 1}) == (  # type: ignore[arg-type]
        "waiting for helm.toolkit.fluxcd.io/v2 helmreleases (installed by the stack's pulumi up)"
    )
    assert source.serves(api, {}) == "no Deployment (the stack's pulumi up installs it)"  # type: ignore[arg-type]
    assert source.serves(api, {"source-controller": 0}) == "its Deployment is scaled to 0"  # type: ignore[arg-type]
    partly = Api({"/apis/source.toolkit.fluxcd.io/v1": {"resources": [{"name": "gitrepositories"}]}})
    assert source.serves(partly, {"source-controller": 1}) == (  # type: ignore[arg-type]
        "waiting for source.toolkit.fluxcd.io/v1 helmrepositories, helmcharts, buckets "
        "(installed by the stack's pulumi up)"
    )


def test_flux_deployments_by_name_with_their_replicas() -> None:
    path = "/apis/apps/v1/deployments?labelSelector=app.kubernetes.io%2Fpart-of%3Dflux"
    items = [
        {"metadata": {"name": "a"}, "spec": {"replicas": 0}},
        {"metadata": {"name": "b"}, "spec": {}},
        {"metadata": {"name": "c"}},
    ]
    assert flux.flux_deployments(Api({path: {"items": items}})) == {"a": 0, "b": 1, "c": 1}  # type: ignore[arg-type]
    assert flux.flux_deployments(Api({})) == {}  # type: ignore[arg-type]


def test_each_controller_listens_on_its_own_loopback_ports(tmp_path: Path) -> None:
    ports = default_ports()
    assert list(ports) == [
        "source-controller-metrics", "source-controller-health", "source-controller-storage",
        "kustomize-controller-metrics", "kustomize-controller-health",
        "helm-controller-metrics", "helm-controller-health",
        "notification-controller-metrics", "notification-controller-health",
        "notification-controller-events", "notification-controller-receiver", "flux-pod-logs",
    ]  # fmt: skip
    assert list(ports.values()) == list(range(9080, 9092))
    assert default_ports(100)["source-controller-metrics"] == 100
    argv = {c.name: controller_argv(Path("/bin") / c.name, c, ports, tmp_path) for c in CONTROLLERS}
    events = "--events-addr=http://127.0.0.1:9089/"
    assert argv["source-controller"] == [
        "/bin/source-controller", "--metrics-addr=127.0.0.1:9080", "--health-addr=127.0.0.1:9081",
        "--enable-leader-election=false", "--watch-all-namespaces=true", "--log-encoding=json",
        "--requeue-dependency=5s", f"--storage-path={tmp_path}", "--storage-addr=127.0.0.1:9082",
        "--storage-adv-addr=127.0.0.1:9082", events,
    ]  # fmt: skip
    # remote bases are built, as Flux does by default: no --no-remote-bases
    assert argv["kustomize-controller"][-2:] == ["--requeue-dependency=5s", events]
    assert argv["helm-controller"][-1] == events
    assert argv["notification-controller"][-2:] == [
        "--events-addr=127.0.0.1:9089",
        "--receiverAddr=127.0.0.1:9090",
    ]
    assert "--requeue-dependency=5s" not in argv["notification-controller"]


def test_the_controllers_states_are_read_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "flux.json"
    states = {"a": ControllerState("a", "running", "pid 1", 2), "b": ControllerState("b", "waiting")}
    flux.write_states(path, states, {"a-health": 9081})
    assert flux.read_states(path) == (states, {"a-health": 9081})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flux.json"]
    assert flux.read_states(tmp_path / "none.json") == ({}, {})
    path.write_text('{"controllers": {"a": {}}}')
    assert flux.read_states(path) == ({}, {})
    path.write_text('{"controllers": {"a": {"state": "running"}}}')
    assert flux.read_states(path) == ({"a": ControllerState("a", "running", "", 0)}, {})


def test_the_supervisor_is_started_with_the_controllers_ports_only(tmp_path: Path) -> None:
    import sys

    ports = {**default_ports(), "etcd": 2379}
    argv = supervisor_argv(tmp_path, "https://127.0.0.1:6443", tmp_path / "k", ports)
    assert argv[:6] == [
        sys.executable,
        "-m",
        "eoepca_gitops.devcluster.supervisor",
        f"--state-dir={tmp_path}",
        "--server=https://127.0.0.1:6443",
        f"--kubeconfig={tmp_path / 'k'}",
    ]
    assert argv[6:] == [f"--port={n}={p}" for n, p in sorted(default_ports().items())]
    assert os.path.basename(argv[0]).startswith("python")
