"""The creodias stack against what Flux applies from the EOEPCA creodias tree, object by object.

The original set is computed from ../shared/eoepca by following Flux's rules (eoepca_gitops/fluxtree):
102 objects. Ours is the Pulumi layer (build_stack) plus the Git layer (kubectl kustomize of each
block Kustomization's path, substituted from the cluster-vars ConfigMap as Flux does). Every
original object must be matched with equal content, or be listed in DEVIATIONS / REPLACED with
the reason; every object we add must be listed in ADDITIONS. Plain pytest, no engine.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from eoepca_gitops.fluxtree import Key, as_flux_sees_it, build_dir, diff, flux_objects, key
from eoepca_gitops.manifests.flux_release import load_install_manifest
from eoepca_gitops.manifests.stack import StackManifests, build_stack
from eoepca_gitops.model import defaults
from eoepca_gitops.model.cluster import CLUSTER_VARIABLES
from eoepca_gitops.project import load_stack_file
from tests.helpers import REPO_ROOT
from tests.outside_data import EOEPCA_TREE

TREE = EOEPCA_TREE
ROOT_PATH = "./system/clusters/creodias/system"
BLOCKS_DIR = REPO_ROOT / defaults.BLOCKS_DIR

H, S = "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io"
K, N = "kustomize.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io"
KUSTOMIZATION_DEVIATIONS = {"spec.path", "spec.validation"}
KUSTOMIZATION_WHY = (
    "path is <git.path>/<block> in this repository's layout; `validation: client` is ignored since "
    "kustomize.toolkit.fluxcd.io v1beta2 and gone in v1"
)

# Original objects whose counterpart differs on purpose: key -> (paths that may differ, why).
DEVIATIONS: dict[Key, tuple[set[str], str]] = {
    (K, "Kustomization", "flux-system", "user-management"): (KUSTOMIZATION_DEVIATIONS, KUSTOMIZATION_WHY),
    (K, "Kustomization", "flux-system", "resource-management"): (
        KUSTOMIZATION_DEVIATIONS | {"spec.postBuild"},
        KUSTOMIZATION_WHY + "; its manifests in Git (the workspace templates) say ${domain} where the "
        "tree spells develop.eoepca.org, substituted from cluster-vars",
    ),
    (K, "Kustomization", "flux-system", "processing-and-chaining"): (
        KUSTOMIZATION_DEVIATIONS,
        KUSTOMIZATION_WHY,
    ),
}

# Original objects that the Pulumi program replaces by objects of another key (or by none).
REPLACED: dict[Key, tuple[list[Key], str]] = {
    (K, "Kustomization", "flux-system", "flux-system"): (
        [(K, "Kustomization", "flux-system", b) for b in ("system-infra", "system-demo", "system-test")],
        "the root sync Kustomization (flux bootstrap) is replaced by Pulumi: the stack registers each "
        "block's objects and Kustomization itself; the system/ blocks with Git-side manifests get their own",
    ),
}

# The tree declares no dependsOn; the stack adds its block dependencies (clusters/blocks/*.yaml): every
# release of a block that depends on system-storage waits for system-storage's releases.
AFTER_STORAGE = [
    {"name": "nfs-provisioner", "namespace": "default"},
    {"name": "nfs-provisioner-retain", "namespace": "default"},
    {"name": "storage", "namespace": "default"},
]
RELEASES_AFTER_STORAGE = {
    *("application-hub", "combined-rm-guard", "data-access", "dummy-service", "dummy-service-guard"),
    *("harbor", "minio", "proc-ades", "proc-ades-guard", "registration-api", "resource-catalogue"),
    *("rm-minio-bucket-api", "um-identity-service", "um-login-service", "um-pdp-engine"),
    *("um-user-profile", "workspace-api", "workspace-api-guard", "cheese"),
}


def _with_block_dependencies(release: dict[str, Any]) -> dict[str, Any]:
    """An original HelmRelease with the dependsOn the stack adds to it."""
    if release["metadata"]["name"] not in RELEASES_AFTER_STORAGE:
        return release
    return {**release, "spec": {**release["spec"], "dependsOn": AFTER_STORAGE}}


# Objects ours has that the tree has not.
ADDITIONS: set[Key] = {
    ("", "Secret", "flux-system", "flux-system"),  # the deploy key: in the tree, made by flux bootstrap
    ("", "ConfigMap", "flux-system", defaults.CLUSTER_VARS_CONFIGMAP),
    (K, "Kustomization", "flux-system", "system-infra"),
    (K, "Kustomization", "flux-system", "system-demo"),
    (K, "Kustomization", "flux-system", "system-test"),
}

CREODIAS = {"domain": "develop.eoepca.org", "public_ip": "185.52.192.231", "cluster_name": "creodias"}
# The repository the tree's GitRepository follows (this project's own home is not known here).
TREE_GIT_URL = "ssh://git@github.com/EOEPCA/eoepca"
# creodias' infrastructure, which no block may spell (Pulumi.creodias.yaml gives it).
CREODIAS_INFRA = ("192.168.123.14", "cloudferro", "datahub.creodias.eu")


def _report(title: str, problems: list[str]) -> str:
    return title + "\n" + "\n".join(f"  {p}" for p in problems)


@cache
def original() -> tuple[tuple[Key, dict[str, Any]], ...]:
    objs = flux_objects(TREE, ROOT_PATH)
    return tuple((key(o.obj), o.obj) for o in objs)


def _completed(source: Path, tmp: Path, **config: Any) -> Path:
    """A copy of a stack file with the keys it leaves for the operator set (`git.url`, ...)."""
    raw = yaml.safe_load(source.read_text())
    for dotted, value in config.items():
        section, _, key = dotted.partition(".")
        target = raw["config"].setdefault(f"eoepca-gitops:{section}", {})
        if key:
            target[key] = value
        else:
            raw["config"][f"eoepca-gitops:{section}"] = value
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / source.name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _build(path: Path) -> StackManifests:
    stack = load_stack_file(path, BLOCKS_DIR)
    install = load_install_manifest(stack.config.flux, file=str(path), project=REPO_ROOT)
    return build_stack(stack, install)


def _git_layer(manifests: StackManifests) -> list[tuple[dict[str, Any], str]]:
    """What Flux applies from this repository for the stack's block Kustomizations."""
    cluster_vars = next(o for o in manifests.source if o["kind"] == "ConfigMap")["data"]
    out = []
    for objects in manifests.blocks.values():
        for k in (o for o in objects if o["kind"] == "Kustomization"):
            folder = REPO_ROOT / k["spec"]["path"]
            assert folder.is_dir(), f"Kustomization {k['metadata']['name']}: no folder {folder}"
            out += [(o, k["metadata"]["name"]) for o in build_dir(folder, cluster_vars)]
    return out


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> dict[Key, dict[str, Any]]:
    path = _completed(
        REPO_ROOT / "Pulumi.creodias.yaml",
        tmp_path_factory.mktemp("stack"),
        **{"git.url": TREE_GIT_URL, "gitSshPrivateKey": {"secure": "v1:test"}},
    )
    manifests = _build(path)
    found: dict[Key, dict[str, Any]] = {}
    for obj in [*manifests.all(), *(o for o, _ in _git_layer(manifests))]:
        k = key(obj)
        assert k not in found, f"{k} produced twice"
        found[k] = obj
    return found


def _by_kind_name(objs: dict[Key, dict[str, Any]]) -> dict[tuple[str, str, str], Key]:
    """Ours indexed without the API group's version: (kind, namespace, name)."""
    return {(k[1], k[2], k[3]): k for k in objs}


def _helm_release_view(o: dict[str, Any]) -> dict[str, Any]:
    spec = o["spec"]
    kept = ("name", "namespace", "annotations", "labels")
    view = {"metadata": {k: v for k, v in o["metadata"].items() if k in kept}, "chart": spec["chart"]["spec"]}
    for f in ("interval", "timeout", "dependsOn", "values", "valuesFrom"):
        if f in spec:
            view[f] = spec[f]
    return view


def _spec_view(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def view(o: dict[str, Any]) -> dict[str, Any]:
        return {
            "metadata": {k: v for k, v in o["metadata"].items() if k in ("name", "namespace", "labels")},
            "spec": {f: o["spec"][f] for f in fields if f in o["spec"]},
        }

    return view


def _whole(o: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(o)
    out.pop("apiVersion")  # the tree's v1beta1/v2beta1 vs the installed CRDs' storage versions
    return out


def _flux_install(o: dict[str, Any]) -> dict[str, Any]:
    out = _whole(as_flux_sees_it(o))
    out["metadata"].pop("creationTimestamp", None)  # the install builder strips these, like flux install
    out.pop("status", None)
    return out


VIEWS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "HelmRelease": _helm_release_view,
    "HelmRepository": _spec_view(("url", "interval", "type", "timeout")),
    "GitRepository": _spec_view(("url", "ref", "interval", "timeout", "secretRef")),
    "Kustomization": lambda o: {"metadata": {"name": o["metadata"]["name"]}, "spec": o["spec"]},
    "Provider": _spec_view(("type", "channel", "secretRef", "address")),
    "Alert": _spec_view(("providerRef", "eventSeverity", "eventSources")),
}


def _compare(orig: dict[str, Any], mine: dict[str, Any]) -> list[str]:
    mine = as_flux_sees_it(mine)  # as Kubernetes and Flux see it
    kind = orig["kind"]
    if kind == "Kustomization":
        # Fields both API versions have, compared as such; the rest is in DEVIATIONS.
        o, m = VIEWS[kind](orig), VIEWS[kind](mine)
        return diff(m, o)
    if kind == "HelmRelease":
        orig = _with_block_dependencies(orig)
    view = VIEWS.get(kind)
    if view is None:
        labels = orig.get("metadata", {}).get("labels") or {}
        view = (
            _flux_install
            if any(k.startswith("app.kubernetes.io/") for k in labels)
            or kind in ("CustomResourceDefinition",)
            else _whole
        )
    return diff(view(mine), view(orig))


def _path_of(line: str) -> str:
    return line.split(":", 1)[0]


def _allowed(line: str, allowed: set[str]) -> bool:
    path = _path_of(line)
    return any(path == a or path.startswith(a + ".") or path.startswith(a + "[") for a in allowed)


@pytest.mark.eoepca_tree
@pytest.mark.flux_manifests
def test_original_tree_counts() -> None:
    """The tree as Flux applies it: 102 objects, with the kinds the issue lists."""
    objs = original()
    kinds = Counter(k[1] for k, _ in objs)
    assert len(objs) == 102, kinds
    assert len({k for k, _ in objs}) == 102
    assert kinds["HelmRelease"] == 25
    assert kinds["HelmRepository"] == 11
    assert kinds["Namespace"] == 9
    assert kinds["SealedSecret"] == 14
    assert (kinds["Provider"], kinds["Alert"], kinds["PersistentVolumeClaim"], kinds["ClusterIssuer"]) == (
        2,
        2,
        4,
        1,
    )
    cm = [o for k, o in objs if k[1] == "ConfigMap"]
    assert [c["metadata"]["name"] for c in cm] == ["workspace-charts"]
    assert len(cm[0]["data"]) == 6  # the template files are data of the ConfigMap, not objects


@pytest.mark.eoepca_tree
@pytest.mark.flux_manifests
def test_creodias_matches_the_tree_object_by_object(ours: dict[Key, dict[str, Any]]) -> None:
    index = _by_kind_name(ours)
    problems: list[str] = []
    matched: Counter[str] = Counter()
    used: set[Key] = set()
    for okey, orig in original():
        if okey in REPLACED:
            targets, _ = REPLACED[okey]
            missing = [t for t in targets if t not in ours]
            if missing:
                problems.append(f"{okey}: replacement missing: {missing}")
            matched["(replaced) " + okey[1]] += 1
            continue
        mine_key = index.get((okey[1], okey[2], okey[3]))
        if mine_key is None:
            problems.append(f"{okey}: not produced by the creodias stack")
            continue
        used.add(mine_key)
        lines = _compare(orig, ours[mine_key])
        allowed, _ = DEVIATIONS.get(okey, (set(), ""))
        unexpected = [line for line in lines if not _allowed(line, allowed)]
        if unexpected:
            problems.append(_report(f"{okey}: differs", unexpected))
        stale = [a for a in allowed if not any(_allowed(line, {a}) for line in lines)]
        if stale:
            problems.append(f"{okey}: DEVIATIONS lists {stale} but they do not differ (remove them)")
        if not unexpected:
            matched[okey[1]] += 1
    extra = set(ours) - used - ADDITIONS
    if extra:
        problems.append(
            _report("produced by ours, not in the tree nor in ADDITIONS:", sorted(map(str, extra)))
        )
    missing_additions = ADDITIONS - set(ours)
    if missing_additions:
        problems.append(f"ADDITIONS not produced: {sorted(missing_additions)}")
    print("\nmatched:", dict(sorted(matched.items())))
    for k, (paths, why) in DEVIATIONS.items():
        print(f"deviation {k[1]} {k[2]}/{k[3]} {sorted(paths)}: {why}")
    assert not problems, "\n".join(problems)
    assert sum(matched.values()) == 102
    assert (matched["HelmRelease"], matched["HelmRepository"], matched["Namespace"]) == (25, 11, 9)
    assert matched["SealedSecret"] + matched["(replaced) SealedSecret"] == 14


def test_helm_values_are_written_with_cluster_variables() -> None:
    """No block file spells creodias' domain, IP or infrastructure: they come from ${domain},
    ${public_ip}, ${nfs_server}, ... set by each stack."""
    shared = (p for p in (REPO_ROOT / "clusters" / "flux").rglob("*") if p.is_file())
    for path in [*BLOCKS_DIR.glob("*.yaml"), *shared]:
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        for literal in ("develop.eoepca.org", "185.52.192.231", *CREODIAS_INFRA):
            assert literal not in text, f"{path}: {literal}"
        for var in re.findall(r"\$\{([^}]*)\}", text):
            assert var in CLUSTER_VARIABLES, f"{path}: ${{{var}}} is not a cluster variable"


def test_shared_folders_build_with_kubectl_kustomize() -> None:
    folders = [p.parent for p in (REPO_ROOT / "clusters").rglob("kustomization.yaml")]
    assert folders
    for folder in folders:
        build_dir(folder, CREODIAS)  # raises on a kustomize error or an unset variable


def _comparable(manifests: StackManifests) -> dict[tuple[str, str, str], dict[str, Any]]:
    out = {}
    for obj in [*manifests.source, *(o for objs in manifests.blocks.values() for o in objs)]:
        o = copy.deepcopy(obj)
        o.pop("apiVersion")
        out[(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])] = o
    return out


def _comparable_block(manifests: StackManifests, name: str = "cluster-prerequisites") -> set[Any]:
    return {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in manifests.blocks[name]
    }


@pytest.mark.eoepca_tree
@pytest.mark.flux_manifests
def test_minikube_differs_from_creodias_only_by_its_stack_file(tmp_path: Path) -> None:
    url = "https://git.example.org/eoepca-gitops.git"
    creodias_file = _completed(
        REPO_ROOT / "Pulumi.creodias.yaml",
        tmp_path / "c",
        **{"git.url": TREE_GIT_URL, "gitSshPrivateKey": {"secure": "v1:test"}},
    )
    infra = yaml.safe_load((REPO_ROOT / "Pulumi.creodias.yaml").read_text())["config"][
        "eoepca-gitops:cluster"
    ]
    minikube_file = _completed(
        REPO_ROOT / "Pulumi.minikube.yaml",
        tmp_path / "m",
        **{"git.url": url, **{f"cluster.{k}": infra[k] for k in ("nfs", "eoData", "objectStore")}},
    )
    creodias = _build(creodias_file)
    minikube = _build(minikube_file)
    mk = load_stack_file(minikube_file, BLOCKS_DIR).config
    cr = load_stack_file(creodias_file, BLOCKS_DIR).config
    # minikube also installs what creodias got out of band (cert-manager, sealed-secrets)
    assert mk.blocks == ["cluster-prerequisites", *cr.blocks]
    assert (mk.flux.version, cr.flux.version) == ("v2.9.3", "v0.24.0")
    assert not mk.flux.patches and set(cr.flux.patches) == {"source-controller", "kustomize-controller"}
    # Every block object is creodias' with the stack file's values swapped in (API versions follow
    # each stack's Flux version, and Flux's own objects come from each version's manifest).
    swaps = [
        (TREE_GIT_URL, url),
        ("./clusters/creodias", mk.git.path),
        ("develop.eoepca.org", str(mk.cluster.host_domain)),
        ("185.52.192.231", str(mk.cluster.public_ip)),
    ]

    def swapped(value: Any) -> Any:
        if isinstance(value, str):
            if value == cr.cluster.name:  # ${cluster_name} (not e.g. datahub.creodias.eu, a real service)
                return mk.cluster.name
            for a, b in swaps:
                value = value.replace(a, b)
            return value
        if isinstance(value, dict):
            return {k: swapped(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swapped(v) for v in value]
        return value

    a = _comparable(creodias)
    b = {k: v for k, v in _comparable(minikube).items() if k not in _comparable_block(minikube)}
    a.pop(("Secret", "flux-system", "flux-system"))  # creodias' deploy key; minikube's repo is public
    del a[("GitRepository", "flux-system", "flux-system")]["spec"]["secretRef"]
    assert set(a) == set(b)
    problems = [_report(str(k), d) for k in sorted(a) if (d := diff(b[k], swapped(a[k])))]
    assert not problems, "\n".join(problems)
    assert mk.cluster.host_domain == "192-168-49-2.nip.io"

    # Flux itself differs only by version and patches: same kinds of controllers installed.
    def controllers(m: StackManifests) -> list[str]:
        return sorted(o["metadata"]["name"] for o in m.flux if o["kind"] == "Deployment")

    assert controllers(creodias) == controllers(minikube)
    # And minikube's Git layer builds with its own values (no creodias sealed secrets).
    git = _git_layer(minikube)
    assert all("develop.eoepca.org" not in str(o) for o, _ in git)
    assert not [o for o, _ in git if o["kind"] == "SealedSecret"]


@pytest.mark.eoepca_tree
@pytest.mark.flux_manifests
def test_creodias_on_current_flux_has_current_apis_and_the_same_releases(tmp_path: Path) -> None:
    """The same stack on Flux v2.9.3: every HelmRelease in helm.toolkit.fluxcd.io/v2, content unchanged."""
    path = _completed(
        REPO_ROOT / "Pulumi.creodias.yaml",
        tmp_path,
        **{"git.url": TREE_GIT_URL, "gitSshPrivateKey": {"secure": "v1:t"}},
    )
    stack = load_stack_file(path, REPO_ROOT / defaults.BLOCKS_DIR)
    flux = stack.config.flux.model_copy(update={"version": "v2.9.3"})
    stack = stack.model_copy(update={"config": stack.config.model_copy(update={"flux": flux})})
    manifests = build_stack(stack, load_install_manifest(flux, file=path.name, project=REPO_ROOT))
    releases = {o["metadata"]["name"]: o for o in manifests.all() if o["kind"] == "HelmRelease"}
    originals = {o["metadata"]["name"]: o for _, o in original() if o["kind"] == "HelmRelease"}
    assert {o["apiVersion"] for o in releases.values()} == {"helm.toolkit.fluxcd.io/v2"}
    assert {o["apiVersion"] for o in manifests.all() if o["kind"] == "HelmRepository"} == {
        "source.toolkit.fluxcd.io/v1"
    }
    assert sorted(releases) == sorted(originals)
    problems = []
    for name, orig in originals.items():
        lines = [
            line
            for line in diff(
                _helm_release_view(as_flux_sees_it(releases[name])),
                _helm_release_view(_with_block_dependencies(orig)),
            )
            if not _allowed(line, DEVIATIONS.get(key(orig), (set(), ""))[0])
        ]
        if lines:
            problems.append(_report(name, lines))
    assert not problems, "\n".join(problems)
