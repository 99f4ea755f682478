"""The validated, typed model: stack config joined with the building blocks it enables."""

from eoepca_gitops.model.blocks import Block, BlockCatalog, HelmRelease, HelmRepository, Kustomization
from eoepca_gitops.model.cluster import ClusterConfig
from eoepca_gitops.model.loader import load_blocks, load_stack
from eoepca_gitops.model.notifications import NotificationsConfig
from eoepca_gitops.model.poller import PollerConfig
from eoepca_gitops.model.stack import (
    BucketConfig,
    FluxConfig,
    GitConfig,
    Stack,
    StackConfig,
)

__all__ = [
    "Block",
    "BlockCatalog",
    "BucketConfig",
    "ClusterConfig",
    "FluxConfig",
    "GitConfig",
    "HelmRelease",
    "HelmRepository",
    "Kustomization",
    "NotificationsConfig",
    "PollerConfig",
    "Stack",
    "StackConfig",
    "load_blocks",
    "load_stack",
]
