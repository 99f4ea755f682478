"""Notifications: Flux Providers (webhook URLs as Pulumi secrets), Alerts and an optional Receiver."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.objects import ObjectsComponent
from eoepca_gitops.manifests.identity import COMPONENT_TYPES

__all__ = ["Notifications", "NotificationsArgs"]


@dataclass(frozen=True)
class NotificationsArgs:
    #: From eoepca_gitops.manifests.stack.build_stack(...).notifications.
    objects: Sequence[dict[str, Any]]


class Notifications(ObjectsComponent):
    alerts: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPES["notifications"], name, args.objects, opts)
        self.alerts = pulumi.Output.from_input(
            [o["metadata"]["name"] for o in args.objects if o["kind"] == "Alert"]
        )
        self.register_outputs({"alerts": self.alerts})
