"""The Kubernetes adapter: the one place that talks to a cluster's API, at the bottom of the house.

client (a lightkube Client from a stack's kubeconfig and context, $KUBECONFIG or the pod's service
account; what its calls may fail with) -> resources (lightkube's classes for a kind, one cache of the
generic Flux classes) -> cluster (ClusterAccess: a stack's objects read and patched as dicts, every
failure a GitopsError) and the poller's in-cluster parts (state_configmap, lease); raw holds the few
urllib calls the dev cluster makes before any kubeconfig exists. Importing this package imports
nothing: each module brings its own dependencies (raw needs no lightkube).
"""
