"""eoepca-gitops: installs and drives Flux CD on Kubernetes clusters, one Pulumi stack per cluster.

This package imports no Pulumi module at import time, so the CLI and the poller start fast; only
the ComponentResource modules (flux_system, git_source, building_block, notifications, poller)
and the reconcile runner import pulumi.
"""
