# shellcheck shell=bash
# Source this (`. scripts/env.sh`) to run pulumi, kubectl and eoepca-gitops by hand against the
# local stack: the built tools on PATH, the local state backend, the local stack's passphrase and
# the dev cluster's kubeconfig. Each value can be overridden by setting it before sourcing.
_repo=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
eval "$("$_repo/scripts/tools.sh" --env)"
export PATH="$_repo/.venv/bin:$PATH"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$_repo/.state/pulumi}"
# The documented passphrase of the local stack (its Pulumi.local.yaml salt is for it); real
# clusters use their own, from a secret store, never this one.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-local}"
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
# Air-gapped here: the shared copies of the Flux release manifests stand in for the download.
[ -d "$_repo/../shared/flux" ] && export EOEPCA_FLUX_MANIFESTS="${EOEPCA_FLUX_MANIFESTS:-$(cd "$_repo/../shared/flux" && pwd)}"
export KUBECONFIG="${KUBECONFIG:-$_repo/.state/dev-cluster/kubeconfig}"
mkdir -p "$_repo/.state/pulumi"
unset _repo
