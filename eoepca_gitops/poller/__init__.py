"""The poller: keeps Pulumi stacks at the head of a Git branch and checks them for drift.

state (persisted per stack) -> decide (pure) -> source (ls-remote, worktrees) -> automation (the
only user of pulumi.automation) -> loop (ticks, bounded pool, shutdown) -> metrics (HTTP endpoint);
its in-cluster state ConfigMap and Lease are eoepca_gitops.kube's. Importing this package imports no Pulumi
module; only `automation` does.
"""
