"""Ports for the dev cluster's servers: free now, and outside the range the kernel gives connections."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from eoepca_gitops.devcluster import ports


def test_ports_are_the_defaults_when_free_else_others_all_distinct() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports.free_port()))
        taken.listen()
        busy = taken.getsockname()[1]
        assert not ports.port_free(busy)
        free = ports.choose_ports({"a": busy, "b": busy})
        assert busy not in free.values() and len(set(free.values())) == 2
    assert ports.port_free(busy)
    chosen = ports.choose_ports({"a": busy, "b": busy + 1})
    if ports.port_free(busy + 1):
        assert chosen == {"a": busy, "b": busy + 1}
    drawn = ports.choose_ports({"a": busy}, prefer_defaults=False)
    assert drawn["a"] != busy


def test_a_drawn_port_is_never_one_the_kernel_may_give_a_connection() -> None:
    low, high = ports.ephemeral_range()
    drawn = ports.choose_ports({f"p{i}": 9080 + i for i in range(40)}, prefer_defaults=False)
    assert len(set(drawn.values())) == 40
    for port in [*drawn.values(), *(ports.free_port() for _ in range(40))]:
        assert not low <= port <= high and port >= ports.LOWEST, port
    # What bind(0) gives (the old way) is inside the range: the case this module exists for.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        assert low <= s.getsockname()[1] <= high


def test_the_range_is_read_from_the_kernel_else_linux_s_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setting = tmp_path / "ip_local_port_range"
    setting.write_text("20000\t40000\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", setting)
    assert ports.ephemeral_range() == (20000, 40000)
    assert all(not 20000 <= ports.free_port() <= 40000 for _ in range(50))
    setting.write_text("garbage")
    assert ports.ephemeral_range() == (32768, 60999)
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", tmp_path / "missing")
    assert ports.ephemeral_range() == (32768, 60999)


def test_no_port_left_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "port_free", lambda port, host="127.0.0.1": False)
    with pytest.raises(OSError, match=r"no free port on 127\.0\.0\.1 outside the ephemeral range"):
        ports.free_port()


def test_a_kernel_whose_range_leaves_no_port_outside_it_chooses_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setting = tmp_path / "ip_local_port_range"
    setting.write_text(f"{ports.LOWEST} 65535")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", setting)
    first = ports.free_port()
    assert ports.port_free(first)
    assert ports.free_port(avoid=frozenset({first})) != first
