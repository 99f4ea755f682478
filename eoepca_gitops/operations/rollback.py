"""`eoepca-gitops rollback`: both layers of a stack back to one Git revision, and held there.

- The revision: `--to` (any name git resolves in the project's repository), else the last good
  revision the poller recorded (poller.lastgood).
- The Pulumi layer: `pulumi up` of the program and stack file at that revision (a detached git
  worktree of it), pinned (`EOEPCA_GITOPS_PIN_COMMIT`): the program makes the GitRepository's ref
  that commit, so Flux applies the manifests of that revision and helm-controller upgrades each
  changed HelmRelease back (a new Helm revision: the history is kept). Then Flux is asked to
  reconcile the source, the Kustomizations and the HelmReleases, and each is waited for.
- The hold: asked in the poller's holds document (poller.hold) before anything changes, so the
  poller does not take the stack back to the branch head meanwhile; it lasts until `--release` or,
  when the stack's poller says `rollback.holdUntil: new-commit`, a newer commit.
- `--dry-run`: the plan of both layers (`pulumi preview` at the revision, the Flux objects whose
  revision changes), nothing changed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.flux_apis import api_versions
from eoepca_gitops.git_runner import GitFailed, run_git
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.manifests.prepared import prepare
from eoepca_gitops.manifests.stack import StackManifests
from eoepca_gitops.model.defaults import PIN_COMMIT
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.operations.collect import FluxObject, flux_objects, poller_states
from eoepca_gitops.operations.pulumi_cli import PulumiCli
from eoepca_gitops.operations.reconcile import Reconciled, reconcile
from eoepca_gitops.poller.automation import MESSAGE_PREFIX
from eoepca_gitops.poller.hold import OPERATOR, Hold, HoldStore, Until, holds_configmap, holds_file
from eoepca_gitops.poller.lastgood import applied_at
from eoepca_gitops.project import load_stack_file, stack_file_name

__all__ = ["FluxChange", "Plan", "flux_changes", "resolve_revision", "rollback"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class FluxChange:
    ref: str
    now: str  # what the cluster has
    then: str  # what the revision declares


@dataclass(frozen=True)
class Plan:
    stack: str
    revision: str
    why: str
    pulumi: Mapping[str, int]  # operation -> how many resources
    pulumi_steps: tuple[str, ...]  # "update HelmRelease/um/um-pdp-engine"
    flux: tuple[FluxChange, ...]
    hold: str

    def lines(self) -> list[str]:
        counts = ", ".join(f"{n} to {op}" for op, n in sorted(self.pulumi.items())) or "no change"
        out = [f"rollback of stack {self.stack} to {self.revision[:12]} ({self.why})", f"pulumi: {counts}"]
        out += [f"  {step}" for step in self.pulumi_steps]
        out += [f"flux: {c.ref}: {c.now} -> {c.then}" for c in self.flux] or [
            "flux: no object changes revision"
        ]
        return [*out, f"hold: {self.hold}"]


def _chart(obj: Mapping[str, Any] | None, live: bool) -> str:
    if obj is None:
        return "not in the cluster"
    history = (obj.get("status") or {}).get("history") or []
    if live and history:
        return f"chart {history[0].get('chartVersion', '?')}"
    spec = ((obj.get("spec") or {}).get("chart") or {}).get("spec") or {}
    return f"chart {spec.get('version', '*')}"


def flux_changes(
    declared: Sequence[Mapping[str, Any]],
    live: Mapping[tuple[str, str, str], Mapping[str, Any] | None],
    revision: str,
) -> tuple[FluxChange, ...]:
    """The Flux objects the roll-back changes: the source's ref, each Kustomization not at
    `revision`, each HelmRelease whose chart version or spec differs (a new Helm revision)."""
    out: list[FluxChange] = []
    for o in declared:
        kind, meta = str(o["kind"]), o["metadata"]
        key = (kind, str(meta.get("namespace") or ""), str(meta["name"]))
        ref, now = f"{kind} {key[1]}/{key[2]}", live.get(key)
        spec_now = (now or {}).get("spec") or {}
        if kind == "GitRepository" and spec_now.get("ref") != o["spec"].get("ref"):
            out.append(FluxChange(ref, f"ref {spec_now.get('ref')}", f"ref {o['spec']['ref']}"))
        elif kind == "Kustomization" and (now is None or not applied_at(now, revision)):
            at = ((now or {}).get("status") or {}).get("lastAppliedRevision") or "nothing applied"
            out.append(FluxChange(ref, str(at), revision[:12]))
        elif kind == "HelmRelease" and (now is None or spec_now != o["spec"]):
            then = _chart(o, live=False)
            if now is not None and _chart(now, live=True) == then:
                then += " (values or settings)"
            out.append(FluxChange(ref, _chart(now, live=True), then + ": a new Helm revision"))
    return tuple(out)


def resolve_revision(project: Path, name: str) -> str:
    """The full commit id `name` names in the project's repository; GitopsError if none."""
    try:
        return run_git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", cwd=project).strip()
    except GitFailed:
        raise GitopsError(f"--to {name}: no such commit in the repository of {project}") from None


def _last_good(stack: Stack, access: ClusterAccess, state_file: Path | None) -> str:
    states = poller_states(stack, access, state_file)
    state = (states or {}).get(stack.name)
    if state is None or state.last_good_revision is None:
        where = "no poller keeps this stack" if states is None else "the poller has recorded none yet"
        raise GitopsError(f"stack {stack.name}: no last good revision ({where}): give one with --to REV")
    return state.last_good_revision


@contextlib.contextmanager
def tree_at(project: Path, revision: str) -> Iterator[Path]:
    """The project folder as it is at `revision` (a detached worktree, removed afterwards), using the
    checkout's virtualenv."""
    top = Path(run_git("rev-parse", "--show-toplevel", cwd=project).strip())
    with tempfile.TemporaryDirectory(prefix="eoepca-rollback-") as tmp:
        tree = Path(tmp) / "tree"
        run_git("worktree", "add", "--detach", "--force", str(tree), revision, cwd=top)
        try:
            folder = tree / project.resolve().relative_to(top.resolve())
            if (project / ".venv").exists() and not (folder / ".venv").exists():
                (folder / ".venv").symlink_to((project / ".venv").resolve())
            yield folder
        finally:
            run_git("worktree", "remove", "--force", str(tree), cwd=top)


def _holds(stack: Stack, access: ClusterAccess, state_file: Path | None) -> tuple[HoldStore, str] | None:
    """Where the poller of the stack reads holds, and its name; None when no poller keeps it."""
    if state_file is not None:
        return HoldStore(holds_file(state_file)), str(holds_file(state_file))
    if stack.config.poller is None:
        return None
    from eoepca_gitops.kube.state_configmap import ConfigMapBackend
    from eoepca_gitops.manifests.poller import state_configmap
    from eoepca_gitops.poller.log import log_event

    p = stack.config.poller
    name = holds_configmap(state_configmap(p))
    return HoldStore(ConfigMapBackend(access.client, p.namespace, name, log=log_event)), f"configmap {name}"


@dataclass(frozen=True)
class Request:
    stack: Stack
    project: Path
    to: str | None
    state_file: Path | None
    timeout: float
    dry_run: bool = False


def _at_revision(tree: Path, stack_name: str, revision: str) -> tuple[Stack, StackManifests]:
    prepared = prepare(load_stack_file(tree / stack_file_name(stack_name)).pinned(revision), tree)
    return prepared.stack, prepared.manifests


def _plan(r: Request, revision: str, why: str, tree: Path, access: ClusterAccess, hold: str) -> Plan:
    pulumi = PulumiCli(r.stack.name, tree, {**os.environ, PIN_COMMIT: revision})
    steps = [s for s in (pulumi.json("preview") or {}).get("steps", []) if s.get("op") != "same"]
    _, manifests = _at_revision(tree, r.stack.name, revision)
    declared = [o for o in manifests.source if o["kind"] == "GitRepository"]
    declared += [
        o for objs in manifests.blocks.values() for o in objs if o["kind"] in ("Kustomization", "HelmRelease")
    ]
    live = {
        (str(o["kind"]), str(o["metadata"].get("namespace") or ""), str(o["metadata"]["name"])): access.get(
            str(o["apiVersion"]),
            str(o["kind"]),
            str(o["metadata"].get("namespace") or ""),
            str(o["metadata"]["name"]),
        )
        for o in declared
    }
    return Plan(
        r.stack.name,
        revision,
        why,
        dict(Counter(str(s["op"]) for s in steps)),
        tuple(f"{s['op']} {str(s.get('urn', '')).rsplit('::', 1)[-1]}" for s in steps),
        flux_changes(declared, live, revision),
        hold,
    )


def _waves(manifests: StackManifests) -> list[list[FluxObject]]:
    _, source, blocks = flux_objects(manifests)
    kustomizations = [ref for refs in blocks.values() for ref in refs if ref[1] == "Kustomization"]
    releases = [ref for refs in blocks.values() for ref in refs if ref[1] == "HelmRelease"]
    return [w for w in ([source] if source else [], kustomizations, releases) if w]


def rollback(r: Request, progress: Progress) -> tuple[Plan, list[Reconciled]]:
    """The plan and, unless a dry run, the roll-back done: held, `pulumi up` pinned, Flux reconciled
    and waited for (the objects as Flux answered; not every one Ready if a release still fails)."""
    access = ClusterAccess.for_stack(r.stack)
    revision = resolve_revision(r.project, r.to) if r.to else _last_good(r.stack, access, r.state_file)
    why = f"--to {r.to}" if r.to else "the last good revision the poller recorded"
    holds = _holds(r.stack, access, r.state_file)
    poller = r.stack.config.poller
    until = Until(poller.rollback.hold_until) if poller is not None else Until.RELEASE
    shown = "until `rollback --release`" if until is Until.RELEASE else "until a newer commit is pushed"
    hold_text = f"{shown} ({holds[1]})" if holds else "no poller keeps this stack: nothing to hold against"
    with tree_at(r.project, revision) as tree:
        progress(f"pulumi preview at {revision[:12]}")
        plan = _plan(r, revision, why, tree, access, hold_text)
        if r.dry_run:
            return plan, []
        if holds is not None:
            head = _head(r.project)
            holds[0].put(r.stack.name, Hold(revision, time.time(), OPERATOR, until, head))
        progress(f"pulumi up at {revision[:12]}, Flux's source pinned to it")
        pulumi = PulumiCli(r.stack.name, tree, {**os.environ, PIN_COMMIT: revision})
        pulumi.run("up", "--yes", "--skip-preview", "--message", f"{MESSAGE_PREFIX} {revision} (held)")
        _, manifests = _at_revision(tree, r.stack.name, revision)
    done = reconcile(access, _waves(manifests), r.timeout, progress, apis=api_versions(manifests.flux))
    return plan, done


def _head(project: Path) -> str | None:
    try:
        return run_git("rev-parse", "HEAD", cwd=project).strip()
    except GitFailed:
        return None


def release(stack: Stack, project: Path, state_file: Path | None, progress: Progress) -> str:
    """Ends the hold: the poller takes the stack to the branch head; with no poller, `pulumi up` of
    the project as it is checked out does (Flux's source back on its branch). What happened, in words."""
    access = ClusterAccess.for_stack(stack)
    holds = _holds(stack, access, state_file)
    if holds is not None:
        if holds[0].get(stack.name) is None:
            raise GitopsError(f"stack {stack.name} is not held ({holds[1]})")
        holds[0].put(stack.name, None)
        return f"released stack {stack.name}: the poller applies the branch head at its next round"
    progress("no poller keeps this stack: pulumi up of the project as it is checked out")
    PulumiCli(stack.name, project).run("up", "--yes", "--skip-preview")
    return f"released stack {stack.name}: applied the checkout, Flux's source follows its branch again"
