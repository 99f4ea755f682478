"""Recurring public IPs and domains: found in a tree's values, replaced by ${public_ip} / ${domain}.

Pure string work on JSON-like values. `escape` protects text Flux will substitute: what should stay
a literal `$${...}` or `$$` after postBuild is written doubled.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Lifter", "detect_domain", "detect_ip", "escape", "map_strings", "strings"]

_IP = re.compile(r"(?<![0-9.])((?:[0-9]{1,3}\.){3}[0-9]{1,3})(?![0-9]|\.[0-9]|/[0-9])")
_HOST = re.compile(
    r"(?<![A-Za-z0-9_.-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9])(?![A-Za-z0-9_-])"
)
_HOST_KEYS = {"host", "hosts", "hostname", "domain", "url", "issuer", "baseurl", "publicurl", "dnsnames"}
_INTERNAL = ("cluster.local", "svc", "local", "internal", "localhost", "example.com", "example.org")


def strings(value: Any, under: str = "") -> Iterable[tuple[str, str]]:
    """(key the string sits under, string) for every string in a value."""
    if isinstance(value, str):
        yield under, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from strings(v, under)


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    return value


def escape(text: str) -> str:
    """Text that Flux's envsubst turns back into `text`: each `$` before `$` or `{` doubled."""
    return re.sub(r"\$(?=[${])", "$$", text)


def detect_ip(values: Iterable[Any]) -> str | None:
    """The public IPv4 address written most often (at least twice), if any."""
    counts: Counter[str] = Counter()
    for value in values:
        for _, text in strings(value):
            for ip in _IP.findall(text):
                try:
                    address = ipaddress.IPv4Address(ip)
                except ValueError:
                    continue
                if not (address.is_loopback or address.is_unspecified or address.is_link_local):
                    counts[ip] += 1
    best = counts.most_common(1)
    return best[0][0] if best and best[0][1] >= 2 else None


def detect_domain(values: Iterable[Any]) -> str | None:
    """The domain most ingress-like host names live under (at least two of them), if any."""
    hosts: set[str] = set()
    for value in values:
        for under, text in strings(value):
            if under.lower() not in _HOST_KEYS and not under.lower().endswith(
                ("host", "hosts", "url", "domain")
            ):
                continue
            hosts.update(h.lower() for h in _HOST.findall(text))
    counts: Counter[str] = Counter()
    for host in hosts:
        labels = host.split(".")
        for i in range(len(labels) - 1):
            suffix = ".".join(labels[i:])
            if not suffix.endswith(_INTERNAL) and not _IP.fullmatch(suffix):
                counts[suffix] += 1
    if not counts:
        return None
    top = max(counts.values())
    if top < 2:
        return None
    # The most specific suffix that nearly all of the most common suffix's hosts share.
    close = [s for s, n in counts.items() if n >= max(2, 0.8 * top)]
    return max(close, key=lambda s: (len(s.split(".")), counts[s], s))


class Lifter:
    """Replaces the literal domain and IP (and the IP's nip.io form) by stack variables."""

    def __init__(self, public_ip: str | None, domain: str | None) -> None:
        self.rules: list[tuple[re.Pattern[str], str]] = []
        host_domain = domain
        if public_ip:
            dashed = public_ip.replace(".", "-") + ".nip.io"
            host_domain = domain or dashed
            if domain is None:
                self.rules.append((self._host(dashed), "${domain}"))
            self.rules.append(
                (re.compile(r"(?<![0-9.])" + re.escape(public_ip) + r"(?![0-9]|\.[0-9])"), "${public_ip}")
            )
        if domain:
            self.rules.insert(0, (self._host(domain), "${domain}"))
        self.host_domain = host_domain

    @staticmethod
    def _host(domain: str) -> re.Pattern[str]:
        return re.compile(r"(?<![A-Za-z0-9-])" + re.escape(domain) + r"(?![A-Za-z0-9-]|\.[A-Za-z0-9])")

    def __call__(self, text: str) -> str:
        for pattern, replacement in self.rules:
            text = pattern.sub(replacement, text)
        return text
