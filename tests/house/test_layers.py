"""Imports run one way (README: "data flows one way"): every module imports only from its own room
and from floors below it, never from one above, so a floor can be read, tested and changed knowing
only what lies under it. Every import counts: those inside a function (the CLI's lazy ones) and
those under TYPE_CHECKING too.

The floors, bottom first, follow the data: stack config -> validated model -> pure manifest
builders -> what reads, renders and checks them -> what drives a cluster -> components ->
`__main__.py`; the CLI maps flags onto all of it. A new room must be given a floor here.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

FLOORS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    # the credential rule, Flux's API groups, the processes of a run, the one way to run git
    ("credentials", "flux_apis", "runs", "git_runner"),
    # where a command may read and write; when an object has settled (pure)
    ("files", "readiness"),
    # YAML as a user gives it; what `render --out` may delete
    ("yaml_io", "owned_folder"),
    # the one Kubernetes adapter (a kubeconfig is read through yaml_io); what Flux applies from Git
    ("kube", "fluxtree"),
    # the validated model
    ("model",),
    # the project and its stacks: finding Pulumi.yaml, the stack files, loading one into the model
    ("project",),
    # what an upgrade of Flux reads and plans (the builders gate the API versions on its plan)
    ("upgrade",),
    # pure builders: model in, manifests out
    ("manifests",),
    ("kustomize_cache", "schemas"),
    ("flux_layer", "importer"),
    ("newcluster", "review", "devcluster", "poller"),
    ("operations",),
    ("cli",),
    # the Pulumi program
    ("components",),
    ("__main__",),
)
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}


def _room(module: str) -> str | None:
    """The room of a module of this project: `eoepca_gitops.poller.loop` -> `poller`; None outside."""
    parts = module.split(".")
    if parts[0] == "eoepca_gitops":
        return parts[1] if len(parts) > 1 else None
    return parts[0] if parts[0] in ("components", "__main__") else None


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(
        [*(REPO_ROOT / "eoepca_gitops").rglob("*.py"), *(REPO_ROOT / "components").rglob("*.py")]
    ):
        yield ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts), path
    yield "__main__", REPO_ROOT / "__main__.py"


def _imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
                yield from ((node.lineno, f"{module}.{alias.name}") for alias in node.names)
            else:  # `from eoepca_gitops import yaml_io` imports the room yaml_io
                yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def _upward() -> list[str]:
    found = []
    for module, path in _modules():
        room = _room(module)
        assert room is not None
        for line, imported in _imports(module, path):
            target = _room(imported)
            if target is None or target == room or target not in FLOOR:  # no floor: the test above
                continue
            if FLOOR[target] >= FLOOR[room]:
                found.append(f"{path.relative_to(REPO_ROOT)}:{line}: {room} imports {imported} ({target})")
    return found


def test_every_room_has_a_floor() -> None:
    rooms = {_room(module) for module, _ in _modules()} - {None}
    assert rooms - FLOOR.keys() == set(), "give the new room a floor in FLOORS"
    assert FLOOR.keys() - rooms == set(), "a room in FLOORS is gone: take it out"


def test_no_import_runs_up_or_sideways() -> None:
    assert _upward() == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from eoepca_gitops.kube.cluster import ClusterAccess\n", []),
        (
            "from eoepca_gitops.operations.cluster import ClusterAccess\n",
            ["eoepca_gitops.operations.cluster.ClusterAccess"],
        ),
        ("from ..operations import cluster\n", ["eoepca_gitops.operations.cluster"]),
        ("from eoepca_gitops import operations\n", ["eoepca_gitops.operations"]),
        ("def f() -> None:\n    import eoepca_gitops.cli.common\n", ["eoepca_gitops.cli.common"]),
        ("if TYPE_CHECKING:\n    from eoepca_gitops.devcluster import x\n", ["eoepca_gitops.devcluster.x"]),
    ],
)
def test_the_check_sees_an_import_up_or_sideways_wherever_it_is(
    source: str, expected: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("eoepca_gitops/poller", "eoepca_gitops/kube", "components"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "eoepca_gitops" / "poller" / "takeover.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", tmp_path)
    assert [line.split(" imports ")[1].split(" (")[0] for line in _upward()] == expected
