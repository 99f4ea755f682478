"""Pure builders: model in, Kubernetes manifests (plain dicts) out, in a stable order.

Only flux_release does I/O (finding, downloading and caching a Flux install manifest).
"""
