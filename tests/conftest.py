"""Session fixtures for tests that run the real engine.

- `tools_env`  -> dict[str, str]: os.environ plus the tool cache's bin dir first on PATH and the
  Pulumi settings for offline runs (PULUMI_HOME left as it is, so the plugin cache filled by
  scripts/tools.sh is used).
- `dev_cluster` -> DevClusterHandle(kubeconfig, server, state_dir, start_seconds, git_repo, git_url,
  charts_url): one local cluster per session (etcd, kube-apiserver, controller manager, scheduler,
  kwok fake node, the real Flux controllers, a Git server and a chart repository), in a temporary
  state folder, stopped at the end. Its Git server serves `git_repo`, a snapshot of this checkout
  (what Git tracks plus untracked files it does not ignore) committed on branch main, which tests
  may commit to.
- `mocks` -> Recorder: Pulumi's mocks installed for a program run in-process, every registered
  resource recorded.
- `moto_s3` -> MotoS3(endpoint, bucket, port, aws_env, env, backend_url): moto's real S3 server
  on 127.0.0.1 with one bucket; `aws_env` holds only the AWS_* settings, `env` is os.environ plus them.
- `kubernetes_openapi` (autouse) -> str: prepares, once, the Kubernetes OpenAPI that schema
  validation reads (render validates what it writes): from the Go module cache, else `go mod
  download` (eoepca-gitops fetch-schemas). "" when ready, else why not: a test that needs it then
  fails with the error naming what to run.

Missing tools make these fixtures FAIL (not skip), naming scripts/tools.sh.

No test leaves a process behind (tests/leftovers.py): the session is a run whose marker every process
it starts inherits; each test module, and the session, fails naming what it left running.
"""

from __future__ import annotations

import filecmp
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest

from eoepca_gitops.devcluster import ClusterError, DevCluster, ToolsMissingError
from eoepca_gitops.devcluster.snapshot import snapshot_repository
from eoepca_gitops.devcluster.tools import tools_bin_dir
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.manifests.flux_release import MIRROR_ENV, cache_root
from eoepca_gitops.runs import Run, kill
from eoepca_gitops.schemas import OpenAPIMissingError, fetch_from_module, kubernetes_openapi_dir
from tests.helpers import REPO_ROOT
from tests.leftovers import ProcessCheck, report, settle
from tests.outside_data import eoepca_tree_missing, find_flux_manifests, flux_manifests_missing

# `make mutation` only: a mutant's quickest test first.
pytest_plugins = ["tests.mutation.fastest_first"]

# Every stack the tests load reads Flux's release manifests from where tests/outside_data.py found them.
if (_FLUX := find_flux_manifests().folder) is not None:
    os.environ.setdefault(MIRROR_ENV, str(_FLUX))
# Schema validation reads the Kubernetes OpenAPI from the user's cache, whatever $HOME a test sets.
os.environ.setdefault("EOEPCA_CACHE_DIR", str(cache_root()))
K8S_PROVIDER_VERSION = "4.25.0"
# Set before any test runs, so that every process a test starts carries it.
SESSION = Run.new("pytest")
os.environ.update(SESSION.variables)
PROCESSES = ProcessCheck(SESSION)


@pytest.fixture(scope="module", autouse=True)
def no_process_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the module (naming each process) if a process it started still runs after it."""
    before = PROCESSES.snapshot()
    yield
    left = PROCESSES.started_since(before)
    if left:
        pytest.fail(report(kill(left), request.node.nodeid), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the session's fixtures stopped their services: nothing the session started runs."""
    left = settle(PROCESSES.ours)
    if left:
        message = report(kill(left), "this test session")
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message, red=True)
        else:
            print(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@dataclass(frozen=True)
class DevClusterHandle:
    kubeconfig: Path
    server: str
    state_dir: Path
    start_seconds: float | None
    git_repo: Path | None = None
    git_url: str | None = None
    charts_url: str | None = None


@dataclass(frozen=True)
class MotoS3:
    endpoint: str  # http://127.0.0.1:PORT
    bucket: str
    port: int
    aws_env: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def backend_url(self, prefix: str = "") -> str:
        """A PULUMI_BACKEND_URL for this bucket (the S3 form Pulumi's diy backend documents)."""
        path = f"/{prefix.strip('/')}" if prefix else ""
        return (
            f"s3://{self.bucket}{path}?endpoint=127.0.0.1:{self.port}&s3ForcePathStyle=true"
            "&region=us-east-1&disableSSL=true&response_checksum_validation=when_required"
        )


@pytest.fixture(scope="session", autouse=True)
def kubernetes_openapi() -> str:
    try:
        kubernetes_openapi_dir()
    except OpenAPIMissingError:
        try:
            fetch_from_module()
        except GitopsError as exc:
            return str(exc)
    return ""


def _fail_missing(what: str) -> None:
    pytest.fail(
        f"{what}. Build the engine tools first with `scripts/tools.sh` (or `make tools`); "
        f"cache {tools_bin_dir().parent}.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def tools_env() -> dict[str, str]:
    bin_dir = tools_bin_dir()
    missing = [n for n in ("pulumi", "pulumi-resource-kubernetes") if not os.access(bin_dir / n, os.X_OK)]
    if missing:
        _fail_missing(f"missing in {bin_dir}: {', '.join(missing)}")
    pulumi_home = Path(os.environ.get("PULUMI_HOME") or Path.home() / ".pulumi")
    plugin = pulumi_home / "plugins" / f"resource-kubernetes-v{K8S_PROVIDER_VERSION}"
    if not plugin.is_dir():
        _fail_missing(f"the Kubernetes provider {K8S_PROVIDER_VERSION} is not in the plugin cache {plugin}")
    launcher = bin_dir / "pulumi-resource-kubernetes"
    if not filecmp.cmp(plugin / launcher.name, launcher, shallow=False):
        _fail_missing(f"{plugin} holds a provider that would outlive its engine, not the launcher {launcher}")
    env = dict(os.environ)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        # the provider from the plugin cache, not the copy on PATH (which would warn on every run)
        PULUMI_IGNORE_AMBIENT_PLUGINS="true",
        PULUMI_CONFIG_PASSPHRASE="test",
    )
    env.pop("PULUMI_BACKEND_URL", None)  # each test says which backend it uses
    env.pop("KUBECONFIG", None)  # and which cluster
    return env


@pytest.fixture(scope="session")
def dev_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevClusterHandle]:
    cluster = DevCluster(
        tmp_path_factory.mktemp("dev-cluster"), progress=lambda line: print(line), default_ports=False
    )
    served = snapshot_repository(REPO_ROOT, tmp_path_factory.mktemp("served-repo"))
    try:
        PROCESSES.service_pid_dirs.append(cluster.layout.pids)  # lives as long as the session
        try:
            info = cluster.up(flux=True, git_repo=served)
        except ToolsMissingError as err:
            _fail_missing(str(err))
            raise  # unreachable: pytest.fail raises
        except ClusterError as err:
            pytest.fail(f"the dev cluster did not start: {err}", pytrace=False)
        yield DevClusterHandle(
            kubeconfig=info.kubeconfig,
            server=info.server,
            state_dir=info.state_dir,
            start_seconds=info.start_seconds,
            git_repo=info.git_repo,
            git_url=info.git_url,
            charts_url=info.charts_url,
        )
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _, port = server.get_host_and_port()
        endpoint = f"http://127.0.0.1:{port}"
        aws_env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        bucket = "pulumi-state"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=bucket)
        client.close()
        yield MotoS3(
            endpoint=endpoint,
            bucket=bucket,
            port=int(port),
            aws_env=aws_env,
            env={**os.environ, **aws_env},
        )
    finally:
        server.stop()


GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """`golden(name, text)`: asserts that `text` is tests/golden/<name>, as flux2's CLI tests do;
    `pytest --update-golden` rewrites the file instead (review its diff before committing)."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-golden"):
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{name} changed: run pytest --update-golden"

    return check


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test needing data that is not this project's is skipped where it is missing, saying how to
    provide it (tests/outside_data.py)."""
    for marker, missing in (("flux_manifests", flux_manifests_missing), ("eoepca_tree", eoepca_tree_missing)):
        if item.get_closest_marker(marker) is not None and (why := missing()):
            pytest.skip(why)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite the golden files under tests/golden/"
    )


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def mocks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Recorder:
    # The program reads the live cluster for the upgrade gate: with mocks there is none to read.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-cluster"))
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="eoepca-gitops", stack="test", preview=False)
    return recorder
