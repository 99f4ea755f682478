"""The house rule that keeps entry points thin (issue 25): no function of the product is longer
than 80 lines. A command's signature is its flags, declared one per parameter, and does not count:
what is measured is the body, from its first statement to its last."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO_ROOT

LIMIT = 80


def _bodies() -> list[tuple[str, int]]:
    found = []
    for room in ("eoepca_gitops", "components"):
        for path in sorted((REPO_ROOT / room).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    assert node.end_lineno is not None
                    length = node.end_lineno - node.body[0].lineno + 1
                    found.append((f"{Path(path).relative_to(REPO_ROOT)}:{node.lineno} {node.name}", length))
    return found


def test_no_function_body_is_longer_than_80_lines() -> None:
    bodies = _bodies()
    assert len(bodies) > 500, "the product's functions were not found"
    assert [f"{where}: {n} lines" for where, n in bodies if n > LIMIT] == []
