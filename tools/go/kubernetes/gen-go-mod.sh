#!/usr/bin/env bash
# Regenerates this wrapper's go.mod for a Kubernetes release: k8s.io/kubernetes requires its staging
# modules as v0.0.0 with local replaces, which a wrapper must point at the published v0.X.Y tags.
set -euo pipefail
K8S_VERSION=${1:?usage: gen-go-mod.sh v1.X.Y}
cd "$(dirname "$0")"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
upstream=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
staging=v0.${K8S_VERSION#v1.}
{
  echo "module local/tools/kubernetes"
  echo
  grep -E '^go |^godebug' "$upstream"
  echo
  grep -E '^\s+k8s\.io/[A-Za-z0-9._-]+ v0\.0\.0$' "$upstream" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
} > go.mod
rm -f go.sum
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
  "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
  "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION"
