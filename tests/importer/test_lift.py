"""The cluster's recurring IP and domain written as ${public_ip} / ${domain} (importer/lift.py)."""

from __future__ import annotations

from eoepca_gitops.importer.lift import Lifter, map_strings


def test_a_value_is_lifted_in_each_of_its_strings_and_the_rest_is_kept() -> None:
    value = {
        "host": "grafana.home.example.net",
        "service": {"loadBalancerIP": "203.0.113.7", "port": 443, "tls": True},
        "urls": ["https://home.example.net/x", "http://203-0-113-7.nip.io", None],
        "other": "203.0.113.70 and example.net",
    }
    assert map_strings(value, Lifter("203.0.113.7", "home.example.net")) == {
        "host": "grafana.${domain}",
        "service": {"loadBalancerIP": "${public_ip}", "port": 443, "tls": True},
        "urls": ["https://${domain}/x", "http://203-0-113-7.nip.io", None],
        "other": "203.0.113.70 and example.net",
    }


def test_without_a_domain_the_ips_nip_io_form_is_the_domain() -> None:
    assert map_strings(["a.203-0-113-7.nip.io", "203.0.113.7"], Lifter("203.0.113.7", None)) == [
        "a.${domain}",
        "${public_ip}",
    ]
