"""The poller: keeps Pulumi stacks at the head of a Git branch and checks them for drift.

state (persisted per stack) -> decide (pure) -> source (ls-remote, worktrees) -> automation (the
only user of pulumi.automation) -> loop (ticks, bounded pool, shutdown) -> metrics (HTTP endpoint);
kube holds the in-cluster state ConfigMap and Lease. Importing this package imports no Pulumi
module; only `automation` does.
"""
