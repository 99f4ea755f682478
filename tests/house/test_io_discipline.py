"""The wrong way is hard to write: a product module that reads a file, walks a tree or prints other
than through the project's primitives fails this test.

- reading: eoepca_gitops.files (read_bytes, read_file, read_text: regular files only, bounded,
  UTF-8 with one clear error; `inside` for what must stay in a tree) and yaml_io.load_file /
  load_all_file for YAML;
- walking: files.walk / files.files_under (depth, size, loops, names checked);
- writing: files.write_file / write_files (no symlink followed, whole or not at all);
- printing: eoepca_gitops.cli.common (show, say, fail, stdout_console: credentials redacted, control
  characters escaped); the poller's log lines through poller.log.

Found in the syntax tree, each call resolved through the module's imports, so a new module is
checked without anyone listing it. ALLOWED below is the whole of the exceptions, each with its
reason.
"""

from __future__ import annotations

import ast
import builtins

import pytest

from tests.helpers import REPO_ROOT

PRODUCT = sorted([*(REPO_ROOT / "eoepca_gitops").rglob("*.py"), *(REPO_ROOT / "components").rglob("*.py")])

_READ = "files.read_bytes / read_file / read_text, or yaml_io.load_file"
_WRITE = "files.write_file / write_files"
_WALK = "files.walk / files_under"
_PRINT = "cli.common.show / say / fail"
# Functions by their full name, and what to use instead.
FUNCTIONS = {
    "open": _READ,
    "print": _PRINT,
    "input": "a command option",
    "io.open": _READ,
    "os.open": _READ,
    "os.fdopen": _WRITE,
    "os.walk": _WALK,
    "os.fwalk": _WALK,
    "os.scandir": _WALK,
    "glob.glob": _WALK,
    "glob.iglob": _WALK,
    "shutil.copy": _WRITE,
    "shutil.copy2": _WRITE,
    "shutil.copyfile": _WRITE,
    "shutil.copytree": _WRITE,
    "tempfile.NamedTemporaryFile": _WRITE,
    "tempfile.mkstemp": _WRITE,
    "tarfile.open": "tarfile.open(fileobj=...) of bytes read through files",
    "yaml.load": "yaml_io.load / load_file",
    "yaml.load_all": "yaml_io.load_all / load_all_file",
    "yaml.safe_load": "yaml_io.load / load_file",
    "yaml.safe_load_all": "yaml_io.load_all / load_all_file",
    "yaml.full_load": "yaml_io.load / load_file",
    "yaml.unsafe_load": "yaml_io.load / load_file",
    "json.load": "files.read_bytes, then json.loads",
    "typer.echo": _PRINT,
    "typer.secho": _PRINT,
    "click.echo": _PRINT,
    "click.secho": _PRINT,
    "sys.stdout.write": _PRINT,
    "sys.stderr.write": _PRINT,
    "logging.StreamHandler": "poller.log.configure",
    "rich.console.Console": "cli.common.stdout_console",
}
# Methods (of a path, a file) by name, whatever they are called on.
METHODS = {
    "read_text": _READ,
    "read_bytes": _READ,
    "write_text": _WRITE,
    "write_bytes": _WRITE,
    "open": _READ,
    "rglob": _WALK,
    "walk": _WALK,
}
# The exceptions: (module, call) -> why.
ALLOWED = {
    ("eoepca_gitops/files.py", "os.open"): "the one reader and writer",
    ("eoepca_gitops/files.py", "os.fdopen"): "the one writer",
    ("eoepca_gitops/files.py", "os.scandir"): "the one tree walker",
    ("eoepca_gitops/yaml_io.py", "yaml.load"): "the one YAML loader (of text read through files)",
    ("eoepca_gitops/yaml_io.py", "yaml.load_all"): "the one YAML loader (of text read through files)",
    ("eoepca_gitops/cli/common.py", "typer.echo"): "the one output path",
    ("eoepca_gitops/cli/common.py", "rich.console.Console"): "the one output path",
    ("eoepca_gitops/cli/__init__.py", "sys.stderr.write"): "Ctrl-C before the commands are imported",
    ("eoepca_gitops/poller/log.py", "logging.StreamHandler"): "the poller's JSON lines, each redacted",
    ("eoepca_gitops/fluxtree/fetch.py", ".open"): "urllib's OpenerDirector.open: an HTTP request, not a file",
}
# The local dev cluster (`eoepca-gitops dev-cluster`): its own state folder, its processes' logs and
# progress lines; no user input reaches it.
ALLOWED_PACKAGES = ("eoepca_gitops/devcluster/",)


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> full name, for every import of the module (at any depth)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {
                (a.asname or a.name.split(".")[0]): (a.name if a.asname else a.name.split(".")[0])
                for a in node.names
            }
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names}
    return names


def _dotted(node: ast.expr) -> list[str] | None:
    """[name, attr, attr, ...] of `a.b.c`, or None when it is not made of names."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute) and (inner := _dotted(node.value)) is not None:
        return [*inner, node.attr]
    return None


def _calls(rel: str, source: str) -> list[tuple[ast.Call, str, str]]:
    """(call, what it calls, what to use instead) for each call the rules above name."""
    tree = ast.parse(source, rel)
    imports = _imports(tree)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts = _dotted(node.func)
        if parts and parts[0] in imports:
            full = ".".join([imports[parts[0]], *parts[1:]])
        elif parts and len(parts) == 1 and parts[0] not in defined and hasattr(builtins, parts[0]):
            full = parts[0]
        else:
            full = ""
        if full in FUNCTIONS:
            if full == "tarfile.open" and any(k.arg == "fileobj" for k in node.keywords):
                continue
            found.append((node, full, FUNCTIONS[full]))
        elif not full and isinstance(node.func, ast.Attribute) and node.func.attr in METHODS:
            found.append((node, f".{node.func.attr}", METHODS[node.func.attr]))
    return found


def violations(rel: str, source: str) -> list[str]:
    """What module `rel` (its text `source`) does that it may not."""
    if rel.startswith(ALLOWED_PACKAGES):
        return []
    return [
        f"{rel}:{node.lineno}: {what}() -- use {instead}"
        for node, what, instead in _calls(rel, source)
        if (rel, what) not in ALLOWED
    ]


def _product() -> list[tuple[str, str]]:
    return [(p.relative_to(REPO_ROOT).as_posix(), p.read_text()) for p in PRODUCT]


def test_product_modules_read_walk_and_print_only_through_the_primitives() -> None:
    found = [v for rel, source in _product() for v in violations(rel, source)]
    assert not found, "\n".join(found)


def test_every_exception_is_still_needed() -> None:
    """An allowed call that is gone leaves its entry behind: the list stays the whole truth."""
    used = {(rel, what) for rel, source in _product() for _, what, _ in _calls(rel, source)}
    assert set(ALLOWED) <= used, set(ALLOWED) - used


@pytest.mark.parametrize(
    ("code", "caught"),
    [
        ("from pathlib import Path\nPath('x').read_text()", ".read_text"),
        ("open('x')", "open"),
        ("print('x')", "print"),
        ("import typer\ntyper.echo('x')", "typer.echo"),
        ("import os\nos.walk('.')", "os.walk"),
        ("from os import walk as w\nw('.')", "os.walk"),
        ("path.rglob('*')", ".rglob"),
        ("import yaml\nyaml.safe_load(handle)", "yaml.safe_load"),
        ("import json\njson.load(handle)", "json.load"),
        ("from rich.console import Console\nConsole()", "rich.console.Console"),
        ("import sys\nsys.stderr.write('x')", "sys.stderr.write"),
        ("import tarfile\ntarfile.open('x.tar')", "tarfile.open"),
    ],
)
def test_the_lint_catches_each_form(code: str, caught: str) -> None:
    [found] = violations("eoepca_gitops/new_module.py", f"{code}\n")
    assert f": {caught}()" in found


@pytest.mark.parametrize(
    "code",
    [
        "from eoepca_gitops.files import read_text\nread_text(root, 'x')",
        "from eoepca_gitops import files\nfiles.read_bytes('x')",
        "import tarfile, io\ntarfile.open(fileobj=io.BytesIO(b''))",
        "console.print(table)",
        "def print(x): ...\nprint(1)",
    ],
)
def test_the_primitives_pass(code: str) -> None:
    assert violations("eoepca_gitops/new_module.py", f"{code}\n") == []
