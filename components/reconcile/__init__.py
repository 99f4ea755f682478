"""The poller: continuous reconciliation of Pulumi stacks from a Git branch.

state (persisted per stack) -> decide (pure) -> source (ls-remote, worktrees) -> runner (the only
user of pulumi.automation) -> loop (ticks, bounded pool, shutdown) -> metrics (HTTP endpoint).
Importing this package imports no Pulumi module; only `runner` does.
"""
