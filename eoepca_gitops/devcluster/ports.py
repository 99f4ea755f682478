"""Ports for the servers the dev cluster (and the tests and benchmark beside it) start.

A port the kernel hands out for bind(0) comes from its ephemeral range, the same range it gives any
outgoing connection as its source port: between choosing such a port and the server binding it, a
client connection can take it (a whole run's CI saw source-controller's metrics port held for five
minutes by a connection, so the controller could not start). Ports are therefore drawn outside that
range (below it, or above it where it ends below 65535), where only a deliberate bind can take them.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: The ports below the ephemeral range that are drawn from: above the well-known and common service ports.
LOWEST = 10000
_ATTEMPTS = 200


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
    return low, high


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as Go servers do: a port whose old connections linger in TIME_WAIT is still usable
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", avoid: frozenset[int] = frozenset()) -> int:
    """A port nothing is bound to now, outside the kernel's ephemeral range (and not in `avoid`)."""
    low, high = ephemeral_range()
    pool = [r for r in (range(LOWEST, low), range(high + 1, 65536)) if len(r) > 0]
    if not pool:
        # A kernel that may give connections any port: its own choice is as good as another.
        return _kernel_port(host, avoid)
    draw = random.SystemRandom()
    for _ in range(_ATTEMPTS):
        port = draw.choice(draw.choice(pool))
        if port not in avoid and port_free(port, host):
            return port
    raise OSError(f"no free port on {host} outside the ephemeral range {low}-{high} in {_ATTEMPTS} draws")


def _kernel_port(host: str, avoid: frozenset[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port


def choose_ports(
    defaults: dict[str, int], host: str = "127.0.0.1", prefer_defaults: bool = True
) -> dict[str, int]:
    """The default port of each name when free (and preferred), else a free one; all distinct."""
    chosen: dict[str, int] = {}
    for name, port in defaults.items():
        if prefer_defaults and port not in chosen.values() and port_free(port, host):
            chosen[name] = port
        else:
            chosen[name] = free_port(host, frozenset(chosen.values()) | frozenset(defaults.values()))
    return chosen
