"""The value types of the model, each a table of literal inputs and what the model makes of them."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from eoepca_gitops.model.types import DnsName, HostName


def refused(kind: object, value: str) -> str:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(kind).validate_python(value)
    message: str = info.value.errors()[0]["msg"]
    return message.removeprefix("Value error, ")


@pytest.mark.parametrize("name", ["10.0.0.1", "a.123"])
def test_what_is_not_a_dns_name(name: str) -> None:
    assert refused(DnsName, name) == (
        f"{name!r} is not a DNS name (lower-case labels separated by dots, e.g. 'eoepca.org')"
    )


@pytest.mark.parametrize("host", ["300.1.1.1", "10.0.0"])
def test_what_is_not_a_host_name(host: str) -> None:
    assert refused(HostName, host) == f"{host!r} is neither an IPv4 address nor a DNS name"
