"""The validated, typed model: stack config joined with the building blocks it enables."""

from components.model.blocks import Block, BlockCatalog, HelmRelease, HelmRepository, Kustomization
from components.model.loader import load_blocks, load_stack, load_stack_file
from components.model.stack import Cluster, Flux, Git, Notifications, Stack, StackConfig

__all__ = [
    "Block",
    "BlockCatalog",
    "Cluster",
    "Flux",
    "Git",
    "HelmRelease",
    "HelmRepository",
    "Kustomization",
    "Notifications",
    "Stack",
    "StackConfig",
    "load_blocks",
    "load_stack",
    "load_stack_file",
]
