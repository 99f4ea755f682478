"""Everything a stack renders, against one golden file: every builder's keys and values at once.

The fixture (tests/fixtures/full-stack, stack `staging`) enables each builder: the Git source with
its ssh auth Secret, a bucket source with credentials, blocks with Helm repositories (one
redirected by `charts`), HelmReleases and Kustomizations that depend on each other, postBuild
substitute and substituteFrom with a variables ConfigMap, the cluster values, an override,
await (which leaves the objects as they are: components/flux_await.py waits), drift exemptions
(of the stack and of blocks, of objects and of fields), notification providers (one with its
address in a stack secret), alerts and a receiver, and the in-cluster poller with credential
secrets, a lease and its drift settings.

It is loaded and rendered as `eoepca-gitops render` does (cli/common.load, render_files). Of
Flux's install only the controllers' Deployments are kept (where the cluster's flux options and
patches land): the rest is the release manifest as it comes, CRDs included.
`pytest --update-golden` rewrites the golden file: review its diff before committing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eoepca_gitops.cli.common import load
from eoepca_gitops.manifests.flux_release import MIRROR_ENV
from eoepca_gitops.manifests.render import render_files
from tests.helpers import FIXTURES
from tests.outside_data import flux_manifests

pytestmark = pytest.mark.flux_manifests

FIXTURE = FIXTURES / "full-stack"


def _kept(path: str) -> bool:
    return not path.startswith("flux-system/") or path.startswith("flux-system/Deployment_")


def test_full_stack_renders_as_the_golden_file(
    golden: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(flux_manifests()))  # the fixture names no manifest
    prepared = load("staging", FIXTURE)
    assert prepared.stack.unset == ()  # nothing rendered as a placeholder but the (encrypted) secrets
    files = render_files(prepared.manifests)
    assert list(files) == sorted(files)
    text = "".join(f"# {path}\n{content}" for path, content in files.items() if _kept(path))
    golden("render-full-stack.txt", text)
