"""What `dev-cluster down` relies on: pid files that name exactly what `up` started (a pid reused by
another program is never signalled), stop with SIGTERM then SIGKILL, the status of every part, one
part stopped and started again, the state folder's lock, waiting with a deadline; ports; the few HTTP
calls; the snapshot the Git server serves. Real short-lived `sleep` processes stand in for the
cluster's binaries, started and stopped by each test."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eoepca_gitops.devcluster import certs, processes
from eoepca_gitops.devcluster.cluster import COMPONENTS, DevCluster
from eoepca_gitops.devcluster.git_server import repository_top
from eoepca_gitops.devcluster.layout import ClusterInfo
from eoepca_gitops.devcluster.probes import healthz, http_ok
from eoepca_gitops.devcluster.processes import ProcessRecord
from eoepca_gitops.devcluster.snapshot import snapshot_repository
from eoepca_gitops.errors import ClusterError
from eoepca_gitops.errors import KubeApiError as ApiError
from eoepca_gitops.kube.raw import KubeApi

SLEEP = "/bin/sleep"


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[ProcessRecord]]:
    """Records of the processes a test spawns; whatever still runs at its end is stopped."""
    records: list[ProcessRecord] = []
    yield records
    for record in records:
        processes.stop(record, timeout=2)


def spawn(started: list[ProcessRecord], tmp_path: Path, name: str, *argv: str) -> ProcessRecord:
    record = processes.spawn(
        name, list(argv or (SLEEP, "30")), tmp_path / "logs" / f"{name}.log", tmp_path / "pids"
    )
    started.append(record)
    return record


def test_a_record_is_read_back_as_written_and_a_broken_one_is_none(tmp_path: Path) -> None:
    record = ProcessRecord("etcd", 42, "/bin/etcd", 1234, "/x/etcd.log", ("/bin/etcd", "--a"))
    (tmp_path / "etcd.pid").write_text(record.to_json())
    assert ProcessRecord.from_file(tmp_path / "etcd.pid") == record
    assert json.loads(record.to_json())["argv"] == ["/bin/etcd", "--a"]
    old = {k: v for k, v in json.loads(record.to_json()).items() if k != "argv"}
    (tmp_path / "old.pid").write_text(json.dumps(old))
    assert ProcessRecord.from_file(tmp_path / "old.pid") == ProcessRecord(
        "etcd", 42, "/bin/etcd", 1234, "/x/etcd.log"
    )
    for broken in ("", "{}", '{"name": "x", "pid": "nan"}', "[1]"):
        (tmp_path / "b.pid").write_text(broken)
        assert ProcessRecord.from_file(tmp_path / "b.pid") is None
    assert ProcessRecord.from_file(tmp_path / "none.pid") is None


def test_a_spawned_process_is_recorded_runs_in_its_own_session_and_stops(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    record = spawn(
        started, tmp_path, "etcd", "/bin/sh", "-c", "echo started; echo oops >&2; exec /bin/sleep 30"
    )
    assert (record.name, record.binary, record.argv) == ("etcd", "/bin/sh", ("/bin/sh", "-c", record.argv[2]))
    assert record.start_ticks == processes.start_ticks(record.pid) and record.start_ticks > 0
    assert processes.read_records(tmp_path / "pids") == {"etcd": record}
    assert processes.is_running(record)
    assert os.getsid(record.pid) == record.pid  # Ctrl-C in the terminal that ran `up` does not reach it
    deadline = time.monotonic() + 10
    while "oops" not in processes.log_tail(Path(record.log)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert processes.stop(record) is True
    assert not processes.is_running(record)
    assert processes.stop(record) is False  # stopped already
    assert processes.log_tail(Path(record.log)) == "started\noops"
    assert processes.log_tail(Path(record.log), 1) == "oops"
    assert processes.log_tail(tmp_path / "none.log") == ""
    (tmp_path / "bytes.log").write_bytes(b"ok\nbad \xff byte\n")
    assert processes.log_tail(tmp_path / "bytes.log") == "ok\nbad \ufffd byte"


def test_a_pid_now_used_by_another_program_is_never_signalled(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    record = spawn(started, tmp_path, "etcd")
    reused = ProcessRecord("etcd", record.pid, SLEEP, record.start_ticks + 1, record.log)
    assert not processes.is_running(reused)
    assert processes.stop(reused) is False
    assert processes.is_running(record)  # untouched
    assert not processes.is_running(ProcessRecord("x", 2**22 + 1, SLEEP, 1, ""))  # no such pid


def test_a_process_that_ignores_sigterm_is_killed(tmp_path: Path, started: list[ProcessRecord]) -> None:
    record = spawn(
        started,
        tmp_path,
        "stubborn",
        "/bin/sh",
        "-c",
        "trap '' TERM; echo ready; while :; do sleep 0.1; done",
    )
    deadline = time.monotonic() + 10
    while "ready" not in processes.log_tail(Path(record.log)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert processes.stop(record, timeout=0.3) is True
    assert not processes.is_running(record)


def test_an_exited_process_counts_as_gone(tmp_path: Path, started: list[ProcessRecord]) -> None:
    record = spawn(started, tmp_path, "short", "/bin/true")
    deadline = time.monotonic() + 10
    while processes.is_running(record) and time.monotonic() < deadline:
        time.sleep(0.01)  # a zombie until reaped: counts as gone
    assert not processes.is_running(record)


def test_read_records_skips_what_is_not_a_record(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    (pids / "bad.pid").write_text("{")
    (pids / "notes.txt").write_text("x")
    (pids / "a.pid").write_text(ProcessRecord("kwok", 1, "/k", 2, "l").to_json())
    assert list(processes.read_records(pids)) == ["kwok"]
    assert processes.read_records(tmp_path / "none") == {}


# -- the cluster's processes ---------------------------------------------------------------------


def cluster_with(tmp_path: Path, started: list[ProcessRecord], *names: str) -> DevCluster:
    """A state folder whose pid files name running stand-ins of `names`, as `up` leaves it."""
    cluster = DevCluster(tmp_path, progress=lambda _: None)
    for name in names:
        started.append(
            processes.spawn(name, [SLEEP, "30"], cluster.layout.logs / f"{name}.log", cluster.layout.pids)
        )
    return cluster


def test_status_before_any_start_shows_every_part_stopped(tmp_path: Path) -> None:
    components, ready = DevCluster(tmp_path / "state").status()
    assert [c.name for c in components] == [c for c in COMPONENTS if c != "flux"]
    assert not any(c.running or c.pid or c.port or c.log for c in components) and ready is False


def test_status_shows_what_runs_its_port_and_the_flux_controllers(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    cluster = cluster_with(tmp_path, started, "etcd", "kwok", "source-controller")
    info = ClusterInfo(
        tmp_path, tmp_path / "k", "https://127.0.0.1:1", {"etcd": 2379, "kwok": 10247}, flux=True
    )
    cluster.layout.info.write_text(info.to_json())
    certs.generate(cluster.layout.pki)  # what `up` made first
    from eoepca_gitops.devcluster.flux import ControllerState, write_states

    write_states(
        cluster.layout.flux_status,
        {"source-controller": ControllerState("source-controller", "running"),
         "helm-controller": ControllerState("helm-controller", "waiting", "no Deployment")},
        {"source-controller-health": 9081},
    )  # fmt: skip
    components, ready = cluster.status()
    by_name = {c.name: c for c in components}
    assert list(by_name) == [
        *COMPONENTS,
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
    ]
    assert (by_name["etcd"].running, by_name["etcd"].pid, by_name["etcd"].port) == (
        True,
        started[0].pid,
        2379,
    )
    assert by_name["etcd"].log == str(cluster.layout.logs / "etcd.log")
    assert (by_name["kube-apiserver"].running, by_name["kube-apiserver"].pid) == (False, None)
    assert (by_name["source-controller"].running, by_name["source-controller"].port) == (True, 9081)
    assert (by_name["source-controller"].detail, by_name["helm-controller"].detail) == ("", "no Deployment")
    assert ready is False  # nothing answers /readyz at that address


def test_down_stops_exactly_what_the_pid_files_name_last_started_first(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    cluster = cluster_with(tmp_path, started, "etcd", "kube-apiserver", "flux", "source-controller")
    bystander = subprocess.Popen([SLEEP, "30"])
    said: list[str] = []
    cluster._progress = said.append
    try:
        assert cluster.down() == ["flux", "kube-apiserver", "etcd", "source-controller"]
        assert all(not processes.is_running(r) for r in started)
        assert bystander.poll() is None  # not ours to stop
        assert list(cluster.layout.pids.iterdir()) == []
        assert said[0].endswith(f"stopped flux (pid {started[2].pid})")
        assert cluster.down() == []  # nothing left
        assert cluster.layout.root.exists()
        cluster.down(purge=True)
        assert not cluster.layout.root.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_one_part_is_stopped_and_started_again_as_it_was(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    cluster = cluster_with(tmp_path, started, "kwok")
    assert cluster.stop_component("kwok") is True
    assert cluster.stop_component("kwok") is False
    assert (cluster.layout.pids / "kwok.pid").exists()  # kept, to start it again
    cluster.start_component("kwok")
    again = processes.read_records(cluster.layout.pids)["kwok"]
    started.append(again)
    assert processes.is_running(again) and again.argv == (SLEEP, "30") and again.pid != started[0].pid
    cluster.start_component("kwok")  # running already: nothing to do
    assert processes.read_records(cluster.layout.pids)["kwok"] == again
    with pytest.raises(ValueError, match=r"^unknown component 'nope' "):
        cluster.stop_component("nope")
    with pytest.raises(ClusterError, match=f"^etcd was not started from {tmp_path}$"):
        cluster.start_component("etcd")
    (cluster.layout.pids / "git-server.pid").write_text(ProcessRecord("git-server", 1, "x", 0, "l").to_json())
    with pytest.raises(ClusterError, match=r"^git-server: its pid file has no command line; run `up` again$"):
        cluster.start_component("git-server")


def test_the_api_server_started_again_is_waited_for(tmp_path: Path, started: list[ProcessRecord]) -> None:
    cluster = cluster_with(tmp_path, started, "kube-apiserver", "kwok")
    info = ClusterInfo(tmp_path, tmp_path / "k", "https://127.0.0.1:1", {})
    cluster.layout.info.write_text(info.to_json())
    certs.generate(cluster.layout.pki)
    (cluster.layout.logs / "kube-apiserver.log").write_text("the last start's lines\n")
    for name in ("kube-apiserver", "kwok"):
        cluster.stop_component(name)
    cluster.start_component("kwok", timeout=0.3)  # nothing to wait for
    started.append(processes.read_records(cluster.layout.pids)["kwok"])
    with pytest.raises(ClusterError, match=r"^timed out waiting for kube-apiserver /readyz"):
        cluster.start_component("kube-apiserver", timeout=0.3)  # nothing answers at that address
    started.append(processes.read_records(cluster.layout.pids)["kube-apiserver"])
    assert (cluster.layout.logs / "kube-apiserver.log").read_text() == ""  # one start per log


def test_only_one_up_or_down_at_a_time(tmp_path: Path) -> None:
    cluster = DevCluster(tmp_path)
    with cluster._locked(), pytest.raises(ClusterError, match=f"^another up/down runs on {tmp_path}$"):
        DevCluster(tmp_path).down()
    assert DevCluster(tmp_path).down() == []


def test_waiting_ends_with_the_check_a_process_that_exits_or_the_deadline(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    cluster = cluster_with(tmp_path, started, "etcd")
    said: list[str] = []
    cluster._progress = said.append
    cluster._wait("etcd /health", lambda: True, time.monotonic() + 5, started)
    assert said[-1].endswith("] etcd /health: ok") and said[-1].startswith("[dev-cluster ")
    with pytest.raises(ClusterError, match=r"^timed out waiting for nothing\n--- etcd \("):
        cluster._wait("nothing", lambda: False, time.monotonic() + 0.2, started)
    dying = processes.spawn(
        "kwok",
        ["/bin/sh", "-c", "echo bad flag; exit 3"],
        cluster.layout.logs / "kwok.log",
        cluster.layout.pids,
    )
    started.append(dying)
    with pytest.raises(ClusterError) as exc:
        cluster._wait("kwok", lambda: False, time.monotonic() + 30, [dying])
    assert str(exc.value) == f"kwok exited while waiting for kwok; last lines of {dying.log}:\nbad flag"


def test_the_git_server_serves_a_repository(tmp_path: Path) -> None:
    with pytest.raises(
        ClusterError, match=f"^{tmp_path} is not a Git repository: the dev cluster's Git server serves one$"
    ):
        repository_top(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    (tmp_path / "repo" / "sub").mkdir()
    assert repository_top(tmp_path / "repo" / "sub") == (tmp_path / "repo").resolve()


def test_a_snapshot_holds_what_git_would_commit(tmp_path: Path) -> None:
    source = tmp_path / "source"
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    (source / ".gitignore").write_text("ignored/\n")
    for rel in ("tracked.txt", "new.txt", "ignored/x.txt", "sub/deep.txt", "a/b/c/deeper.txt"):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(rel)
    subprocess.run(["git", "-C", str(source), "add", "tracked.txt", ".gitignore"], check=True)
    (source / "tracked.txt").write_text("changed, not committed")
    dest = snapshot_repository(source, tmp_path / "dest")
    files = subprocess.run(
        ["git", "-C", str(dest), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert files == [".gitignore", "a/b/c/deeper.txt", "new.txt", "sub/deep.txt", "tracked.txt"]
    assert (dest / "tracked.txt").read_text() == "changed, not committed"
    log = subprocess.run(
        ["git", "-C", str(dest), "log", "--format=%an %s", "main"], capture_output=True, text=True, check=True
    )
    assert log.stdout.strip() == "eoepca-gitops snapshot"


# -- the few HTTP calls ----------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str | None, bytes]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, self.headers.get("Authorization"), body))
        code = {
            "/readyz": 200,
            "/api/v1/gone": 404,
            "/api/v1/broken": 500,
            "/api/v1/nodes": 201,
            "/api/v1/exists": 409,
            "/api/v1/accepted": 202,
        }
        status = code.get(self.path.split("?")[0], 200)
        payload = b'{"kind": "Node"}' if status in (200, 201) else b"problem " * 100
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.seen.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_api_calls_carry_the_token_and_say_what_failed(server: str, tmp_path: Path) -> None:
    files = certs.generate(tmp_path / "pki")
    api = KubeApi(server + "/", "tok", files.ca_cert)
    assert api.server == server
    assert api.get_json("/api/v1/nodes/x") == {"kind": "Node"}
    assert api.get_json("/api/v1/gone") is None
    with pytest.raises(ApiError) as exc:
        api.get_json("/api/v1/broken")
    assert exc.value.status == 500 and str(exc.value) == "HTTP 500: " + ("problem " * 100)[:500]
    assert api.create("/api/v1/nodes", {"kind": "Node"}) is True
    assert api.create("/api/v1/exists", {}) is False
    assert api.create("/api/v1/accepted", {}) is True
    with pytest.raises(ApiError, match=r"^HTTP 500: problem"):
        api.create("/api/v1/broken", {})
    assert api.ready() is True
    assert Handler.seen[0] == ("GET", "/api/v1/nodes/x", "Bearer tok", b"")  # no body
    assert Handler.seen[3] == ("POST", "/api/v1/nodes", "Bearer tok", b'{"kind": "Node"}')
    assert KubeApi("http://127.0.0.1:1", "t", files.ca_cert).ready() is False  # nothing listens


def test_plain_and_self_signed_health_endpoints(server: str) -> None:
    assert http_ok(server + "/readyz") is True
    assert http_ok(server + "/api/v1/gone") is False
    assert http_ok("http://127.0.0.1:1/") is False
    assert healthz(server + "/healthz") is True
    assert healthz(server + "/api/v1/broken") is False
    assert healthz("https://127.0.0.1:1/healthz", timeout=0.5) is False


def test_the_git_server_runs_as_its_own_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eoepca_gitops.devcluster import git_server

    assert git_server.argv(tmp_path, "project", 8180, tmp_path / "view")[1:] == [
        "-m",
        "eoepca_gitops.devcluster.git_server",
        f"--repo={tmp_path}",
        "--name=project",
        "--port=8180",
        f"--view={tmp_path / 'view'}",
    ]
    served: list[tuple[Path, str, int, Path]] = []

    class Server:
        def serve_forever(self) -> None:
            pass

    def serve(repo: Path, name: str, port: int, view: Path) -> Server:
        served.append((repo, name, port, view))
        return Server()

    monkeypatch.setattr(git_server, "serve", serve)
    argv = ["git_server", "--repo", str(tmp_path), "--name", "p", "--port", "8180", "--view", "v"]
    monkeypatch.setattr("sys.argv", argv)
    git_server.main()
    assert served == [(tmp_path, "p", 8180, Path("v"))]
    monkeypatch.setattr("sys.argv", argv[:-2])
    with pytest.raises(SystemExit):
        git_server.main()  # --view is required


def test_publish_charts_writes_every_chart_the_project_names(tmp_path: Path) -> None:
    from tests.helpers import FIXTURE_BLOCKS

    project = tmp_path / "project"
    (project / "clusters").mkdir(parents=True)
    (project / "clusters" / "blocks").symlink_to(FIXTURE_BLOCKS)
    cluster = DevCluster(tmp_path / "state", progress=lambda _: None)
    assert cluster.publish_charts(project) == 1
    assert sorted(p.name for p in (cluster.layout.charts / "eoepca").iterdir()) == [
        "eoepca-portal-1.0.11.tgz",
        "index.yaml",
    ]
