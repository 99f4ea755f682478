"""What an operator changes on a running cluster, made through its stack: suspend or resume a block,
undeploy Flux while the workloads keep running.

Each change goes into the stack file (with `pulumi config`, which keeps its comments) and is applied
with `pulumi up`, so the stack file and the cluster agree and the next `pulumi up` does not undo it.
A stack kept by a poller is applied from Git: there the change must be committed and pushed too
(--commit --push), or the poller's next update would revert it; without them the command refuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from eoepca_gitops.errors import GitFailed, GitopsError
from eoepca_gitops.flux_apis import PLURALS, api_versions
from eoepca_gitops.git_runner import run_git
from eoepca_gitops.kube.cluster import ClusterAccess
from eoepca_gitops.manifests.awaited import awaited
from eoepca_gitops.manifests.identity import COMPONENT_TYPES, await_urn, urn
from eoepca_gitops.manifests.stack import StackManifests
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.operations.pulumi_cli import PulumiCli
from eoepca_gitops.readiness.verdict import Verdict, ready, waiting
from eoepca_gitops.readiness.wait import FluxRef, describe, settle

__all__ = ["Publish", "set_suspended", "undeploy"]

PROJECT = "eoepca-gitops"
Progress = Callable[[str], None]


class Publish:
    """Committing (and pushing) the stack file, so that what applies Git applies the change too."""

    def __init__(self, stack: Stack, project: Path, commit: bool, push: bool) -> None:
        if stack.config.poller is not None and not push:
            raise GitopsError(
                f"stack {stack.name} is kept by a poller, which applies what is in Git: pass --commit --push "
                "so the change is in Git too, or the poller's next update reverts it"
            )
        self.stack, self.project, self.commit, self.push = stack, project, commit or push, push

    def __call__(self, message: str, progress: Progress) -> None:
        if not self.commit:
            progress(f"changed {self.stack.file_name}: commit it so Git says what the cluster runs")
            return
        file = self.stack.file_name
        for args in (
            ["add", file],
            ["commit", "-m", message, "--", file],
            *([["push"]] if self.push else []),
        ):
            try:
                run_git(*args, cwd=self.project)
            except GitFailed as exc:
                raise GitopsError(f"git {args[0]}: {exc.stderr.strip() or exc.stdout.strip()}") from None
        progress(f"committed{' and pushed' if self.push else ''} {file}: {message}")


def _block(stack: Stack, name: str) -> None:
    enabled = [b.name for b in stack.catalog.blocks]
    if name not in enabled:
        raise GitopsError(f"stack {stack.name} has no block {name!r} enabled (enabled: {', '.join(enabled)})")


def set_suspended(
    stack: Stack,
    manifests: StackManifests,
    block: str,
    suspended: bool,
    project: Path,
    publish: Publish,
    progress: Progress,
) -> None:
    """overrides.<block>.suspend in the stack file, then `pulumi up` of that block's Flux objects."""
    _block(stack, block)
    pulumi = PulumiCli(stack.name, project)
    key = f"overrides.{block}.suspend"
    if suspended:
        pulumi.run("config", "set", "--path", key, "true")
    else:
        pulumi.run("config", "set", "--path", key, "false")
    objects = manifests.blocks[block]
    targets = [
        urn(stack.name, PROJECT, COMPONENT_TYPES["block"], o)
        for o in objects
        if o["kind"] in ("Kustomization", "HelmRelease")
    ]
    progress(f"{'suspending' if suspended else 'resuming'} {block}: pulumi up of {len(targets)} Flux objects")
    if awaited(objects, stack.config.await_) is not None:
        # The block's wait too: on resume it fails fast with Flux's reason, as any `pulumi up` does.
        targets.append(await_urn(stack.name, PROJECT, block))
    pulumi.run("up", "--yes", "--skip-preview", *(f"--target={t}" for t in targets))
    publish(f"{'suspend' if suspended else 'resume'} {block} on {stack.name}", progress)


def _stop_controllers(
    access: ClusterAccess, manifests: StackManifests, timeout: float, progress: Progress
) -> None:
    deployments = [
        ("apps/v1", "Deployment", str(o["metadata"]["namespace"]), str(o["metadata"]["name"]))
        for o in manifests.flux
        if o["kind"] == "Deployment"
    ]
    for ref in deployments:
        access.merge_patch(*ref, {"spec": {"replicas": 0}})
    progress(f"scaled {len(deployments)} Flux controllers to 0; waiting for them to stop")

    def assess(refs: Sequence[FluxRef]) -> dict[FluxRef, Verdict]:
        running = {ref: ((access.get(*ref) or {}).get("status") or {}).get("replicas") for ref in refs}
        return {
            ref: waiting("Stopping", f"{n} replicas running") if n else ready("Stopped")
            for ref, n in running.items()
        }

    settled = settle(deployments, assess, timeout, clock=time, name=describe)
    if settled.timed_out:
        late = ", ".join(describe(ref).removeprefix("Deployment ") for ref, _ in settled.pending)
        raise GitopsError(f"Deployment {late} did not stop in {timeout:.0f} s")


def _release_finalizers(access: ClusterAccess, install: list[dict[str, object]], progress: Progress) -> int:
    """Without their finalizers, deleting Flux objects neither uninstalls a Helm release nor prunes
    what a Kustomization applied: no controller runs to do it, and none is waited for."""
    count = 0
    for kind, api_version in api_versions(install).items():
        if kind not in PLURALS:
            continue
        for obj in list(access.list(api_version, kind)):
            meta = obj.get("metadata") or {}
            if meta.get("finalizers"):
                access.merge_patch(
                    api_version,
                    kind,
                    meta.get("namespace", ""),
                    meta["name"],
                    {"metadata": {"finalizers": None}},
                )
                count += 1
    progress(f"released the finalizers of {count} Flux objects")
    return count


def undeploy(
    stack: Stack,
    manifests: StackManifests,
    install: list[dict[str, object]],
    project: Path,
    publish: Publish,
    progress: Progress,
    timeout: float = 300.0,
) -> None:
    """Flux removed, the workloads kept: stop the controllers, release the Flux objects' finalizers,
    then `flux.enabled: false` and `pulumi up` (which deletes the Flux objects and install and keeps
    the blocks' namespaces). `pulumi config set --path flux.enabled true` and `pulumi up` bring Flux
    back; helm-controller then takes the releases over as they are, without reinstalling them."""
    if not stack.config.flux.enabled:
        raise GitopsError(f"stack {stack.name}: Flux is undeployed already (flux.enabled: false)")
    access = ClusterAccess.for_stack(stack)
    pulumi = PulumiCli(stack.name, project)
    if missing := pulumi.available():
        raise GitopsError(missing)
    _stop_controllers(access, manifests, timeout, progress)
    _release_finalizers(access, install, progress)
    pulumi.run("config", "set", "--path", "flux.enabled", "false")
    progress("pulumi up: deleting the Flux objects and Flux itself; namespaces and workloads stay")
    pulumi.run("up", "--yes", "--skip-preview")
    publish(f"undeploy Flux from {stack.name}, keeping the workloads", progress)
