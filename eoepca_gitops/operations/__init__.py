"""Operating a cluster through its stack: one status of both layers, reconcile now, suspend and
resume a block, undeploy Flux while the workloads keep running, and a status page."""
