"""What Flux will apply from Git: kustomize build of each Kustomization path, then postBuild.

Built by eoepca_gitops.fluxtree (the one implementation of Flux's rules: generated kustomizations,
kubectl kustomize, envsubst), on the project's own checkout, which is what the GitRepository
points at; what kustomize may read stays in the project (fluxtree.confine), and a folder whose
files were built before is not built again (eoepca_gitops.kustomize_cache). A folder that names a
remote resource is built by Flux at apply time: it is shown by a stand-in object
(fluxtree.offline), unless the stack's kustomize-controller runs with `--no-remote-bases`, where
Flux refuses it and so does this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoepca_gitops.errors import ConfigError, GitopsError
from eoepca_gitops.fluxtree import (
    SubstitutionError,
    key,
    kubectl,
    postbuild_variables,
    substituted,
)
from eoepca_gitops.fluxtree.confine import check_build, kustomization_folder
from eoepca_gitops.fluxtree.fetch import Fetcher
from eoepca_gitops.kustomize_cache import cached_kustomize_all
from eoepca_gitops.manifests.api_gate import check_api_removal, check_live_upgrade
from eoepca_gitops.manifests.stack import StackManifests
from eoepca_gitops.model import defaults
from eoepca_gitops.model.stack import Stack
from eoepca_gitops.upgrade.plan import UpgradePlan

__all__ = ["Reference", "build_flux_layer", "check_git_layer", "kubectl", "layer_key", "missing_references"]


def _from_git(ref: Mapping[str, Any]) -> bool:
    return ref.get("kind") == "GitRepository" and ref.get("name") == defaults.GIT_SOURCE_NAME


def layer_key(k: Mapping[str, Any], flux_namespace: str) -> str:
    """How build_flux_layer names a Kustomization's objects: its name (namespace/name outside Flux's)."""
    meta = k["metadata"]
    ns = meta.get("namespace") or flux_namespace
    return str(meta["name"]) if ns == flux_namespace else f"{ns}/{meta['name']}"


# Go's flag package reads a bool flag given without a value, or with one of these, as true.
_TRUE = {"", "1", "t", "T", "TRUE", "true", "True"}


def _no_remote_bases(manifests: StackManifests) -> bool:
    """Whether the stack's kustomize-controller refuses remote bases (`--no-remote-bases`)."""
    for obj in manifests.flux:
        if obj["kind"] != "Deployment" or obj["metadata"].get("name") != "kustomize-controller":
            continue
        for container in obj["spec"]["template"]["spec"].get("containers") or []:
            for arg in container.get("args") or []:
                flag, _, value = str(arg).partition("=")
                if flag == "--no-remote-bases" and value in _TRUE:
                    return True
    return False


def _refuse_remote(project: Path, name: str, folder: Path, spec: Mapping[str, Any]) -> None:
    remote = check_build(project, folder, spec, name).remote
    if remote:
        use = remote[0]
        raise ConfigError(
            f"{use.file}:{use.line}" if use.line else use.file,
            use.key,
            f"{use.remote.entry} is a remote resource, and this stack's kustomize-controller runs with "
            f"--no-remote-bases ({defaults.CONFIG_NAMESPACE}:flux.patches.kustomize-controller.args): "
            f"Flux refuses to build Kustomization {name}; copy what it names into the repository",
        )


def build_flux_layer(
    manifests: StackManifests, project: Path, fetcher: Fetcher | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Kustomization -> the objects Flux applies for it from this checkout, variables substituted;
    with `fetcher`, a remote base's objects too (fetched), else a stand-in naming it.

    Keyed by name (namespace/name outside Flux's namespace). A Kustomization's substituteFrom is
    read from the stack's objects and from what the other Kustomizations apply, as Flux reads it
    from the cluster; one whose objects come from another source (an OCIRepository, ...) is not
    built here.
    """
    stack_objects = manifests.all()
    git = next((o for o in manifests.source if o["kind"] == "GitRepository"), None)
    flux_ns = str(git["metadata"]["namespace"]) if git else defaults.FLUX_NAMESPACE
    todo = [
        (k, 0)
        for objects in manifests.blocks.values()
        for k in objects
        if k["kind"] == "Kustomization" and _from_git(k["spec"]["sourceRef"])
    ]
    names = {id(k): layer_key(k, flux_ns) for k, _ in todo}
    folders = {
        id(k): kustomization_folder(project, k["spec"]["path"], names[id(k)], "the stack") for k, _ in todo
    }
    present = [k for k, _ in todo if folders[id(k)].is_dir()]
    if _no_remote_bases(manifests):
        for k in present:
            _refuse_remote(project, names[id(k)], folders[id(k)], k["spec"])
    # Every folder built at once (kustomize does not depend on the variables), substituted in order;
    # a folder whose files were built before is not built again (eoepca_gitops.kustomize_cache).
    built = dict(
        zip(
            (id(k) for k in present),
            cached_kustomize_all(
                project, [(names[id(k)], folders[id(k)], k["spec"]) for k in present], fetcher
            ),
            strict=True,
        )
    )
    layer: dict[str, list[dict[str, Any]]] = {}
    while todo:
        k, deferrals = todo.pop(0)
        name, spec = names[id(k)], k["spec"]
        applied = (o for objects in layer.values() for o in objects)
        variables, missing = postbuild_variables(spec, k["metadata"]["namespace"], [*stack_objects, *applied])
        if missing and deferrals < len(todo) + 1:
            todo.append((k, deferrals + 1))  # from a Kustomization not built yet
            continue
        if missing:
            raise GitopsError(
                f"Kustomization {name}: substituteFrom {', '.join(missing)} is neither in the stack "
                "nor in Git"
            )
        if id(k) not in built:
            raise GitopsError(f"Kustomization {name}: path {spec['path']} is not a folder in {project}")
        try:
            layer[name] = substituted(built[id(k)], variables)
        except SubstitutionError as exc:
            raise GitopsError(f"Kustomization {name}: {exc}") from None
    return layer


@dataclass(frozen=True, order=True)
class Reference:
    """A Secret or ConfigMap an object reads from the cluster by name."""

    kind: str  # Secret or ConfigMap
    namespace: str
    name: str
    key: str  # the data key it reads
    reader: str  # "HelmRelease rm/data-access"
    # Flux fails the reader without it (a HelmRelease's valuesFrom); a Provider's secretRef is only
    # needed when an event is sent.
    required: bool

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _reads(obj: Mapping[str, Any]) -> Iterator[Reference]:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    ns = meta.get("namespace") or ""
    reader = f"{obj['kind']} {ns}/{meta['name']}"
    if obj["kind"] == "HelmRelease":
        for ref in spec.get("valuesFrom") or []:
            if not ref.get("optional") and ref.get("kind") in ("Secret", "ConfigMap"):
                key_ = str(ref.get("valuesKey") or "values.yaml")
                yield Reference(ref["kind"], ns, str(ref.get("name", "")), key_, reader, True)
    elif obj["kind"] == "Provider" and (spec.get("secretRef") or {}).get("name"):
        yield Reference("Secret", ns, str(spec["secretRef"]["name"]), "address", reader, False)


def missing_references(
    manifests: StackManifests, layer: Mapping[str, Iterable[Mapping[str, Any]]]
) -> list[Reference]:
    """What the stack's objects and its Git layer read from the cluster (a HelmRelease's valuesFrom,
    a notification Provider's secretRef) that neither provides."""
    applied = [*manifests.all(), *(o for objs in layer.values() for o in objs)]
    have = {key(o) for o in applied}
    return sorted(
        {ref for o in applied for ref in _reads(o) if ("", ref.kind, ref.namespace, ref.name) not in have}
    )


def check_git_layer(
    stack: Stack,
    install: Iterable[dict[str, Any]],
    manifests: StackManifests,
    project: Path,
    file: str,
    warn: Callable[[str], None] | None = None,
    plan: UpgradePlan | None = None,
) -> None:
    """What Flux will apply from this checkout, and what the cluster holds, checked before anything
    changes; raises ConfigError.

    - the upgrade gate (eoepca_gitops.manifests.api_gate): objects in API versions the stack's Flux
      no longer serves, in Git and, with the upgrade's `plan` of the live cluster
      (eoepca_gitops.upgrade), in the cluster, and what the cluster holds that the upgrade cannot
      migrate;
    - every Secret or ConfigMap a HelmRelease reads (valuesFrom) exists in the stack or in Git.

    A Git layer that does not build here (the stack may follow another repository) cannot be
    checked: that is said through `warn`, and its checks pass.
    """
    try:
        layer: dict[str, list[dict[str, Any]]] | None = build_flux_layer(manifests, project)
    except ConfigError:
        raise  # the stack and its Git layer disagree: Flux would fail
    except GitopsError as exc:
        if warn:
            warn(f"Git layer not checked: it does not build in {project}: {exc}")
        layer = None
    if plan is not None:
        # What Flux applied in an old version but Git now has in a served one, the new Flux applies.
        in_git = {key(o) for objs in (layer or {}).values() for o in objs}
        check_live_upgrade(stack.config.flux, plan, file, in_git)
    if layer is None:
        return
    check_api_removal(stack.config.flux, install, layer, file)
    missing = [ref for ref in missing_references(manifests, layer) if ref.required]
    if missing:
        release, wanted = missing[0].reader.removeprefix("HelmRelease "), str(missing[0])
        raise ConfigError(
            file,
            f"{defaults.CONFIG_NAMESPACE}:git.path",
            f"HelmRelease {release} reads {wanted} (valuesFrom), which neither the stack nor its Git layer "
            f"({stack.config.git.path}) provides; this cluster's own objects go in clusters/{stack.name}/"
            f"<block>/ with git.path ./clusters/{stack.name} (clusters/README.md), or the stack makes the "
            "Secret from its own secret keys (clusterSecrets)"
            + (f"; and {len(missing) - 1} more" if len(missing) > 1 else ""),
        )
