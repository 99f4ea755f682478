"""Value types shared by the models: each validates and normalises one kind of string.

Durations have one grammar everywhere (stack files, blocks, command options): Go's, as Flux and
Kubernetes write them (`1m0s`, `30s`, `1.5h`, `250ms`, `0`), so a value the model accepts is one
every command that receives it accepts too. Names follow the API server's rules for what they
name (k8s.io/apimachinery/pkg/util/validation) and Helm's for release names, so that what passes
here is never refused by the cluster halfway through an update.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

__all__ = [
    "HELM_RELEASE_NAME_MAX",
    "ChartRepositoryUrl",
    "ChartVersion",
    "DnsLabel",
    "DnsName",
    "FluxVersion",
    "GitUrl",
    "GoDuration",
    "HelmReleaseName",
    "HostName",
    "HttpUrl",
    "IPv4",
    "IngressIPv4",
    "K8sName",
    "ServiceName",
    "duration_seconds",
    "helm_release_name",
    "parse_duration",
]

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# DNS-1123 subdomain (most object names); DNS-1035 label (Services: a letter first).
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SERVICE_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
#: Helm stores a release in a Secret named after it and labels objects with it: 53 characters at most.
HELM_RELEASE_NAME_MAX = 53
_FLUX_VERSION = re.compile(r"v\d+\.\d+\.\d+")


def parse_duration(value: str) -> float:
    """Seconds in a Go duration ("1m30s" -> 90.0, "250ms" -> 0.25, "0" -> 0.0); ValueError otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    if text == "0":
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a Go duration such as '1m0s', '30s' or '1h'")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def duration_seconds(duration: str) -> int:
    """Whole seconds in a Go duration ("1m30s" -> 90)."""
    return int(parse_duration(duration))


def _go_duration(value: str) -> str:
    parse_duration(value)
    return value


# A Kubernetes resource quantity (100m, 0.5, 256Mi, 1e3), as resource.ParseQuantity reads it.
_QUANTITY = re.compile(r"[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?")


def _quantity(value: str) -> str:
    if not _QUANTITY.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 100m, 0.5, 256Mi, 1Gi)")
    return value


def _dns_name(value: str) -> str:
    labels = value.split(".")
    # A single label resolves nowhere public, and an all-numeric top label is a mistyped IP address
    # (RFC 3696, 2), not a domain.
    if (
        len(value) > 253
        or len(labels) < 2
        or labels[-1].isdigit()
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
    ):
        raise ValueError(
            f"{value!r} is not a DNS name (lower-case labels separated by dots, e.g. 'eoepca.org')"
        )
    return value


def _host_name(value: str) -> str:
    """An IPv4 address or a DNS name (an NFS server, ...)."""
    try:
        return _ipv4(value)
    except ValueError:
        pass
    try:
        return _dns_name(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither an IPv4 address nor a DNS name") from None


def _url(value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlsplit(value)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise ValueError(f"{value!r} is not a URL with scheme {' or '.join(schemes)} and a host")
    # Credentials in a URL never get here: the loader refuses them in any value first
    # (eoepca_gitops.credentials), before a message could quote them.
    return value.rstrip("/")


def _name_rule(pattern: re.Pattern[str], limit: int, what: str, alphabet: str) -> Callable[[str], str]:
    """A check of a name Kubernetes or Helm validates: `pattern`, at most `limit` characters."""

    def check(value: str) -> str:
        if len(value) > limit or not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what} (at most {limit} {alphabet})")
        return value

    return check


_k8s_name = _name_rule(
    _K8S_NAME,
    253,
    "a Kubernetes object name",
    "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
)
# A namespace name, or another name that is also a label value.
_dns_label = _name_rule(
    _DNS_LABEL,
    63,
    "a DNS label, as a namespace name must be",
    "lower-case letters, digits and '-', starting and ending with a letter or digit",
)
_service_name = _name_rule(
    _SERVICE_NAME, 63, "a valid Service name", "lower-case letters, digits and '-', starting with a letter"
)
#: A name Helm accepts for a release (its own check: 53 characters, a DNS-1123 subdomain).
helm_release_name = _name_rule(
    _K8S_NAME, HELM_RELEASE_NAME_MAX, "a Helm release name", "lower-case letters, digits, '-' and '.'"
)


def _ipv4(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address such as '203.0.113.7'") from None
    return value


# What no host answers on, so no ingress can. Loopback stays: the local dev cluster's ingress is
# this host (127.0.0.1); so do private, shared (100.64.0.0/10) and documentation addresses, which
# clusters have (minikube's 192.168.49.2, the README's 203.0.113.7).
_NO_HOST = {
    ipaddress.IPv4Network("0.0.0.0/8"): "'this network', the unspecified address 0.0.0.0 among them",
    ipaddress.IPv4Network("224.0.0.0/4"): "multicast",
    ipaddress.IPv4Network("240.0.0.0/4"): "reserved, the broadcast address 255.255.255.255 among them",
}


def _ingress_ipv4(value: str) -> str:
    address = ipaddress.IPv4Address(_ipv4(value))
    for network, what in _NO_HOST.items():
        if address in network:
            raise ValueError(f"{value!r} is not a usable unicast address ({network}: {what})")
    return value


def _chart_version(value: str) -> str:
    """A chart version or version range as Helm reads it (`1.2.3`, `>=1.0.0 <2.0.0`, `${version}`):
    one line of printable text."""
    if len(value) > 256 or not value.isprintable():
        raise ValueError("not a chart version: one line of at most 256 printable characters such as '1.2.3'")
    return value


def _flux_version(value: str) -> str:
    if not _FLUX_VERSION.fullmatch(value):
        raise ValueError(f"{value!r} is not a Flux release version such as 'v2.9.3'")
    return value


GoDuration = Annotated[str, AfterValidator(_go_duration)]
Quantity = Annotated[str, AfterValidator(_quantity)]
HostName = Annotated[str, AfterValidator(_host_name)]
HttpUrl = Annotated[str, AfterValidator(lambda v: _url(v, ("http", "https")))]
GitUrl = Annotated[str, AfterValidator(lambda v: _url(v, ("http", "https", "ssh")))]
ChartRepositoryUrl = Annotated[str, AfterValidator(lambda v: _url(v, ("http", "https", "oci")))]
DnsName = Annotated[str, AfterValidator(_dns_name)]
K8sName = Annotated[str, AfterValidator(_k8s_name)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
ServiceName = Annotated[str, AfterValidator(_service_name)]
HelmReleaseName = Annotated[str, AfterValidator(helm_release_name)]
# A string: an integer is refused, never read as the address it would be in dotted form.
IPv4 = Annotated[str, AfterValidator(_ipv4)]
#: An address a cluster's ingress can have (see _NO_HOST).
IngressIPv4 = Annotated[str, AfterValidator(_ingress_ipv4)]
ChartVersion = Annotated[str, AfterValidator(_chart_version)]
FluxVersion = Annotated[str, AfterValidator(_flux_version)]
