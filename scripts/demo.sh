#!/usr/bin/env bash
# The main job on the embedded default: set up, start the local cluster with the real Flux
# controllers, and `pulumi up --stack local` (Flux v2.9.3 and every EOEPCA building block); the
# update returns once Flux reports every Kustomization and HelmRelease Ready. Then show what landed.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

step "Python environment and engine tools (cached after the first run)"
make --no-print-directory venv tools
. scripts/env.sh

step "Local cluster on 127.0.0.1: Kubernetes, Flux's controllers, a Git server for this checkout, stand-in charts"
eoepca-gitops dev-cluster up

step "pulumi up --stack local (state in ${PULUMI_BACKEND_URL}; Flux clones the committed state of this checkout)"
pulumi stack select local 2>/dev/null || pulumi stack init local
pulumi up --yes --stack local --non-interactive

step "What Flux reports"
eoepca-gitops dev-cluster status || true
kubectl get gitrepositories,kustomizations -A
kubectl get helmreleases -A
cat <<MSG

Done: every block is Ready as Flux's own controllers report it. To look further, after '. scripts/env.sh':
  kubectl get helmreleases -A                  # Flux's view of each release
  kubectl get secrets -A -l owner=helm         # the Helm releases helm-controller installed
  pulumi preview --stack local                 # exactly what a change will do
  pulumi destroy --stack local && eoepca-gitops dev-cluster down
MSG
