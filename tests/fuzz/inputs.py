"""What the fuzzer generates: hostile values, stack and block files, Flux trees, state files,
file-system shapes and command lines (hypothesis strategies), and how each is laid into a World.

A scenario is data (frozen dataclasses of plain values), so that hypothesis can shrink it and a
failure prints as the case to add to tests/cli/test_hostile_inputs.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.fuzz.world import SECRET, World

NS = "eoepca-gitops"


# -- values -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Long:
    """`text` repeated `times` times, shown short in a failing case."""

    text: str
    times: int

    def __str__(self) -> str:
        return self.text * self.times


def expand(value: Any) -> Any:
    """`value` with each Long made the string it stands for."""
    if isinstance(value, Long):
        return str(value)
    if isinstance(value, dict):
        return {expand(k): expand(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [expand(v) for v in value]
    return value


CREDENTIALS = (
    f"https://user:{SECRET}@example.org/r.git",
    f"https://{SECRET}@example.org/r.git",
    f"https://ci:pass {SECRET}@example.org/r.git",  # a password with a space
    f"https://ci:pass\t{SECRET}@example.org/r.git",  # and with a tab
    f"ssh://git:{SECRET}@example.org/r",
    f"https://example.org/r.git?access_token={SECRET}",
    f"Authorization: Bearer {SECRET}",
    f"Bearer {SECRET}",
    f"https://hooks.slack.com/services/T0/B0/{SECRET}",
    f"-----BEGIN RSA PRIVATE KEY-----\n{SECRET}\n-----END RSA PRIVATE KEY-----\n",
    f"postgres://app:{SECRET}@db:5432/x",
)
ODD_STRINGS = (
    "",
    " ",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "999.1.1.1",
    "10.0.0",
    "1.2.3\n",
    "-1",
    "v2.9.3\nx",
    "\x1b[2J\x1b]0;pwned\x07",
    "a\nb",
    "a\tb",
    "\u202eevil",
    "\x00",
    "${x}",
    "$${x}",
    "${",
    "${a:=${b}}",
    "../../../outside",
    "../../../../outside/secret.yaml",
    "/etc/passwd",
    "/dev/zero",
    "~root",
    "*",
    "&a",
    "!!binary",
    "@x",
    "%x",
    "x: y",
    "- x",
    "? x",
    "#x",
    "'",
    '"',
    "\\",
    "ü" * 3,
    Long("a", 300),
    Long("a.", 2000),
    Long("x", 70_000),
    Long("https://example.org/a", 3000),
    Long("9", 5000),
)


def scalars(secret: bool) -> st.SearchStrategy[Any]:
    """A hostile leaf value; with `secret`, sometimes a planted credential."""
    leaves: list[st.SearchStrategy[Any]] = [
        st.sampled_from(ODD_STRINGS),
        st.text(max_size=20),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
    ]
    if secret:
        leaves.append(st.sampled_from(CREDENTIALS))
    return st.one_of(leaves)


def values(secret: bool) -> st.SearchStrategy[Any]:
    """A hostile YAML value: a leaf, or lists and mappings of them."""
    return st.recursive(
        scalars(secret),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(("a", "name", "url", "password", "")), inner, max_size=4),
        ),
        max_leaves=8,
    )


# Text of a YAML file, whole: what the YAML loader and the file reader must refuse in one line.
_RAW_YAML = (
    b"",
    b"\xef\xbb\xbf",
    b"- config\n",
    b"config: 1\n",
    b"config: []\n",
    b"config: {1: 2}\n",
    b"config:\n  " + NS.encode() + b":cluster: {name: test, publicIp: " + b"9" * 5000 + b"}\n",
    b"config:\n  x: !!int abc\n",
    b"config:\n  x: !!float abc\n",
    b"config:\n  x: !!binary '%%%'\n",
    b"config:\n  x: !!timestamp nope\n",
    b"config:\n  x: !!python/object:os.system x\n",
    b"config:\n  ? [a, b]\n  : c\n",
    b"config: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    b"config: " + b"{a: " * 300 + b"1" + b"}" * 300 + b"\n",
    b"a: &a [x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n".encode()
        for p, n in zip("abcdefg", "bcdefgh", strict=True)
    ),
    b"config:\n  a: &a [*a]\n",
    b"config:\n\tb: 1\n",
    b"config:\n  a: b\x07\n",
    b"config:\n  name: caf\xe9\n",
    b"config:\n  a: 1\n  a: 2\n",
    b"\x00\x01\x02",
    b"%YAML 9.9\n---\nconfig: {}\n",
    b"--- !!set\n? a\n",
    b"config: *nothing\n",
)
# By a short name: a failing case names the text instead of showing it.
RAW_YAML = {f"raw-{n}": text for n, text in enumerate(_RAW_YAML)}

# -- file-system shapes -----------------------------------------------------------------------------
SHAPES = (
    "fifo",
    "dev-zero",
    "dev-null",
    "link-outside-file",
    "link-outside-dir",
    "link-outside-fifo",
    "loop",
    "dangling",
    "deep",
    "very-deep",
    "folder",
    "empty",
    "huge",
    "odd-name",
)


@dataclass(frozen=True)
class Shape:
    path: str  # relative to the world's root, with {project}
    kind: str


def lay_shape(w: World, shape: Shape) -> None:
    """Replaces what is at `shape.path` by the shape (see SHAPES)."""
    path = w.path(shape.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(path):
        if stat.S_ISDIR(os.lstat(path).st_mode):
            subprocess.run(["rm", "-rf", str(path)], check=True)
        else:
            path.unlink()
    kind = shape.kind
    if kind == "fifo":
        os.mkfifo(path)
    elif kind in ("dev-zero", "dev-null"):
        path.symlink_to(f"/dev/{kind[4:]}")
    elif kind == "link-outside-file":
        path.symlink_to(w.outside / "secret.yaml")
    elif kind == "link-outside-dir":
        path.symlink_to(w.outside)
    elif kind == "link-outside-fifo":
        path.symlink_to(w.outside / "trap.yaml")
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "dangling":
        path.symlink_to(w.root / "nowhere")
    elif kind in ("deep", "very-deep"):
        chain(path, 80 if kind == "deep" else 10_000)
    elif kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "huge":  # sparse: 64 MiB that take no room
        with path.open("wb") as handle:
            handle.truncate(64 * 1024 * 1024)
    elif kind == "odd-name":
        path.mkdir()
        for name in (b"caf\xe9.yaml", b"esc\x1b[2J.yaml", b"new\nline.yaml"):
            (path / os.fsdecode(name)).write_bytes(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")


def chain(top: Path, depth: int) -> None:
    """`top`/d/d/.../d (depth folders) with a manifest at the bottom, made through folder descriptors
    (the whole path is longer than a path may be)."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("x.yaml", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\n")
        os.close(out)
    finally:
        os.close(fd)


# -- YAML documents -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Edit:
    """One change to a YAML document: set `path` (dotted, `[n]` for a list item) to `value`, or
    (`raw`) replace the whole file by these bytes."""

    path: str = ""
    value: Any = None
    raw: str | None = None  # a key of RAW_YAML


def _set(doc: Any, path: str, value: Any) -> Any:
    parts = path.replace("[", ".[").split(".")
    if not isinstance(doc, dict):
        doc = {}
    node: Any = doc
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(node, list) or len(node) <= index:
                return doc
            if last:
                node[index] = value
            else:
                node = node[index]
            continue
        if not isinstance(node, dict):
            return doc
        if last:
            node[part] = value
        else:
            if not isinstance(node.get(part), dict | list):
                node[part] = {}
            node = node[part]
    return doc


def load(path: Path) -> Any:
    """A YAML file as the fuzzer reads what it laid: None when it is no YAML the fuzzer can edit."""
    try:
        return yaml.safe_load(path.read_bytes()) if path.is_file() else None
    except Exception:
        return None


def apply(path: Path, edits: tuple[Edit, ...], prefix: str = "") -> None:
    """The YAML file at `path` with `edits` made (`prefix`: of each dotted path's first key); a raw
    edit replaces the file once the others are made."""
    if not edits:
        return
    doc: Any = load(path) or {}
    raw: bytes | None = None
    for edit in edits:
        if edit.raw is not None:
            raw = RAW_YAML[edit.raw]
            continue
        first, _, rest = edit.path.partition(".")
        key = f"{prefix}{first}" if prefix else first
        if prefix:
            doc = doc if isinstance(doc, dict) else {}
            config = doc.setdefault("config", {})
            config[key] = _set({"v": config.get(key)}, f"v.{rest}" if rest else "v", expand(edit.value))["v"]
        else:
            doc = _set(doc, edit.path, expand(edit.value))
    if raw is not None:
        path.write_bytes(raw)
        return
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=False))


STACK_PATHS = (
    "cluster", "cluster.name", "cluster.publicIp", "cluster.domain", "cluster.nfs.server",
    "flux", "flux.version", "flux.manifest", "flux.namespace", "flux.patches.source-controller",
    "flux.components", "flux.registry", "git", "git.url", "git.branch", "git.path", "git.auth",
    "git.auth.type", "git.tag", "git.interval", "blocks", "overrides.portal.suspend",
    "overrides.portal.substitute", "overrides.portal.releases.eoepca-portal.version",
    "overrides.portal.releases.eoepca-portal.values", "variables", "notifications.providers",
    "charts.mirror", "buckets", "kubeconfig", "kubeContext", "await", "driftExempt", "poller",
    "poller.env", "poller.gitUrl", "gitSshPrivateKey", "x-unknown", "x-unknown.secure",
)  # fmt: skip
BLOCK_PATHS = (
    "name", "namespaces", "dependsOn", "kustomization.path", "kustomization.substitute",
    "kustomization.substituteFrom", "kustomization.components", "helmReleases[0].name",
    "helmReleases[0].namespace", "helmReleases[0].version", "helmReleases[0].chart",
    "helmReleases[0].sourceRef", "helmReleases[0].values", "helmReleases[0].releaseName",
    "helmRepositories", "x-unknown",
)  # fmt: skip
# Paths whose values a chart reads as it likes: a credential there is written as given.
CHART_VALUES = ("values",)


def edits(paths: tuple[str, ...]) -> st.SearchStrategy[tuple[Edit, ...]]:
    one = st.one_of(
        st.builds(lambda p, v: Edit(p, v), st.sampled_from(paths), st.deferred(lambda: values(False))),
        st.builds(
            lambda p, v: Edit(p, v), st.sampled_from(paths).filter(lambda p: "values" not in p), values(True)
        ),
        st.builds(lambda r: Edit(raw=r), st.sampled_from(sorted(RAW_YAML))),
    )
    return st.lists(one, min_size=1, max_size=3).map(tuple)


# -- state files --------------------------------------------------------------------------------------
def _state(stack: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "stacks": {"s": {"stack": "s", **stack}}}


STATE_FIELDS = (
    "git_revision", "applied_revision", "failures", "retry_at", "last_error", "drift", "drift_items",
    "in_progress", "notes", "conditions", "last_attempt_at",
)  # fmt: skip
CONDITIONS = (
    [{"type": "Stalled", "status": True, "reason": "TooManyFailures", "message": "x"}],
    [{"type": "Ready", "status": False, "reason": "DriftDetected"}],
    [{"type": "Nope", "status": True, "reason": "Synced"}],
    [{"type": "Ready", "status": "yes", "reason": "Synced"}],
    [{"type": "Ready"}],
    ["Ready"],
    {"type": "Ready"},
)


def state_documents() -> st.SearchStrategy[bytes]:
    json_values = st.recursive(
        scalars(True).filter(lambda v: not (isinstance(v, float) and v != v)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )
    field_edit = st.builds(
        lambda f, v: _state({f: v}),
        st.sampled_from(STATE_FIELDS),
        st.one_of(json_values, st.sampled_from(CONDITIONS), st.just({"operation": "update"})),
    )
    documents = st.one_of(
        field_edit,
        st.builds(lambda v: {"stacks": v}, json_values),
        json_values,
        st.just({"stacks": []}),
        st.just(_state({"last_error": f"git ls-remote https://u:{SECRET}@h/r: denied", "failures": 2})),
        st.just(_state({"conditions": CONDITIONS[0]})),
    )
    texts = documents.map(lambda d: json.dumps(expand(d)).encode())
    return st.one_of(
        texts,
        st.sampled_from(
            (
                b"{nope",
                b"\xff\xfe",
                b"[" * 100_000 + b"]" * 100_000,
                b'{"stacks": {"s": ' * 3000,
                b"1" * 5000,
                b"",
            )
        ),
    )


# -- arguments ----------------------------------------------------------------------------------------
STACK_NAMES = ("test", "../x", "nope", "", "-", "a" * 101, "x\x1by", "Pulumi", "te st", "test.yaml")
# Folders a command may be told to write into (render --out, import --out), by a name the world
# resolves: new ones, the world's own, and what is refused outright.
OUT_FOLDERS = (
    "{root}/out",
    "{root}/out/deeper/still",
    ".",
    "..",
    "{project}",
    "{root}",
    "{home}",
    "/",
    "{project}/Pulumi.yaml",
    "{project}/Pulumi.yaml/x",
    "/proc/eoepca/out",
    "{root}/out-link",
    "{root}/out-fifo",
    "{root}/caf\udce9",
    "{root}/" + "n" * 300,
    "{outside}",
    "{root}/state",
)


def lay_out_folder(w: World, choice: str) -> None:
    """What some OUT_FOLDERS choices need in the world before the command runs."""
    if choice == "{root}/out-link":
        (w.root / "out-link").symlink_to(w.outside)
    elif choice == "{root}/out-fifo":
        os.mkfifo(w.root / "out-fifo")


Layer = Callable[[World], None]
