"""How a review shows objects (redacted, stable YAML) and compares two revisions of them."""

from __future__ import annotations

import base64
from typing import Any

from eoepca_gitops.fluxtree import key
from eoepca_gitops.review.compare import compare, unified
from eoepca_gitops.review.shown import CHANGED_MASK, secret_key, shown, shown_pair


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns"},
        "data": data,
    }


def _secret(**string_data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "ns"},
        "stringData": string_data,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in string_data.items()},
    }


def test_shown_yaml_has_sorted_keys_and_no_anchor() -> None:
    shared = {"x": 1}
    text = shown(
        {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"name": "a"},
            "data": {"b": shared, "a": shared},
        }
    )
    assert text.index("apiVersion") < text.index("kind") and "&id" not in text and "*id" not in text


def test_secret_values_are_masked_and_a_change_says_so() -> None:
    old, new = _secret(password="hunter22", user="admin"), _secret(password="correct-horse", user="admin")
    before, after = shown_pair(old, new)
    for text in (before, after):
        assert "hunter22" not in text and "correct-horse" not in text and "admin" not in text
        assert base64.b64encode(b"hunter22").decode() not in text
    assert f"password: '{CHANGED_MASK}'" in after and "user: '***'" in after
    assert "password: '***'" in before
    assert CHANGED_MASK not in shown(new)


def test_placeholders_of_an_offline_render_are_kept() -> None:
    text = shown(_secret(identity="<secret gitSshPrivateKey>", url="<unset eoepca-gitops:git.url>"))
    assert "<secret gitSshPrivateKey>" in text and "<unset eoepca-gitops:git.url>" in text


def test_credentials_in_other_objects_are_redacted() -> None:
    text = shown(
        _cm(
            "c", url="https://user:s3cr3t@example.org/repo", hook="https://hooks.slack.com/services/T0/B0/XYZ"
        )
    )
    assert "s3cr3t" not in text and "XYZ" not in text and "example.org/repo" in text


def test_unified_has_hunks_only() -> None:
    diff = unified("a\nb\nc\n", "a\nB\nc\n")
    assert diff.splitlines() == ["@@ -1,3 +1,3 @@", " a", "-b", "+B", " c"]
    assert unified("same\n", "same\n") == ""


def test_compare_added_changed_deleted_in_key_order() -> None:
    old = {key(o): o for o in (_cm("a", v="1"), _cm("b", v="1"), _cm("d", v="1"))}
    new = {key(o): o for o in (_cm("a", v="1"), _cm("b", v="2"), _cm("c", v="1"))}
    found = [(k[3], c.change) for k, c in compare(old, new)]
    assert found == [("b", "changed"), ("c", "added"), ("d", "deleted")]
    changes = {c.name: c for _, c in compare(old, new)}
    assert "-  v: '1'" in changes["b"].diff and "+  v: '2'" in changes["b"].diff
    assert all(line.startswith(("+", "@@")) for line in changes["c"].diff.splitlines())
    assert all(line.startswith(("-", "@@")) for line in changes["d"].diff.splitlines())
    assert changes["b"].title == "ConfigMap ns/b" and changes["b"].sign == "~"


def test_an_api_version_move_is_a_change_in_place() -> None:
    old = {"apiVersion": "helm.toolkit.fluxcd.io/v2beta1", "kind": "HelmRelease", "metadata": {"name": "r"}}
    new = {**old, "apiVersion": "helm.toolkit.fluxcd.io/v2"}
    [(_, change)] = compare({key(old): old}, {key(new): new})
    assert change.change == "changed" and change.detail == "helm.toolkit.fluxcd.io/v2beta1 -> v2, in place"


def test_a_change_only_in_a_secret_value_is_named_not_shown() -> None:
    old, new = _cm("c", url="https://u:one@h/x"), _cm("c", url="https://u:two@h/x")
    [(_, change)] = compare({key(old): old}, {key(new): new})
    assert change.diff == "" and change.detail == "the change is in a redacted value"


def test_values_under_secret_named_keys_are_masked_anywhere() -> None:
    old = _obj_values(
        {"adminPassword": "pw1", "auth": {"api_key": "k1", "tokens": ["t1"]}, "secretName": "tls"}
    )
    new = _obj_values(
        {"adminPassword": "pw2", "auth": {"api_key": "k1", "tokens": ["t1"]}, "secretName": "tls"}
    )
    before, after = shown_pair(old, new)
    assert not {"pw1", "pw2", "k1", "t1"} & set(before.split() + after.split())
    assert "adminPassword: '*** (changed)'" in after and "api_key: '***'" in after
    assert "secretName: tls" in after  # where a secret is, not what
    assert [
        secret_key(k) for k in ("password", "db-password", "clientSecret", "passwordSecretRef", "tokenTTL")
    ] == [
        True,
        True,
        True,
        False,
        False,
    ]


def _obj_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "r"},
        "spec": {"values": values},
    }
