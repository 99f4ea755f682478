"""Which variables a block uses and what a stack is told when one is not set: exact keys, files and
messages (eoepca_gitops.model.references)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.model import load_stack
from eoepca_gitops.model.blocks import Block
from eoepca_gitops.model.references import variables_used
from tests.helpers import values

SOURCE = {"name": "charts", "namespace": "flux-system"}


def _block(**fields: Any) -> Block:
    return Block.model_validate({"name": "web", **fields})


def test_variables_used_names_the_first_place_of_each_cluster_variable() -> None:
    block = _block(
        kustomization={"path": "web", "substitute": {"host": "www.${domain}", "ip": "${public_ip}"}},
        helmReleases=[
            {
                "name": "site",
                "namespace": "web",
                "chart": "site",
                "version": "1.0.0",
                "sourceRef": SOURCE,
                "values": {"url": "https://${domain}/", "team": "${team}", "cluster": "${cluster_name}"},
            }
        ],
    )
    assert variables_used(block) == {
        "domain": "HelmRelease site",  # also in the substitute: the release comes first
        "cluster_name": "HelmRelease site",
        "public_ip": "kustomization.substitute",
    }  # ${team} is no cluster variable


def _load(tmp_path: Path, block: dict[str, Any], **changes: Any) -> None:
    folder = tmp_path / "blocks"
    folder.mkdir(exist_ok=True)
    (folder / f"{block['name']}.yaml").write_text(yaml.safe_dump(block))
    load_stack("test", values(blocks=[block["name"]], **changes), set(), "Pulumi.test.yaml", folder)


def test_an_unset_cluster_value_names_the_key_and_the_file(tmp_path: Path) -> None:
    block = {"name": "web", "kustomization": {"path": "web", "substitute": {"share": "${nfs_server}"}}}
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, block)
    assert (info.value.file, info.value.key, info.value.message) == (
        "Pulumi.test.yaml",
        "eoepca-gitops:cluster.nfs.server",
        "missing: block web (kustomization.substitute) uses ${nfs_server}; "
        "set cluster.nfs.server for this cluster",
    )


def test_a_substitution_flux_cannot_evaluate_is_the_blocks_list_error(tmp_path: Path) -> None:
    release = {"name": "site", "namespace": "web", "chart": "site", "version": "1.0.0", "sourceRef": SOURCE}
    block = {"name": "web", "helmReleases": [{**release, "values": {"a": "${x!}"}}]}
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, block)
    assert (info.value.file, info.value.key) == ("Pulumi.test.yaml", "eoepca-gitops:blocks")
    assert (
        info.value.message
        == "block web (HelmRelease site): ${x!}: not a variable reference Flux can evaluate"
    )
