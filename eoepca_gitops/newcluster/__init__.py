"""`eoepca-gitops new-cluster`: a new stack file from an existing one and the checklist that takes it
to `pulumi up` (copy, roundtrip, missing, checklist, advice); the command is eoepca_gitops.cli.new_cluster."""
