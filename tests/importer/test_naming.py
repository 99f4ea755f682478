"""Block names (importer/naming.py): Kubernetes names made of a tree's names, unique where they meet."""

from __future__ import annotations

import pytest

from eoepca_gitops.importer.naming import block_name, unique


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("apps", "apps"),
        ("Apps/Base_Podinfo", "apps-base-podinfo"),
        ("infra..controllers v2", "infra-controllers-v2"),
        ("./clusters/prod/", "clusters-prod"),
        ("team-a", "team-a"),
    ],
)
def test_a_block_name_is_the_text_lowercase_with_dashes_for_the_rest(text: str, name: str) -> None:
    assert block_name(text) == name


@pytest.mark.parametrize("text", ["", ".", "/_/"])
def test_a_text_without_letters_or_digits_names_the_root_block(text: str) -> None:
    assert block_name(text) == "root"


def test_a_free_name_is_kept_and_taken() -> None:
    taken = {"infra"}
    assert unique("apps", taken) == "apps"
    assert taken == {"infra", "apps"}


def test_a_taken_name_gets_the_first_free_number_from_two() -> None:
    taken = {"apps", "apps-2", "apps-4"}
    assert unique("apps", taken) == "apps-3"
    assert taken == {"apps", "apps-2", "apps-3", "apps-4"}


def test_the_number_is_added_to_the_name_not_to_the_last_candidate() -> None:
    taken = {"apps", "apps-2", "apps-3"}
    assert unique("apps", taken) == "apps-4"
