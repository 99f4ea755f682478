"""Property: whatever a stack file holds, the stack loader either loads it or raises ConfigError.

Three kinds of documents: any YAML value under any of the stack's keys (the shapes a hand edit or a
script could give), the valid fixture stack with some of its text changed (the typos a hand edit
makes), and any bytes at all.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.project import load_stack_file
from tests.helpers import FIXTURE_BLOCKS, FIXTURES

NS = "eoepca-gitops"
VALID = (FIXTURES / "project" / "Pulumi.test.yaml").read_text()
KEYS = [
    "cluster", "flux", "git", "charts", "buckets", "blocks", "overrides", "notifications", "await",
    "kubeconfig", "kubeContext", "driftExempt", "poller", "gitSshPrivateKey", "other",
]  # fmt: skip
FIELDS = [
    "name", "publicIp", "domain", "version", "manifest", "url", "branch", "auth", "type", "patches",
    "releases", "values", "image", "backendUrl", "env", "namespace", "secure", "<<", "0", "",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["10.0.0.1", "v2.9.3", "ssh://git@example.org/x", "https://u:p@example.org", "main"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner, max_size=5),
    ),
    max_leaves=25,
)
# What a typo in YAML is made of.
YAML_CHARACTERS = ":-[]{}&*!|>'\"#%@`\t\n ,?x0."
# No example database: nothing written into the checkout.
SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def loads_or_config_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Pulumi.test.yaml"
        path.write_bytes(content)
        with contextlib.suppress(ConfigError):
            load_stack_file(path, FIXTURE_BLOCKS)


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6), st.booleans())
def test_any_values_under_the_stack_keys(config: dict[str, Any], keep_valid: bool) -> None:
    raw = yaml.safe_load(VALID) if keep_valid else {"config": {}}
    raw["config"].update({f"{NS}:{key}": value for key, value in config.items()})
    loads_or_config_error(yaml.safe_dump(raw, allow_unicode=True).encode())


@SETTINGS
@given(st.data())
def test_the_valid_stack_with_text_changed(data: st.DataObject) -> None:
    text = VALID
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        insert = data.draw(st.text(alphabet=st.sampled_from(list(YAML_CHARACTERS)), max_size=6))
        text = text[:at] + insert + text[at + cut :]
    loads_or_config_error(text.encode())


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes(content: bytes) -> None:
    loads_or_config_error(content)
