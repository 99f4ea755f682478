#!/usr/bin/env bash
# The main job on the embedded default: set up, start the local cluster, and `pulumi up --stack local`
# (Flux v2.9.3 and every EOEPCA building block), then show what landed.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

step "Python environment and engine tools (cached after the first run)"
make --no-print-directory venv tools
. scripts/env.sh

step "Local Kubernetes cluster on 127.0.0.1"
eoepca-gitops dev-cluster up

step "pulumi up --stack local (state in ${PULUMI_BACKEND_URL})"
pulumi stack select local 2>/dev/null || pulumi stack init local
pulumi up --yes --stack local --non-interactive

step "What Flux now has to reconcile"
kubectl get deployments -n flux-system
kubectl get gitrepositories,kustomizations -A
kubectl get helmreleases -A
cat <<MSG

Done. Next: '. scripts/env.sh' then 'pulumi preview --stack local', 'eoepca-gitops render --stack local --out /tmp/r',
'pulumi destroy --stack local', 'eoepca-gitops dev-cluster down'.
MSG
