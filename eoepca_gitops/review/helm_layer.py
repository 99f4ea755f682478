"""The Helm layer of a review: for each HelmRelease whose chart, version, values or release settings
differ between the revisions (or that is added or removed), `helm template` of both, compared object
by object (eoepca_gitops.review.compare).

Releases render side by side (each is a few helm processes). A release whose chart cannot be
fetched gets one note saying why, and the rest of the review stands; a chart version the
repository does not have, or a chart that refuses the head's values, is an error of the section
(the release would fail on the cluster).
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from eoepca_gitops import yaml_io
from eoepca_gitops.errors import GitopsError, PathError
from eoepca_gitops.files import MAX_FILE_BYTES, inside, read_bytes, write_file
from eoepca_gitops.fluxtree import Key, key
from eoepca_gitops.review.changes import ObjectChange, Section
from eoepca_gitops.review.charts import ChartMissing, ChartUnavailable, Helm, fetch, last_line
from eoepca_gitops.review.compare import compare
from eoepca_gitops.review.releases import ReleaseInput, release_input

__all__ = ["HelmLayer", "HelmRenderer", "RenderError", "Renderer", "Revision", "helm_layer", "helm_renderer"]

#: Releases rendered at once (each is a helm process or two).
WORKERS = 4


class RenderError(GitopsError):
    """`helm template` refused (the chart's templates fail with these values)."""


class Renderer(Protocol):
    def render(self, release: ReleaseInput, project: Path, *, upgrade: bool) -> list[dict[str, Any]]:
        """The objects Helm renders for `release` (its chart fetched for `project`'s revision)."""
        ...


@dataclass(frozen=True)
class Revision:
    """What the Helm layer reads of one revision of a stack."""

    releases: Mapping[Key, tuple[Mapping[str, Any], str]]  # HelmRelease -> (the object, its group)
    objects: Mapping[Key, Mapping[str, Any]]  # the stack's and its Git layer's
    project: Path


@dataclass(frozen=True)
class HelmLayer:
    """The Helm layer of a review: a section per release whose rendering may differ, and what Helm
    renders for each of them at the head ("HelmRelease namespace/name" -> objects; what the review
    checks against the schemas)."""

    sections: list[Section]
    rendered: dict[str, list[dict[str, Any]]]


def _values_files(chart: Path, names: tuple[str, ...], tmp: Path) -> list[str]:
    """The chart's own values files a release names (spec.chart.spec.valuesFiles), as files for helm."""
    out = []
    for i, name in enumerate(names):
        if chart.is_dir():
            try:
                out.append(str(inside(chart, name)))
            except PathError as exc:
                raise RenderError(f"valuesFiles: {exc}") from None
            continue
        with tarfile.open(fileobj=io.BytesIO(read_bytes(chart))) as tar:
            top = tar.getnames()[0].split("/")[0]
            member = tar.extractfile(f"{top}/{name.removeprefix('./')}")
            if member is None:
                raise RenderError(f"valuesFiles: no {name} in the chart")
            values = member.read(MAX_FILE_BYTES + 1)
            if len(values) > MAX_FILE_BYTES:
                raise RenderError(f"valuesFiles: {name} is larger than any values file")
            write_file(tmp, f"values-file-{i}.yaml", values, replace=False)
        out.append(str(tmp / f"values-file-{i}.yaml"))
    return out


@dataclass
class HelmRenderer:
    """Renders releases with helm: the chart fetched (charts.fetch), `helm template` with the
    release's name, namespace and values, as helm-controller installs or upgrades it."""

    helm: Helm

    def render(self, release: ReleaseInput, project: Path, *, upgrade: bool) -> list[dict[str, Any]]:
        if release.source is None:
            raise ChartUnavailable("no chart source to fetch")
        chart = fetch(self.helm, release.source, project)
        with tempfile.TemporaryDirectory(prefix="eoepca-gitops-values-") as folder:
            tmp = Path(folder)
            write_file(tmp, "values.yaml", yaml_io.dump(dict(release.values)), replace=False)
            files = [*_values_files(chart, release.values_files, tmp), str(tmp / "values.yaml")]
            args = ["template", release.name, str(chart), "--namespace", release.namespace, "--skip-tests"]
            args += [a for f in files for a in ("--values", f)]
            args += ["--include-crds"] if release.include_crds else []
            args += ["--is-upgrade"] if upgrade else []
            result = self.helm.run(*args)
        if result.returncode != 0:
            raise RenderError(last_line(result.stderr))
        try:
            return [d for d in yaml_io.load_all(result.stdout) if isinstance(d, dict)]
        except yaml.YAMLError as exc:
            raise RenderError(f"what the chart renders is not YAML: {str(exc).splitlines()[0]}") from None


@contextlib.contextmanager
def helm_renderer(binary: Path) -> Iterator[HelmRenderer]:
    """A HelmRenderer whose helm homes live as long as the block."""
    with tempfile.TemporaryDirectory(prefix="eoepca-gitops-helm-") as home:
        yield HelmRenderer(Helm(binary, Path(home)))


@dataclass(frozen=True)
class _Job:
    key: Key
    group: str
    base: ReleaseInput | None
    head: ReleaseInput | None

    @property
    def shown(self) -> ReleaseInput:
        """The head's release, or the base's when it is removed."""
        shown = self.head or self.base
        assert shown is not None, "a release is at one revision at least"
        return shown


def _release(job: _Job) -> str:
    return f"HelmRelease {job.key[2]}/{job.key[3]}"


def _what(job: _Job) -> str:
    b, h = job.base, job.head
    if b is None or h is None:
        return f"{job.shown.chart_label} ({'new release' if b is None else 'release removed'})"
    parts = [f"{b.chart_label} -> {h.chart_label}" if b.chart_label != h.chart_label else h.chart_label]
    if b.source and h.source and b.source.chart == h.source.chart and b.source.version != h.source.version:
        parts = [f"{h.source.chart} {b.source.version} -> {h.source.version}"]
    if b.source and h.source and b.source.url != h.source.url:
        parts.append(f"from {h.source.url} (was {b.source.url})")
    if b.values != h.values:
        parts.append("values changed")
    if (b.name, b.namespace) != (h.name, h.namespace):
        parts.append(f"release {b.namespace}/{b.name} -> {h.namespace}/{h.name}")
    return ", ".join(parts)


@dataclass(frozen=True)
class _Rendered:
    """One revision of a release: its objects, or why there are none."""

    objects: list[dict[str, Any]] | None  # None: not rendered
    unavailable: str = ""  # why the chart was not fetched
    failed: str = ""  # the repository has no such version, or the chart refuses the values


def _side(renderer: Renderer, release: ReleaseInput | None, project: Path, upgrade: bool) -> _Rendered:
    if release is None:
        return _Rendered([])
    if release.source is None:
        return _Rendered(None)  # the release's notes say why
    try:
        return _Rendered(renderer.render(release, project, upgrade=upgrade))
    except (ChartMissing, RenderError) as exc:
        return _Rendered(None, failed=f"{release.chart_label}: {exc}")
    except ChartUnavailable as exc:
        return _Rendered(None, unavailable=str(exc))


def _section(renderer: Renderer, job: _Job, base: Path, head: Path) -> tuple[Section | None, _Rendered]:
    upgrade = job.base is not None and job.head is not None
    old = _side(renderer, job.base, base, upgrade)
    new = _side(renderer, job.head, head, upgrade)
    return _compared(job, old, new), new


def _compared(job: _Job, old: _Rendered, new: _Rendered) -> Section | None:
    notes = list(job.shown.notes)
    if old.unavailable and old.unavailable == new.unavailable:
        notes.append(f"chart not fetched: {old.unavailable}")
    else:
        notes += [
            f"chart not fetched at {at}: {r.unavailable}"
            for at, r in (("base", old), ("head", new))
            if r.unavailable
        ]
    notes += [f"base: {old.failed}"] if old.failed else []  # the base was broken already
    objects: tuple[ObjectChange, ...] = ()
    if old.objects is not None and new.objects is not None:
        objects = tuple(
            c for _, c in compare({key(o): o for o in old.objects}, {key(o): o for o in new.objects})
        )
        if not objects:
            if job.head and job.head.source and job.head.source.kind == "folder" and job.base == job.head:
                return None  # a chart in the repository, unchanged: nothing to say
            notes.append("renders the same objects")
    return Section(
        layer="helm",
        group=job.group,
        objects=objects,
        release=_release(job),
        chart=_what(job),
        note="; ".join(dict.fromkeys(notes)),
        error=f"head: {new.failed}" if new.failed else "",
    )


def helm_layer(base: Revision, head: Revision, renderer: Renderer) -> HelmLayer:
    """A section per HelmRelease whose rendering may differ between the revisions, in key order,
    and the objects each renders at the head."""
    jobs = []
    for k in sorted(set(base.releases) | set(head.releases)):
        old, new = base.releases.get(k), head.releases.get(k)
        upgrade = old is not None and new is not None
        b = release_input(old[0], base.objects, upgrade=upgrade) if old else None
        h = release_input(new[0], head.objects, upgrade=upgrade) if new else None
        in_repository = any(r and r.source and r.source.kind == "folder" for r in (b, h))
        if b == h and not in_repository:
            continue
        either = new or old
        assert either is not None, "a key of one revision at least"
        jobs.append(_Job(k, either[1], b, h))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = list(pool.map(lambda j: _section(renderer, j, base.project, head.project), jobs))
    return HelmLayer(
        [s for s, _ in done if s is not None],
        {_release(j): new.objects for j, (_, new) in zip(jobs, done, strict=True) if new.objects},
    )
