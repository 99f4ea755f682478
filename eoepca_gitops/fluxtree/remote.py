"""Remote resources of a kustomization file: what kustomize fetches instead of reading the repository.

`classify(entry)` reads an entry as kustomize does (its loader and its Git URL parser): an HTTP(S)
URL is fetched as a file (and cloned as a Git repository when that fails and the URL names one);
a URL or scp-like address kustomize's parser accepts as a Git repository (`ssh://`, `file://`,
`git::`, `user@host:org/repo`, `github.com/org/repo`, with `//path`, `_git/`, `.git` and `?ref=` /
`?version=`) is cloned; anything else is a local path. Only entries that may name a folder
(resources, bases, components, generators, transformers, validators) can be a Git repository; any
field kustomize loads a file from reads an HTTP(S) URL over the network.

Pure: nothing here reads a file or the network. A folder whose kustomization names a remote
resource is built by Flux at apply time; offline it is a stand-in object (`standin`) that says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FETCHED_ANNOTATION",
    "REMOTE_ANNOTATION",
    "Remote",
    "RemoteUse",
    "classify",
    "fetched_with",
    "is_standin",
    "standin",
]

_SCHEMES = ("ssh://", "https://", "http://", "file://")
_USER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*@")
REMOTE_ANNOTATION = "eoepca-gitops.io/remote"
_URLS_ANNOTATION = "eoepca-gitops.io/remote-urls"
#: On each object built from a folder whose remote resources were fetched (import --fetch-remote):
#: that folder, which the project carries unchanged (Flux builds it at apply time).
FETCHED_ANNOTATION = "eoepca-gitops.io/fetched-with"
_STANDIN_NOTE = "built by Flux at apply time: its objects are unknown offline"


@dataclass(frozen=True)
class Remote:
    """A remote resource as kustomize reads it."""

    entry: str  # as written
    kind: Literal["http", "git"]  # fetched over HTTP(S) first, or cloned
    repo: str  # what kustomize clones ("" when the URL names no Git repository)
    path: str  # the folder in the repository kustomize builds
    ref: str  # the branch, tag or commit (?ref= or ?version=; "" for the default branch)


@dataclass(frozen=True)
class RemoteUse:
    """One remote entry of a kustomization file of a tree."""

    folder: str  # the kustomization's folder, relative to the repository
    file: str  # the kustomization file (or the Flux Kustomization), relative to the repository
    line: int  # of the entry in it (0: not known)
    key: str  # resources[0], ...
    remote: Remote


def _cut(text: str, prefix: str) -> tuple[str, bool]:
    if text[: len(prefix)].lower() == prefix:
        return text[len(prefix) :], True
    return text, False


def _host(rest: str) -> tuple[str, str] | None:
    """(scheme + user + host, the path after it) as kustomize's Git URL parser splits them."""
    rest, _ = _cut(rest, "git::")
    scheme = next((s for s in _SCHEMES if rest[: len(s)].lower() == s), "")
    rest = rest[len(scheme) :]
    user_match = _USER.match(rest)
    user = user_match.group(0) if user_match else ""
    rest = rest[len(user) :]
    github = rest[:11].lower() in ("github.com/", "github.com:")
    scp = not scheme and bool(user or github)
    if not scheme and not scp:
        return None
    if scheme == "file://":
        return scheme, user + rest
    sep = rest.find("/")
    colon = rest.find(":") if scp else -1
    if scp and (sep == -1 or 0 < colon < sep):
        sep = colon
    host, path = (rest[: sep + 1], rest[sep + 1 :]) if sep >= 0 else (rest, "")
    if github:
        scp_github = scheme == "ssh://" or bool(user)
        return (user + "github.com:", path) if scp_github else ("https://github.com/", path)
    if not host:
        return None
    return scheme + user + host, path


def _repo_and_path(host: str, rest: str) -> tuple[str, str] | None:
    """(repository path, folder in it): at `_git/<repo>`, `//`, `.git`, else after org/repo."""
    if (i := rest.find("_git/")) >= 0:
        head, _, sub = rest[i + 5 :].partition("/")
        repo, path = rest[: i + 5] + head, sub
    elif (i := rest.find("//")) >= 0:
        repo, path = rest[:i], rest[i + 2 :]
    elif (i := rest.find(".git")) >= 0:
        repo, path = rest[: i + 4], rest[i + 4 :]
    elif host.startswith("file://"):
        repo, path = rest, ""
    else:
        parts = rest.split("/")
        if len(parts) < 2:
            return None
        repo, path = "/".join(parts[:2]), "/".join(parts[2:])
    path = path.removeprefix("/")
    clean = PurePosixPath(path.lstrip("/")).parts if path else ()
    if not repo or (clean and clean[0] == ".."):
        return None
    return repo, path


def _git(entry: str) -> tuple[str, str, str] | None:
    """(clone URL, folder, ref) when kustomize reads `entry` as a Git repository."""
    if entry.startswith("/"):
        return None
    address, _, query = entry.partition("?")
    split = _host(address)
    if split is None:
        return None
    parts = _repo_and_path(*split)
    if parts is None:
        return None
    values = parse_qs(query)
    ref = (values.get("ref") or [""])[0] or (values.get("version") or [""])[0]
    return split[0] + parts[0], parts[1], ref


def classify(entry: str, may_be_folder: bool = True) -> Remote | None:
    """How kustomize reads a kustomization entry: a Remote, or None for a local path.

    `may_be_folder`: the field may name a folder (resources, bases, components, generators,
    transformers, validators); elsewhere only an HTTP(S) URL is fetched.
    """
    try:
        scheme = urlsplit(entry).scheme.lower()
    except ValueError:
        scheme = ""
    git = _git(entry) if may_be_folder else None
    if scheme in ("http", "https"):
        return Remote(entry, "http", *(git or ("", "", "")))
    if git is None:
        return None
    return Remote(entry, "git", *git)


def standin(folder: str, kustomization: Mapping[str, Any], uses: Sequence[RemoteUse]) -> dict[str, Any]:
    """What the offline Git layer shows for a folder Flux builds with remote resources: its
    kustomization file as written, named after the folder, saying what it fetches."""
    doc = {k: v for k, v in kustomization.items() if k not in ("apiVersion", "kind", "metadata")}
    return {
        "apiVersion": str(kustomization.get("apiVersion") or "kustomize.config.k8s.io/v1beta1"),
        "kind": "Kustomization",
        "metadata": {
            "name": folder,
            "annotations": {
                REMOTE_ANNOTATION: _STANDIN_NOTE,
                _URLS_ANNOTATION: "\n".join(sorted({u.remote.entry for u in uses})),
            },
        },
        **doc,
    }


def is_standin(obj: Mapping[str, Any]) -> bool:
    """Whether an object of the offline Git layer stands in for a folder Flux builds remotely."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(obj.get("apiVersion", "")).startswith("kustomize.config.k8s.io/") and (
        REMOTE_ANNOTATION in annotations
    )


def fetched_with(obj: Mapping[str, Any]) -> str | None:
    """The folder whose fetched build `obj` comes from (FETCHED_ANNOTATION), else None."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    found = annotations.get(FETCHED_ANNOTATION) if isinstance(annotations, Mapping) else None
    return str(found) if found is not None else None
