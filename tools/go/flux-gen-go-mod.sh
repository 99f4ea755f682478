#!/usr/bin/env bash
# Regenerates the go.mod/go.sum of the wrapper module tools/go/flux-<name>/ for one Flux controller
# release: it requires github.com/fluxcd/<name> and its /api module at the same version (upstream's
# `/api => ./api` replace is local, and the module zip leaves api/ out) and copies only the
# controller's non-local replaces (`=> module version`).
#   tools/go/flux-gen-go-mod.sh source-controller v1.9.3
set -euo pipefail
name=${1:?usage: flux-gen-go-mod.sh <controller name> vX.Y.Z}
VERSION=${2:?usage: flux-gen-go-mod.sh <controller name> vX.Y.Z}
cd "$(dirname "$0")/flux-$name"
module=github.com/fluxcd/$name
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
upstream=$(go mod download -json "$module@$VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
{
  echo "module local/tools/flux-$name"
  echo
  grep -E '^go |^godebug' "$upstream"
} > go.mod
# Replaces, single-line or in a block: keep those whose target is a module version, not a path.
sed -e 's/^replace[[:space:]]*//' "$upstream" | awk '
  /^\(/ || /^\)/ { next }
  $2 == "=>" && NF == 4 && $3 !~ /^\.\.?\// { print $1 "=" $3 "@" $4 }
' | while read -r r; do go mod edit -replace "$r"; done
rm -f go.sum
go get -tool "$module@$VERSION"
go get "$module/api@$VERSION"
go mod tidy
