"""The pinned Kubernetes version's OpenAPI v3, cached outside the repository, read per group-version.

Kubernetes keeps what kube-apiserver serves at /openapi/v3/<path> in api/openapi-spec/v3/ of the
k8s.io/kubernetes module, one file per group-version (`apis__apps__v1_openapi.json` is
/openapi/v3/apis/apps/v1), regenerated from the same Go types at each release but without the
enums of built-in kinds (hack/update-openapi-spec.sh runs the server with OpenAPIEnums=false).
They are Kubernetes' files: never committed here, copied once into
~/.cache/eoepca-gitops/openapi/<version>/ (EOEPCA_CACHE_DIR moves it; its SOURCE file says which
way) from

- the Go module cache, where `scripts/tools.sh` left the module when it built kube-apiserver, or
  `go mod download` from the Go module proxy (`fetch_from_module`, the primary way: cheap, the same
  on a machine without the engine, as strict as kubeconform's schemas, also made without enums);
- or a running kube-apiserver of that version (`fetch_from_cluster`, through kubectl): the same
  schemas with the enums, so a value outside one is refused too, as the API server refuses it.

Reading finds them in the cache or, offline and at no cost, in the Go module cache; otherwise it
fails once, naming the command that fetches them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from eoepca_gitops.errors import GitopsError
from eoepca_gitops.files import read_bytes, write_file
from eoepca_gitops.fluxtree.kustomize import kubectl
from eoepca_gitops.manifests.flux_release import cache_root

__all__ = [
    "KUBERNETES_VERSION",
    "OpenAPIMissingError",
    "fetch_from_cluster",
    "fetch_from_module",
    "group_versions",
    "kubernetes_openapi_dir",
    "openapi_dir",
]

# The Kubernetes of the engine: K8S_VERSION in scripts/tools.sh (a unit test keeps the two equal).
KUBERNETES_VERSION: Final = "v1.37.2"
MODULE: Final = "k8s.io/kubernetes"
SPEC_IN_MODULE: Final = "api/openapi-spec/v3"
FETCH_COMMAND: Final = "eoepca-gitops fetch-schemas"
_SUFFIX = "_openapi.json"
_SOURCE_NOTE = "SOURCE"


class OpenAPIMissingError(GitopsError):
    """The Kubernetes OpenAPI that validation needs is neither cached nor in the Go module cache."""


def openapi_dir(version: str = KUBERNETES_VERSION) -> Path:
    return cache_root() / "openapi" / version


def _file_name(api_path: str) -> str:
    """apis/apps/v1 -> apis__apps__v1_openapi.json, as Kubernetes names them."""
    return api_path.strip("/").replace("/", "__") + _SUFFIX


def group_versions(folder: Path) -> dict[str, str]:
    """apiVersion (v1, apps/v1, ...) -> the file of its OpenAPI document in `folder`."""
    found = {}
    for path in folder.glob(f"*{_SUFFIX}"):
        parts = path.name[: -len(_SUFFIX)].split("__")
        if parts[0] == "api" and len(parts) == 2:
            found[parts[1]] = path.name
        elif parts[0] == "apis" and len(parts) == 3:
            found[f"{parts[1]}/{parts[2]}"] = path.name
    return found


def _gomodcache() -> Path:
    """Where Go keeps modules, without asking go (which may be absent): GOMODCACHE, GOPATH, ~/go."""
    if os.environ.get("GOMODCACHE"):
        return Path(os.environ["GOMODCACHE"])
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0]
    return Path(gopath or Path.home() / "go") / "pkg" / "mod"


def _module_spec(version: str) -> Path:
    return _gomodcache() / f"{MODULE}@{version}" / SPEC_IN_MODULE


@contextmanager
def _filling(version: str) -> Iterator[Path]:
    """A scratch folder that becomes the cache of `version` at once if the block succeeds."""
    target = openapi_dir(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
    try:
        yield scratch
        if not group_versions(scratch):
            raise GitopsError(f"no OpenAPI documents came for Kubernetes {version}")
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_from(spec: Path, version: str, source: str) -> Path:
    with _filling(version) as scratch:
        for path in spec.glob(f"*{_SUFFIX}"):
            write_file(scratch, path.name, read_bytes(path), replace=True)
        write_file(scratch, _SOURCE_NOTE, source + "\n", replace=True)
    return openapi_dir(version)


def _go_mod_download(version: str) -> Path:
    go = shutil.which("go")
    if go is None:
        raise OpenAPIMissingError(
            f"go is required to download {MODULE}@{version} from the Go module proxy "
            f"(or pass --kubeconfig of a running kube-apiserver {version})"
        )
    with tempfile.TemporaryDirectory() as outside_any_module:
        done = subprocess.run(
            [go, "mod", "download", "-json", f"{MODULE}@{version}"],
            cwd=outside_any_module,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        answer = {"Error": done.stderr.strip() or f"exit code {done.returncode}"}
    if done.returncode != 0 or "Dir" not in answer:
        raise OpenAPIMissingError(f"go mod download {MODULE}@{version}: {answer.get('Error', '?')}")
    return Path(answer["Dir"]) / SPEC_IN_MODULE


def fetch_from_module(version: str = KUBERNETES_VERSION, *, download: bool = True) -> Path:
    """Caches the module's api/openapi-spec/v3 (what kube-apiserver serves); returns the cache folder.

    The Go module cache first; with `download`, `go mod download` when the module is not there.
    """
    spec = _module_spec(version)
    if not spec.is_dir():
        if not download:
            raise OpenAPIMissingError(f"{MODULE}@{version} is not in the Go module cache {_gomodcache()}")
        spec = _go_mod_download(version)
    return _copy_from(spec, version, f"{MODULE}@{version} {SPEC_IN_MODULE} (Go module)")


def _raw(kubeconfig: Path, path: str, *, gone_ok: bool = False) -> Any:
    """The JSON the API server serves at `path`; None when `gone_ok` and it serves nothing there."""
    done = subprocess.run(
        [kubectl(), "--kubeconfig", str(kubeconfig), "get", "--raw", path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        if gone_ok and "(NotFound)" in done.stderr:
            return None
        raise GitopsError(f"kubectl get --raw {path}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return json.loads(done.stdout)


def fetch_from_cluster(kubeconfig: Path, version: str = KUBERNETES_VERSION) -> Path:
    """Caches what a running kube-apiserver of `version` serves at /openapi/v3; returns the folder.

    Only the built-in group-versions are kept: a cluster also serves its CRDs' schemas, which
    validation takes from the CRDs themselves."""
    served = _raw(kubeconfig, "/version").get("gitVersion")
    if served != version:
        raise GitopsError(f"the cluster of {kubeconfig} runs Kubernetes {served}, not {version}")
    crds = _raw(kubeconfig, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions").get("items", [])
    custom = {f"apis/{c['spec']['group']}/{v['name']}" for c in crds for v in c["spec"]["versions"]}
    paths = _raw(kubeconfig, "/openapi/v3").get("paths", {})
    with _filling(version) as scratch:
        for api_path, where in sorted(paths.items()):
            if api_path not in custom:
                # The index lags behind the CRDs: one deleted since the list above is still in it.
                document = _raw(kubeconfig, where["serverRelativeURL"], gone_ok=True)
                if document is None:
                    continue
                write_file(scratch, _file_name(api_path), json.dumps(document), replace=True)
        note = f"kube-apiserver {version} (kubectl get --raw /openapi/v3)\n"
        write_file(scratch, _SOURCE_NOTE, note, replace=True)
    return openapi_dir(version)


def _missing(version: str) -> OpenAPIMissingError:
    return OpenAPIMissingError(
        f"no OpenAPI of Kubernetes {version} in {openapi_dir(version)}: run `{FETCH_COMMAND}` "
        f"(copies api/openapi-spec/v3 of the Go module {MODULE}@{version}, downloaded from the Go "
        "module proxy if needed; or `--kubeconfig FILE` of a running kube-apiserver of that version)"
    )


def kubernetes_openapi_dir(version: str = KUBERNETES_VERSION) -> Path:
    """The cached folder of `version`'s documents, filled from the Go module cache if it is there."""
    folder = openapi_dir(version)
    if group_versions(folder):
        return folder
    if _module_spec(version).is_dir():
        return fetch_from_module(version, download=False)
    raise _missing(version)
