"""Value types shared by the models: each validates and normalises one kind of string."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_FLUX_VERSION = re.compile(r"^v\d+\.\d+\.\d+$")


def _go_duration(value: str) -> str:
    if not _GO_DURATION.match(value):
        raise ValueError(f"{value!r} is not a Go duration such as '1m0s', '30s' or '1h'")
    return value


def _dns_name(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ValueError(
            f"{value!r} is not a DNS name (lower-case labels separated by dots, e.g. 'eoepca.org')"
        )
    return value


def _k8s_name(value: str) -> str:
    if len(value) > 253 or not _K8S_NAME.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes object name (lower case, digits, '-' and '.')")
    return value


def _flux_version(value: str) -> str:
    if not _FLUX_VERSION.match(value):
        raise ValueError(f"{value!r} is not a Flux release version such as 'v2.9.3'")
    return value


GoDuration = Annotated[str, AfterValidator(_go_duration)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
K8sName = Annotated[str, AfterValidator(_k8s_name)]
FluxVersion = Annotated[str, AfterValidator(_flux_version)]


def duration_seconds(duration: str) -> int:
    """Whole seconds in a Go duration ("1m30s" -> 90)."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return int(
        sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ms|s|m|h)", _go_duration(duration)))
    )
