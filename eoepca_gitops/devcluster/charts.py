"""Stand-in Helm charts for the local chart repository: nothing is downloaded.

For every chart and version the project's HelmReleases name (in clusters/blocks/ and in the stack
files' overrides), a small valid chart: a ConfigMap holding the release's values and a Deployment
whose replica count follows `replicaCount`, so that a change of values shows in the release and in
the cluster, and whose container takes the value `securityContext` verbatim, as real charts do (so
that a value can make a chart render an invalid object). They stand in for the real EOEPCA charts,
which this machine cannot download. Each has a values.schema.json, as real charts often do, which
Helm checks on install and upgrade (`replicaCount` a whole number, `readyAfter` a duration), and
`readyAfter: 20s` makes its pods Ready that long after they start (the dev cluster's kwok delays
them: kubernetes.py), so a release that takes a while to become Ready can be tried.
Charts whose real counterparts install CustomResourceDefinitions that the Git layer uses
(cert-manager's ClusterIssuer, sealed-secrets' SealedSecret) ship those CRDs, so a Kustomization
applying such objects can apply once that release is installed, in the same order as on a real
cluster. The repository is a folder per HelmRepository name, `<name>/index.yaml` plus the packaged
charts, served as static files over HTTP.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import semver
import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError
from eoepca_gitops.model import defaults
from eoepca_gitops.model.loader import load_blocks

__all__ = [
    "READY_AFTER",
    "ChartRef",
    "charts_of_project",
    "package",
    "pick_version",
    "repositories_of_project",
    "server_argv",
    "write_repository",
]


@dataclass(frozen=True, order=True)
class ChartRef:
    repository: str  # the HelmRepository's name: the folder of the chart repository
    chart: str
    version: str  # a concrete version (ranges are resolved by pick_version)


# Kinds the Git layer applies that the real chart installs the CRD for: (group, version, kind, plural, scope).
_CRDS_OF_CHART: Mapping[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "cert-manager": (
        ("cert-manager.io", "v1", "ClusterIssuer", "clusterissuers", "Cluster"),
        ("cert-manager.io", "v1", "Issuer", "issuers", "Namespaced"),
        ("cert-manager.io", "v1", "Certificate", "certificates", "Namespaced"),
    ),
    "sealed-secrets": (("bitnami.com", "v1alpha1", "SealedSecret", "sealedsecrets", "Namespaced"),),
}

#: The pod annotation from `readyAfter` that delays a stand-in pod's readiness (a Go duration).
READY_AFTER = "eoepca-gitops/ready-after"

_VALUES_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "replicaCount": {"type": "integer", "minimum": 0},
        "readyAfter": {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"},
    },
}

_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-values
  labels:
    app.kubernetes.io/managed-by: {{ .Release.Service }}
    eoepca-gitops/stand-in: {{ .Chart.Name }}
data:
  chart: {{ .Chart.Name }}-{{ .Chart.Version }}
  values.yaml: |
{{ toYaml .Values | indent 4 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    eoepca-gitops/stand-in: {{ .Chart.Name }}
spec:
  replicas: {{ int (.Values.replicaCount | default 1) }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
      {{- with .Values.readyAfter }}
      annotations:
        eoepca-gitops/ready-after: {{ . | quote }}
      {{- end }}
    spec:
      containers:
        - name: stand-in
          image: registry.invalid/eoepca-gitops/stand-in/{{ .Chart.Name }}:{{ .Chart.Version }}
          {{- with .Values.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
"""

_COMPARATOR = re.compile(r"^(>=|<=|!=|>|<|=|~|\^)?\s*v?([0-9x*]+(?:\.[0-9x*]+){0,2})$")


def _full(version: str) -> semver.Version:
    parts = [p for p in version.split(".") if p not in ("x", "*")]
    return semver.Version(*(int(p) for p in [*parts, "0", "0", "0"][:3]))


def _candidates(spec: str) -> list[semver.Version]:
    out: list[semver.Version] = []
    for word in re.split(r"[\s,|]+", spec):
        found = _COMPARATOR.match(word) if word else None
        if not found:
            continue
        v = _full(found.group(2))
        out += [v, v.bump_patch(), v.bump_minor(), v.bump_major()]
        if v.patch:
            out.append(v.replace(patch=v.patch - 1))
        elif v.minor:
            out.append(v.replace(minor=v.minor - 1))
        elif v.major:
            out.append(v.replace(major=v.major - 1))
    return out


def _satisfies(v: semver.Version, spec: str) -> bool:
    for alternative in spec.split("||"):
        words = [w for w in re.split(r"[\s,]+", alternative.strip()) if w]
        if words and all(_matches(v, w) for w in words):
            return True
    return False


def _matches(v: semver.Version, word: str) -> bool:
    found = _COMPARATOR.match(word)
    if not found:
        return False
    op, raw = found.group(1) or "=", found.group(2)
    bound = _full(raw)
    wildcard = raw.count(".") < 2 or any(p in ("x", "*") for p in raw.split("."))
    if op == "~":
        return bound <= v < bound.bump_minor()
    if op == "^":
        return bound <= v < bound.bump_major()
    if op == "=" and wildcard:
        fixed = [p for p in raw.split(".") if p not in ("x", "*")]
        return [v.major, v.minor, v.patch][: len(fixed)] == [int(p) for p in fixed]
    return {
        "=": v == bound,
        "!=": v != bound,
        ">": v > bound,
        ">=": v >= bound,
        "<": v < bound,
        "<=": v <= bound,
    }[op]


def pick_version(spec: str) -> str:
    """A concrete version satisfying a chart version or Helm range (`1.2.3`, `<4.5.0`, `~1.2`, `^2`)."""
    exact = spec.strip().removeprefix("v")
    if semver.Version.is_valid(exact):
        return exact
    fitting = sorted({v for v in _candidates(spec) if _satisfies(v, spec)})
    if not fitting:
        raise GitopsError(f"chart version {spec!r}: no version found that satisfies it")
    return str(fitting[-1])


def repositories_of_project(project: Path) -> set[str]:
    """The name of every HelmRepository the blocks of `project` declare (each gets an index)."""
    return {
        repo.name
        for block, _ in load_blocks(project / defaults.BLOCKS_DIR).values()
        for repo in block.helm_repositories
    }


def charts_of_project(project: Path) -> list[ChartRef]:
    """Every chart version the blocks of `project` and its stack files' overrides name."""
    blocks = load_blocks(project / defaults.BLOCKS_DIR)
    wanted: set[ChartRef] = set()
    overridden: dict[tuple[str, str], set[str]] = {}
    for stack_file in sorted(project.glob("Pulumi.*.yaml")):
        config = (yaml_io.load_file(stack_file) or {}).get("config") or {}
        overrides = config.get(f"{defaults.CONFIG_NAMESPACE}:overrides") or {}
        for block_name, override in overrides.items() if isinstance(overrides, dict) else ():
            for release, change in ((override or {}).get("releases") or {}).items():
                if isinstance(change, dict) and change.get("version"):
                    overridden.setdefault((str(block_name), str(release)), set()).add(str(change["version"]))
    for block, _file in blocks.values():
        for release in block.helm_releases:
            if release.source_ref.kind != "HelmRepository":
                continue
            for version in {release.version, *overridden.get((block.name, release.name), set())}:
                wanted.add(ChartRef(release.source_ref.name, release.chart, pick_version(version)))
    return sorted(wanted)


def _add(tar: tarfile.TarFile, name: str, content: str) -> None:
    data = content.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


def _crd(group: str, version: str, kind: str, plural: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def package(chart: str, version: str) -> bytes:
    """The .tgz of the stand-in chart `chart` at `version`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.USTAR_FORMAT) as tar:
        _add(
            tar,
            f"{chart}/Chart.yaml",
            yaml_io.dump(
                {
                    "apiVersion": "v2",
                    "name": chart,
                    "version": version,
                    "appVersion": version,
                    "description": f"Stand-in for the {chart} chart (eoepca-gitops dev cluster)",
                }
            ),
        )
        _add(tar, f"{chart}/values.yaml", "replicaCount: 1\n")
        _add(tar, f"{chart}/values.schema.json", json.dumps(_VALUES_SCHEMA, indent=2))
        _add(tar, f"{chart}/templates/stand-in.yaml", _TEMPLATE)
        for spec in _CRDS_OF_CHART.get(chart, ()):
            _add(tar, f"{chart}/crds/{spec[3]}.{spec[0]}.yaml", yaml_io.dump(_crd(*spec)))
    return buffer.getvalue()


def write_repository(charts: Iterable[ChartRef], root: Path, repositories: Iterable[str] = ()) -> int:
    """Writes the charts and one index.yaml per repository under `root` (also for `repositories`
    no chart is taken from, which Flux fetches all the same); returns how many charts."""
    by_repo: dict[str, list[ChartRef]] = {name: [] for name in repositories}
    for ref in charts:
        by_repo.setdefault(ref.repository, []).append(ref)
    for repository, refs in by_repo.items():
        folder = root / repository
        folder.mkdir(parents=True, exist_ok=True)
        entries: dict[str, list[dict[str, Any]]] = {}
        for ref in sorted(refs):
            data = package(ref.chart, ref.version)
            file = f"{ref.chart}-{ref.version}.tgz"
            (folder / file).write_bytes(data)
            entries.setdefault(ref.chart, []).append(
                {
                    "apiVersion": "v2",
                    "name": ref.chart,
                    "version": ref.version,
                    "appVersion": ref.version,
                    "created": "1970-01-01T00:00:00Z",
                    "digest": hashlib.sha256(data).hexdigest(),
                    "urls": [file],
                }
            )
        index = {"apiVersion": "v1", "entries": entries, "generated": "1970-01-01T00:00:00Z"}
        tmp = folder / "index.yaml.tmp"
        tmp.write_text(yaml.safe_dump(index, sort_keys=True))
        tmp.replace(folder / "index.yaml")
    return sum(len(refs) for refs in by_repo.values())


def server_argv(root: Path, port: int) -> list[str]:
    """The chart repository is static files: Python's own HTTP server serves `root` on 127.0.0.1."""
    return [sys.executable, "-m", "http.server", str(port), "--bind=127.0.0.1", f"--directory={root}"]
