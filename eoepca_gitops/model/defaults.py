"""Every default of the project, in one place: the CLI, the loader and the builders read them here."""

from __future__ import annotations

from typing import Final

FLUX_VERSION: Final = "v2.9.3"
FLUX_NAMESPACE: Final = "flux-system"
FLUX_REGISTRY: Final = "ghcr.io/fluxcd"
# As `flux install`: the image controllers are opt-in (extra components).
FLUX_COMPONENTS: Final = (
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
)
FLUX_EXTRA_COMPONENTS: Final = ("image-reflector-controller", "image-automation-controller")
FLUX_RELEASE_URL: Final = "https://github.com/fluxcd/flux2/releases/download/{version}/install.yaml"
CLUSTER_DOMAIN: Final = "cluster.local"
LOG_LEVEL: Final = "info"

GIT_SOURCE_NAME: Final = "flux-system"
GIT_INTERVAL: Final = "1m0s"
GIT_PATH: Final = "./clusters/flux"
# A roll-back's pin: the program makes the GitRepository's ref this commit (`rollback`, the poller's hold).
PIN_COMMIT: Final = "EOEPCA_GITOPS_PIN_COMMIT"

KUSTOMIZATION_INTERVAL: Final = "10m0s"
HELM_RELEASE_INTERVAL: Final = "5m0s"
HELM_REPOSITORY_INTERVAL: Final = "10m0s"

# The ConfigMap Flux substitutes cluster values from (postBuild.substituteFrom).
CLUSTER_VARS_CONFIGMAP: Final = "cluster-vars"
AWAIT_TIMEOUT: Final = "10m"

# Size profiles, after the Flux Operator's: reconcile concurrency and the manager's resources.
PROFILES: Final[dict[str, dict[str, object]]] = {
    "small": {"concurrent": 4, "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}}},
    "medium": {"concurrent": 10, "resources": {"limits": {"cpu": "2000m", "memory": "2Gi"}}},
    "large": {"concurrent": 20, "resources": {"limits": {"cpu": "4000m", "memory": "4Gi"}}},
}

CONFIG_NAMESPACE: Final = "eoepca-gitops"
BLOCKS_DIR: Final = "clusters/blocks"

# The poller (`eoepca-gitops poll`, and the in-cluster Deployment that runs it).
POLLER_NAME: Final = "eoepca-gitops-poller"
POLLER_NAMESPACE: Final = "eoepca-gitops"
POLLER_BRANCH: Final = "main"
POLLER_INTERVAL: Final = "10s"
POLLER_DRIFT_INTERVAL: Final = "10m"
POLLER_DRIFT_MODE: Final = "detect"
POLLER_PORT: Final = 9464
POLLER_LISTEN: Final = f"127.0.0.1:{POLLER_PORT}"
POLLER_GRACE: Final = "60s"
POLLER_STATE_FILE: Final = ".state/poller/state.json"
POLLER_STATE_DIR: Final = "/var/lib/eoepca-gitops"  # in the poller's container
POLLER_PASSPHRASE_SECRET: Final = "pollerPassphrase"
# The image this project publishes (Containerfile, .github/workflows/image.yml) at this version;
# tests/test_image.py keeps the tag equal to pyproject.toml's version.
POLLER_IMAGE: Final = "ghcr.io/eoepca/eoepca-gitops:0.1.0"
# The container's user (Containerfile): the pod runs as it, with runAsNonRoot.
POLLER_UID: Final = 65532
# Idle it holds ~85 MB; a `pulumi up` adds the CLI, the language host and the Kubernetes provider.
POLLER_CPU_REQUEST: Final = "100m"
POLLER_MEMORY_REQUEST: Final = "256Mi"
POLLER_MEMORY_LIMIT: Final = "1Gi"
POLLER_BACKOFF_BASE: Final = "10s"
POLLER_BACKOFF_CAP: Final = "1h"
POLLER_STALL_AFTER: Final = 3
POLLER_MAX_PARALLEL: Final = 2
POLLER_LEASE_DURATION: Final = "15s"
POLLER_ROLLBACK_DEADLINE: Final = "10m"  # a new revision not Ready this long is rolled back (when on)
