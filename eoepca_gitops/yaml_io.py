"""YAML as Kubernetes reads it, and the one loader of every YAML file a user gives this project.

`load`/`load_all` read text the way Kubernetes and Flux do: libyaml's scanner, the YAML 1.1 rules
Kubernetes' YAML-to-JSON step uses, timestamps and an unquoted `=` kept as the strings they were
written as (PyYAML would turn an unquoted `2019-09-10T00:00:00Z` into a datetime, and cannot load
YAML 1.1's `=` "value" key). They refuse, as a YAMLError with a
line, what would otherwise lose data or exhaust the process:

- a key given twice in one mapping (kustomize's YAML library refuses it too; PyYAML keeps the last
  one without a word);
- an alias that refers to its own anchor, and aliases that expand to more than
  MAX_ALIAS_EXPANSION nodes in all (a "billion laughs" document of a few hundred bytes);
- nesting deeper than MAX_DEPTH (libyaml's composer recurses in C and crashes the interpreter on
  a document of a few ten thousand `[`);
- an integer of more than MAX_INT_DIGITS digits (Python refuses to read one of more than 4300 as an
  int, with a ValueError deep inside the loader), and any other scalar its tag cannot read
  (`!!int abc`, `!!float x`): each a YAMLError naming the line.

`load_file`/`load_all_file` are the entry for files: stack files, block files, manifests. They read
through eoepca_gitops.files.read_file (a regular file, bounded in size, UTF-8), and turn every
problem into one ConfigError naming the file,
the line and what is wrong, with a hint for the mistakes hand edits make; they never quote the
offending line, which may hold a secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.error import Mark, MarkedYAMLError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode

from eoepca_gitops.errors import ConfigError
from eoepca_gitops.files import read_file

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "KubeLoader",
    "RefusedYamlError",
    "dump",
    "error_mark",
    "load",
    "load_all",
    "load_all_file",
    "load_file",
]

_STRINGS = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")
_MERGE = "tag:yaml.org,2002:merge"
#: Nodes that aliases may add in one document: generous for anchors in hand-written files, far
#: below what hurts (each alias of a collection copies it wherever it is used).
MAX_ALIAS_EXPANSION = 10_000
#: Nesting of collections: Kubernetes objects and CRD schemas stay below 30.
MAX_DEPTH = 100
#: Digits of an integer: Kubernetes' are 64-bit (19 digits).
MAX_INT_DIGITS = 100
# What a hand edit usually got wrong, by the start of libyaml's wording of the problem.
_HINTS = {
    "mapping values are not allowed": "a value holding ': ' must be quoted, or this line is indented "
    "deeper than the key above it",
    "could not find expected ':'": "a key needs ': ' after it; check the quotes and indentation",
    "did not find expected key": "this line is indented differently from the keys beside it",
    "found undefined alias": "'*' starts an alias in YAML: quote a value that begins with it",
    "found character that cannot start any token": "quote a value that begins with '@', '`' or '%'",
}
_TAB_HINT = "YAML indents with spaces, not tabs"


class RefusedYamlError(MarkedYAMLError):
    """Valid YAML this project will not load (see the module doc)."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class KubeLoader(Composer, yaml.CSafeLoader):
    """CSafeLoader without the timestamp and value resolvers (its other YAML 1.1 rules match Kubernetes'),
    composed by PyYAML's Python composer so that depth and aliases are counted as they are read.

    The scanner and parser stay libyaml's; composing in Python costs about 40 % of a C load.
    """

    def __init__(self, stream: str) -> None:
        yaml.CSafeLoader.__init__(self, stream)
        Composer.__init__(self)  # CSafeLoader's __init__ does not know the Python composer
        self._depth = 0
        self._composed = 0  # nodes of the document so far, aliases counted as what they expand to
        self._aliased = 0
        self._sizes: dict[Node, int] = {}  # anchored node -> its expanded size, once composed

    def compose_document(self) -> Node | None:
        self._composed = self._aliased = 0
        self._sizes = {}
        node: Node | None = super().compose_document()
        return node

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: Any = self.peek_event()
        if isinstance(event, AliasEvent):
            node: Node | None = super().compose_node(parent, index)
            size = self._sizes.get(node) if node is not None else None
            if size is None:
                raise RefusedYamlError(f"alias *{event.anchor} refers to its own anchor", event.start_mark)
            self._aliased += size
            self._composed += size
            if self._aliased > MAX_ALIAS_EXPANSION:
                raise RefusedYamlError(
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes (an alias bomb?)",
                    event.start_mark,
                )
            return node
        start = self._composed
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise RefusedYamlError(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._composed += 1
        if node is not None:
            self._sizes[node] = self._composed - start
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue  # a merge (<<) may override what it merges: that is its purpose
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # an unhashable key: the constructor below says so
            if first is not key_node.start_mark:
                raise RefusedYamlError(
                    f"key {key!r} given twice (first on line {first.line + 1})", key_node.start_mark
                )
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """A scalar its tag cannot read (`!!int abc`) is a YAMLError at its line, never a ValueError."""
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # PyYAML's constructors fail as they may (`!!timestamp x`: AttributeError)
            raise RefusedYamlError(
                f"a {node.tag.rpartition(':')[2][:40]} value that cannot be read ({type(exc).__name__})",
                node.start_mark,
            ) from None

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise RefusedYamlError(f"an integer of more than {MAX_INT_DIGITS} digits", node.start_mark)
        return super().construct_yaml_int(node)


KubeLoader.add_constructor("tag:yaml.org,2002:int", KubeLoader.construct_yaml_int)


KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _STRINGS]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=KubeLoader)
    except RecursionError:
        raise RefusedYamlError(f"nested deeper than {MAX_DEPTH} levels") from None


def load_all(text: str) -> Iterator[Any]:
    try:
        yield from yaml.load_all(text, Loader=KubeLoader)
    except RecursionError:
        raise RefusedYamlError(f"nested deeper than {MAX_DEPTH} levels") from None


class _ReviewDumper(yaml.CSafeDumper):
    """Output meant to be read in a review: a value shared by two keys is written out at both (no
    `&id001` anchors), and text of several lines as a `|` block (libyaml quotes it where a block
    cannot hold it exactly)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: _ReviewDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_ReviewDumper.add_representer(str, _str)


def dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_ReviewDumper, sort_keys=True, default_flow_style=False, width=120)


def error_mark(text: str, exc: yaml.YAMLError) -> Mark | None:
    """Where in `text` a YAML problem is; a ReaderError (a character YAML does not allow) has no
    mark, only a position, from which one is made."""
    if isinstance(exc, MarkedYAMLError):
        return exc.problem_mark or exc.context_mark
    position = getattr(exc, "position", 0)
    line_start = text.rfind("\n", 0, position) + 1
    return Mark("", position, text.count("\n", 0, position), position - line_start, "", 0)


def _refused(path: Path, text: str, exc: yaml.YAMLError) -> ConfigError:
    """One ConfigError for a YAML problem: line (and column), the problem, a hint; no quoted text."""
    mark = error_mark(text, exc)
    if isinstance(exc, MarkedYAMLError):
        problem = exc.problem or exc.context or "not valid YAML"
    else:
        problem = f"character U+{int(getattr(exc, 'character', 0)):04X} is not allowed in YAML text"
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
    hint = next((h for start, h in _HINTS.items() if problem.startswith(start)), None)
    if mark and text[mark.index : mark.index + 1] == "\t":
        hint = _TAB_HINT
    return ConfigError(str(path), where, f"not valid YAML: {problem}" + (f" ({hint})" if hint else ""))


def load_file(path: Path) -> Any:
    """The one document of a user's YAML file; ConfigError naming file and line otherwise."""
    text = read_file(path)
    try:
        return load(text)
    except yaml.YAMLError as exc:
        raise _refused(path, text, exc) from None


def load_all_file(path: Path) -> list[Any]:
    """Every document of a user's YAML file; ConfigError naming file and line otherwise."""
    text = read_file(path)
    try:
        return list(load_all(text))
    except yaml.YAMLError as exc:
        raise _refused(path, text, exc) from None
