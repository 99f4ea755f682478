"""The value types of the model, each a table of literal inputs and what the model makes of them."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from eoepca_gitops.model.types import (
    ChartRepositoryUrl,
    DnsLabel,
    DnsName,
    FluxVersion,
    GitUrl,
    GoDuration,
    HelmReleaseName,
    HostName,
    HttpUrl,
    K8sName,
    ServiceName,
    duration_seconds,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        (" 0 ", 0.0),
        ("0s", 0.0),
        ("30s", 30.0),
        ("1m0s", 60.0),
        ("1m30s", 90.0),
        ("10m", 600.0),
        ("1h", 3600.0),
        ("1.5h", 5400.0),
        ("2h45m0s", 9900.0),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("250ms", 0.25),
        ("1500us", 0.0015),
        ("1500µs", 0.0015),
        ("2000000ns", 0.002),
        ("1h1m1s1ms", 3661.001),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize(
    "text", ["", " ", "1", "10", "1 m", "1m 0s", "m", "1d", "-1s", "1.2.3s", "s1", "1mx", "00"]
)
def test_what_is_not_a_go_duration(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == f"{text!r} is not a Go duration such as '1m0s', '30s' or '1h'"


def test_a_duration_that_is_no_string_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a Go duration"):
        parse_duration(30)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "seconds"), [("1m30s", 90), ("1.9s", 1), ("250ms", 0), ("10m", 600)])
def test_whole_seconds(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


def valid(kind: object, value: str) -> str:
    result: str = TypeAdapter(kind).validate_python(value)
    return result


def refused(kind: object, value: str) -> str:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(kind).validate_python(value)
    message: str = info.value.errors()[0]["msg"]
    return message.removeprefix("Value error, ")


def test_a_go_duration_is_kept_as_written() -> None:
    assert valid(GoDuration, "1m0s") == "1m0s"
    assert refused(GoDuration, "1 minute") == "'1 minute' is not a Go duration such as '1m0s', '30s' or '1h'"


@pytest.mark.parametrize("name", ["eoepca.org", "develop.eoepca.org", "a.b", "x-1.y2.z", "1.example"])
def test_dns_names(name: str) -> None:
    assert valid(DnsName, name) == name


@pytest.mark.parametrize(
    "name",
    [
        "localhost",  # a single label: no domain anyone can resolve
        "10.0.0.1",  # an IP address, not a domain
        "a.123",
        "Eoepca.org",
        "-a.org",
        "a-.org",
        "a..org",
        ".org",
        "org.",
        "a_b.org",
        "a b.org",
        "",
        "a." + "b" * 63 + "." + "c" * 189,  # 256 characters
    ],
)
def test_what_is_not_a_dns_name(name: str) -> None:
    assert refused(DnsName, name) == (
        f"{name!r} is not a DNS name (lower-case labels separated by dots, e.g. 'eoepca.org')"
    )


def test_a_dns_name_of_253_characters_is_still_one() -> None:
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(name) == 253
    assert valid(DnsName, name) == name


@pytest.mark.parametrize("host", ["192.168.1.10", "nfs.example.org", "0.0.0.0"])
def test_host_names(host: str) -> None:
    assert valid(HostName, host) == host


@pytest.mark.parametrize("host", ["nfs", "300.1.1.1", "10.0.0", "::1", "NFS.example.org"])
def test_what_is_not_a_host_name(host: str) -> None:
    assert refused(HostName, host) == f"{host!r} is neither an IPv4 address nor a DNS name"


@pytest.mark.parametrize(
    ("kind", "url", "kept"),
    [
        (HttpUrl, "https://eoepca.github.io/helm-charts/", "https://eoepca.github.io/helm-charts"),
        (HttpUrl, "http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        (GitUrl, "ssh://git@github.com/EOEPCA/eoepca", "ssh://git@github.com/EOEPCA/eoepca"),
        (GitUrl, "https://github.com/EOEPCA/eoepca.git", "https://github.com/EOEPCA/eoepca.git"),
        (ChartRepositoryUrl, "oci://ghcr.io/eoepca/charts", "oci://ghcr.io/eoepca/charts"),
        (ChartRepositoryUrl, "https://charts.example//", "https://charts.example"),
    ],
)
def test_urls(kind: object, url: str, kept: str) -> None:
    assert valid(kind, url) == kept


@pytest.mark.parametrize(
    ("kind", "url", "message"),
    [
        (HttpUrl, "ssh://git@h/x", "'ssh://git@h/x' is not a URL with scheme http or https and a host"),
        (HttpUrl, "https:///x", "'https:///x' is not a URL with scheme http or https and a host"),
        (
            GitUrl,
            "git@github.com:x/y",
            "'git@github.com:x/y' is not a URL with scheme http or https or ssh and a host",
        ),
        (
            ChartRepositoryUrl,
            "ftp://h/c",
            "'ftp://h/c' is not a URL with scheme http or https or oci and a host",
        ),
    ],
)
def test_what_is_not_such_a_url(kind: object, url: str, message: str) -> None:
    assert refused(kind, url) == message


@pytest.mark.parametrize("name", ["a", "flux-system", "eoepca.portal", "a1", "x" * 253])
def test_kubernetes_names(name: str) -> None:
    assert valid(K8sName, name) == name


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a_b", "a b", ".a", "x" * 254])
def test_what_is_not_a_kubernetes_name(name: str) -> None:
    assert refused(K8sName, name) == (
        f"{name!r} is not a Kubernetes object name (at most 253 lower-case letters, digits, '-' and '.', "
        "starting and ending with a letter or digit)"
    )


@pytest.mark.parametrize("version", ["v2.9.3", "v0.24.0", "v10.20.30"])
def test_flux_versions(version: str) -> None:
    assert valid(FluxVersion, version) == version


@pytest.mark.parametrize("version", ["2.9.3", "v2.9", "v2.9.3-rc.1", "latest", "v2.9.3 "])
def test_what_is_not_a_flux_version(version: str) -> None:
    assert refused(FluxVersion, version) == f"{version!r} is not a Flux release version such as 'v2.9.3'"


@pytest.mark.parametrize("name", ["a", "web-1", "x" * 63])
def test_service_names(name: str) -> None:
    assert valid(ServiceName, name) == name


@pytest.mark.parametrize("name", ["", "1a", "a-", "A", "a.b", "x" * 64, "web\n"])
def test_what_is_not_a_service_name(name: str) -> None:
    assert refused(ServiceName, name) == (
        f"{name!r} is not a valid Service name (at most 63 lower-case letters, digits and '-', "
        "starting with a letter)"
    )


@pytest.mark.parametrize(
    "kind",
    [K8sName, ServiceName, DnsLabel, HelmReleaseName, FluxVersion, DnsName],
    ids=["K8sName", "ServiceName", "DnsLabel", "HelmReleaseName", "FluxVersion", "DnsName"],
)
def test_a_trailing_newline_is_no_part_of_a_name(kind: object) -> None:
    # a YAML block scalar (`name: |`) ends with one; `$` alone would let it through
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python("v2.9.3\n" if kind is FluxVersion else "web.example.org\n")
