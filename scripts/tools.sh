#!/usr/bin/env bash
# Builds, downloads or finds the real engine parts this project runs against: the Pulumi CLI, the
# Kubernetes provider, kube-apiserver/controller-manager/scheduler, etcd, kwok and the four Flux
# controllers (source, kustomize, helm, notification) to run as host processes. Each lands in a cache
# outside the repository, once; a run with everything present fetches and builds nothing.
#
# Where the internet is there (GitHub's runners), a tool comes from its project's official release
# download, pinned by version and sha256 (builtin_pins below; a mismatch is refused and nothing is
# installed). A tool without a pinned checksum, or whose download cannot be reached (always the case
# on a machine that reaches only package registries), is built from the Go module proxy at the
# versions pinned in tools/go/*/go.mod (+ go.sum).
#
#   scripts/tools.sh            every engine tool
#   scripts/tools.sh NAME...    only these (pulumi kubernetes-provider kubernetes etcd kwok flux,
#                               or one controller: flux-source-controller flux-kustomize-controller
#                               flux-helm-controller flux-notification-controller; `flux` = all four;
#                               helm: the Helm 3 client of the upgrade test and of `diff`'s Helm layer;
#                               actionlint: the workflow linter of `make check`)
#   scripts/tools.sh --env      print the exports only (for eval)
#
# EOEPCA_TOOLS_DIR moves the cache (default ~/.cache/eoepca-gitops/tools).
# EOEPCA_TOOLS_DOWNLOAD=0 builds everything (no download is tried).
# EOEPCA_GITHUB_RELEASES, EOEPCA_HELM_RELEASES and EOEPCA_K8S_RELEASES move the download hosts (a mirror;
# the download path's test serves the release layout on 127.0.0.1). EOEPCA_TOOLS_PINS names a file of
# `tool version sha256` lines that replaces the pin table (that test's made-up artefacts).
# EOEPCA_TOOLS_LEAN=1 empties Go's build and module caches after each build: a cold build of
# everything otherwise leaves ~23 GB of them, more than a hosted CI runner's disk.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
wrappers=$repo/tools/go
tools_dir=${EOEPCA_TOOLS_DIR:-$HOME/.cache/eoepca-gitops/tools}
bin_dir=$tools_dir/bin

PULUMI_VERSION=v3.274.1
K8S_PROVIDER_VERSION=4.25.0
K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
# Flux v2.9.3's controllers (flux/install-v2.9.3.yaml), except helm-controller: v1.6.3 replaces helm
# with a fork the module proxy refuses; v1.6.4 (same helm.toolkit.fluxcd.io/v2 API) uses upstream helm.
FLUX_SOURCE_VERSION=v1.9.3
FLUX_KUSTOMIZE_VERSION=v1.9.4
FLUX_HELM_VERSION=v1.6.4
FLUX_NOTIFICATION_VERSION=v1.9.2
# A Helm 3 client, as the Helm of Flux v0.x's helm-controller: the upgrade test installs releases with it
# the way an old helm-controller left them (tests/integration/test_upgrade.py).
HELM_VERSION=v3.18.6
ACTIONLINT_VERSION=v1.7.12

GITHUB_RELEASES=${EOEPCA_GITHUB_RELEASES:-https://github.com}
HELM_RELEASES=${EOEPCA_HELM_RELEASES:-https://get.helm.sh}
K8S_RELEASES=${EOEPCA_K8S_RELEASES:-https://dl.k8s.io}

# The sha256 of each linux/amd64 release artefact as its project publishes it, found in two
# independent public copies (docs/engine.md names them); never taken from a first download. A tool
# with no line here is always built: no published checksum of its pinned version could be found
# (docs/engine.md says where we looked), or its project publishes no binary (Flux's controllers ship
# as container images only).
builtin_pins() {
  cat <<'EOF'
helm v3.18.6 3f43c0aa57243852dd542493a0f54f1396c0bc8ec7296bbb2c01e802010819ce
kwok v0.8.0 f5a4385a2ae1b9dd7f8acae18e002a75c0ebba124ae9d7259aa8dadb50711f46
EOF
}

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

need_go() {
  command -v go >/dev/null || { log "go is required (1.26+) to build the tools"; exit 1; }
}

# Runs a build step with its elapsed time; the step's output goes to a log kept beside the tool.
timed() {
  local name=$1 logfile=$2; shift 2
  need_go
  local start=$SECONDS
  log "$name: building (log: $logfile)"
  if ! "$@" >"$logfile" 2>&1; then
    log "$name: FAILED after $((SECONDS - start)) s; last lines of $logfile:"
    tail -n 20 "$logfile" >&2
    exit 1
  fi
  log "$name: built in $((SECONDS - start)) s"
  if [ "${EOEPCA_TOOLS_LEAN:-0}" = 1 ]; then
    go clean -cache -modcache
    log "$name: Go's build and module caches emptied (EOEPCA_TOOLS_LEAN=1)"
  fi
}

pin() {
  if [ -n "${EOEPCA_TOOLS_PINS:-}" ]; then cat "$EOEPCA_TOOLS_PINS"; else builtin_pins; fi |
    awk -v tool="$1" -v version="$2" '$1 == tool && $2 == version { print $3 }'
}

# Where a tool's project publishes its linux/amd64 binary: "URL MEMBER", MEMBER being the binary's
# path in the archive, or - when the artefact is the binary itself.
release_artefact() {
  local tool=$1 v=$2
  case "$tool" in
    pulumi) echo "$GITHUB_RELEASES/pulumi/pulumi/releases/download/$v/pulumi-$v-linux-x64.tar.gz pulumi/pulumi" ;;
    pulumi-resource-kubernetes)
      echo "$GITHUB_RELEASES/pulumi/pulumi-kubernetes/releases/download/v$v/pulumi-resource-kubernetes-v$v-linux-amd64.tar.gz pulumi-resource-kubernetes" ;;
    kube-apiserver | kube-controller-manager | kube-scheduler) echo "$K8S_RELEASES/release/$v/bin/linux/amd64/$tool -" ;;
    etcd) echo "$GITHUB_RELEASES/etcd-io/etcd/releases/download/$v/etcd-$v-linux-amd64.tar.gz etcd-$v-linux-amd64/etcd" ;;
    kwok) echo "$GITHUB_RELEASES/kubernetes-sigs/kwok/releases/download/$v/kwok-linux-amd64 -" ;;
    helm) echo "$HELM_RELEASES/helm-$v-linux-amd64.tar.gz linux-amd64/helm" ;;
    *) echo "" ;;
  esac
}

# Installs a tool's official binary as DEST: downloaded into a staging folder beside it, its sha256
# checked against the pin, then renamed into place, so that DEST is never a partial or unchecked
# file. Returns 1 (the caller builds instead) when nothing is pinned or the download cannot be
# reached; a checksum other than the pinned one stops everything.
download() {
  local tool=$1 version=$2 dest=$3
  [ "${EOEPCA_TOOLS_DOWNLOAD:-1}" != 0 ] && [ "$(uname -sm)" = "Linux x86_64" ] || return 1
  local want url member
  want=$(pin "$tool" "$version")
  read -r url member <<<"$(release_artefact "$tool" "$version")"
  if [ -z "$want" ] || [ -z "$url" ]; then
    log "$tool $version: no release download pinned (builtin_pins): building it"
    return 1
  fi
  local stage
  stage=$(mktemp -d "$(dirname "$dest")/.download-$tool-XXXXXX")
  if ! curl -fsSL --connect-timeout 10 --retry 2 -o "$stage/artefact" "$url" 2>"$stage/curl.log"; then
    log "$tool $version: download unreachable ($(tail -n 1 "$stage/curl.log")): building it"
    rm -rf "$stage"
    return 1
  fi
  local got
  got=$(sha256sum "$stage/artefact" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    rm -rf "$stage"
    log "$tool $version: REFUSED $url: its sha256 is $got, the pinned one is $want; nothing installed"
    exit 1
  fi
  if [ "$member" = - ]; then
    mv "$stage/artefact" "$stage/binary"
  elif tar -xzf "$stage/artefact" -C "$stage" "$member" 2>"$stage/tar.log"; then
    mv "$stage/$member" "$stage/binary"
  else
    log "$tool $version: $url holds no $member ($(tail -n 1 "$stage/tar.log")); nothing installed"
    rm -rf "$stage"
    exit 1
  fi
  chmod 0755 "$stage/binary"
  mv -f "$stage/binary" "$dest"
  rm -rf "$stage"
  log "$tool $version: downloaded $url (sha256 verified)"
}

# DEST if present, else its official download (pinned), else what the remaining arguments build.
obtain() {
  local tool=$1 version=$2 dest=$3
  shift 3
  if [ -x "$dest" ]; then
    log "$tool $version: present in $(dirname "$dest")"
    return
  fi
  mkdir -p "$(dirname "$dest")"
  download "$tool" "$version" "$dest" || "$@"
}

link() { mkdir -p "$bin_dir"; ln -sfn "$1" "$bin_dir/$(basename "$1")"; }

module_dir() {
  need_go
  go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}

build_pulumi() {
  local dir=$tools_dir/pulumi-$PULUMI_VERSION
  obtain pulumi "$PULUMI_VERSION" "$dir/pulumi" \
    timed "pulumi $PULUMI_VERSION" "$dir.build.log" bash -c "cd '$wrappers/pulumi' && go build -trimpath \
      -tags osusergo,grpcnotrace \
      -ldflags '-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION' \
      -o '$dir/pulumi.tmp' github.com/pulumi/pulumi/pkg/v3/cmd/pulumi && mv '$dir/pulumi.tmp' '$dir/pulumi'"
  # The Python language host is looked up beside the CLI (tools/language-host/README.md). Copied, not
  # linked: every checkout shares this cache, and a link into one breaks when that one is removed.
  rm -f "$dir/pulumi-language-python"
  install -m 0755 "$repo/tools/language-host/pulumi-language-python" "$dir/pulumi-language-python"
  install -m 0644 "$repo/tools/language-host/pulumi_language_python.py" "$dir/pulumi_language_python.py"
  if [ ! -x "$dir/pulumi-language-python-exec" ]; then
    local sdk
    sdk=$(cd "$wrappers/pulumi" && module_dir "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION")
    install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$dir/pulumi-language-python-exec"
  fi
  # Python dynamic providers (pulumi.dynamic; the Flux upgrade's migration step) run through this
  # bundled plugin, which the CLI also looks up beside itself (tools/language-host/README.md).
  install -m 0755 "$repo/tools/language-host/pulumi-resource-pulumi-python" "$dir/pulumi-resource-pulumi-python"
  # Both Python plugins end with their engine through it (tools/language-host/README.md).
  install -m 0644 "$repo/tools/language-host/engine_watch.py" "$dir/engine_watch.py"
  link "$dir/pulumi"
}

# The Kubernetes provider as the engine starts it: a launcher in front of the binary, which stays where
# it was built. engine_watch.py (copied beside the binary) execs the binary and kills it when its engine
# is gone (tools/language-host/README.md). The interpreter is resolved once: a pyenv shim costs 0.1 s
# a start; stdlib only, so any python3 will do if that one goes away.
write_provider_launcher() {
  local dir=$1 out=$2 python
  install -m 0644 "$repo/tools/language-host/engine_watch.py" "$dir/engine_watch.py"
  python=$(python3 -c 'import sys; print(sys.executable)')
  cat >"$out.tmp" <<EOF
#!/bin/sh
# pulumi-resource-kubernetes $K8S_PROVIDER_VERSION as the engine starts it (scripts/tools.sh): ends with its engine.
python='$python'
[ -x "\$python" ] || python=python3
exec "\$python" -I -S '$dir/engine_watch.py' '$dir/pulumi-resource-kubernetes' "\$@"
EOF
  chmod 0755 "$out.tmp"
  mv -f "$out.tmp" "$out"  # replaces the link to the binary that earlier versions of this script made
}

build_kubernetes_provider() {
  local dir=$tools_dir/pulumi-resource-kubernetes-$K8S_PROVIDER_VERSION
  # The single quotes are meant: the build script expands its own positional arguments.
  # shellcheck disable=SC2016
  obtain pulumi-resource-kubernetes "$K8S_PROVIDER_VERSION" "$dir/pulumi-resource-kubernetes" \
    timed "pulumi-resource-kubernetes $K8S_PROVIDER_VERSION" "$dir.build.log" bash -c '
      set -euo pipefail
      wrapper=$1 out=$2 version=$3 module_version=$4
      cd "$wrapper"
      src=$(go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$module_version" | sed -n "s/^\t\"Dir\": \"\(.*\)\",$/\1/p")
      # main.go embeds two JSON files that upstream generates (git-ignored) before building:
      # generate them on a writable copy and build the wrapper against that copy.
      work=$(mktemp -d)
      trap "chmod -R u+w $work; rm -rf $work" EXIT
      cp -r "$src" "$work/provider"; chmod -R u+w "$work/provider"
      cp go.mod go.sum "$work/"
      (cd "$work/provider/cmd/pulumi-resource-kubernetes" && VERSION=$version GOFLAGS=-modfile=$work/go.mod go run generate.go)
      cd "$work" && mkdir wrapper && mv go.mod go.sum wrapper/ && cd wrapper
      go mod edit -replace "github.com/pulumi/pulumi-kubernetes/provider/v4=../provider"
      go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version" \
        -o "$out/pulumi-resource-kubernetes.tmp" github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes
      mv "$out/pulumi-resource-kubernetes.tmp" "$out/pulumi-resource-kubernetes"
    ' _ "$wrappers/kubernetes-provider" "$dir" "$K8S_PROVIDER_VERSION" "$K8S_PROVIDER_MODULE_VERSION"
  mkdir -p "$bin_dir"
  write_provider_launcher "$dir" "$bin_dir/pulumi-resource-kubernetes"
}

build_kubernetes() {
  local dir=$tools_dir/kubernetes-$K8S_VERSION
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local pkg ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local bin
  for bin in kube-apiserver kube-controller-manager kube-scheduler; do
    obtain "$bin" "$K8S_VERSION" "$dir/$bin" \
      timed "$bin $K8S_VERSION" "$dir/$bin.build.log" bash -c "cd '$wrappers/kubernetes' && \
        go build -trimpath -ldflags '$ldflags' -o '$dir/$bin.tmp' k8s.io/kubernetes/cmd/$bin && mv '$dir/$bin.tmp' '$dir/$bin'"
    link "$dir/$bin"
  done
}

# One Go main package per call: name, version, wrapper folder, package path, optional ldflags and
# optional cache folder prefix (default: the name; the binary is <prefix>-<version>/<name>).
build_simple() {
  local name=$1 version=$2 wrapper=$3 pkg=$4 ldflags=${5:-} prefix=${6:-$1}
  local dir=$tools_dir/$prefix-$version
  obtain "$name" "$version" "$dir/$name" \
    timed "$name $version" "$dir.build.log" bash -c "cd '$wrappers/$wrapper' && \
      go build -trimpath -ldflags '-s -w $ldflags' -o '$dir/$name.tmp' $pkg && mv '$dir/$name.tmp' '$dir/$name'"
  link "$dir/$name"
}

build_etcd() { build_simple etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3; }

build_kwok() {
  build_simple kwok "$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwok \
    "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  # Stage definitions (fake node heartbeat, pods Running/Ready) ship in the module, not the release.
  local stages=$tools_dir/kwok-$KWOK_VERSION/stages
  compgen -G "$stages/*.yaml" >/dev/null && return
  local src
  src=$(cd "$wrappers/kwok" && module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")
  mkdir -p "$stages"
  cp -f "$src"/kustomize/stage/node/fast/*.yaml "$src"/kustomize/stage/pod/fast/*.yaml "$stages/" 2>/dev/null || true
  chmod -R u+w "$stages"
}

# Flux controllers: one wrapper each (tools/go/flux-<name>, regenerated by tools/go/flux-gen-go-mod.sh); the
# main package is the module root. main.go sets no version variable, so there is no version ldflag.
# Binaries: $tools_dir/flux-<name>-<version>/<name>, linked as $bin_dir/<name>.
build_flux_controller() {
  local name=$1 version=$2
  build_simple "$name" "$version" "flux-$name" "github.com/fluxcd/$name" "" "flux-$name"
}

build_flux() {
  build_flux_controller source-controller "$FLUX_SOURCE_VERSION"
  build_flux_controller kustomize-controller "$FLUX_KUSTOMIZE_VERSION"
  build_flux_controller helm-controller "$FLUX_HELM_VERSION"
  build_flux_controller notification-controller "$FLUX_NOTIFICATION_VERSION"
}

build_helm() {
  build_simple helm "$HELM_VERSION" helm helm.sh/helm/v3/cmd/helm \
    "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
}

# The workflow linter of `make check` (it runs shellcheck on the workflows' scripts).
build_actionlint() {
  build_simple actionlint "$ACTIONLINT_VERSION" actionlint github.com/rhysd/actionlint/cmd/actionlint \
    "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"
}

# A user who installed Pulumi the official way keeps it: we only add what is missing.
official_pulumi() {
  local found
  found=$(command -v pulumi 2>/dev/null) || return 1
  case "$found" in "$bin_dir"/*) return 1 ;; esac
  log "pulumi: using the one already installed at $found ($(pulumi version)); not building it"
}

# The same for the Kubernetes provider: an installed plugin of the pinned version is used as it is.
official_provider() {
  [ -x "$bin_dir/pulumi-resource-kubernetes" ] && return 1
  command -v pulumi >/dev/null 2>&1 || return 1
  pulumi plugin ls 2>/dev/null | awk '$1=="kubernetes" && $2=="resource" {print $3}' \
    | grep -qx "$K8S_PROVIDER_VERSION" || return 1
  log "pulumi-resource-kubernetes: plugin $K8S_PROVIDER_VERSION already installed; not building it"
}

# The plugin cache gets the launcher (bin/pulumi-resource-kubernetes), not a copy of the binary; one that
# holds anything else (a copy installed by an earlier version of this script) is replaced.
install_provider_plugin() {
  local pulumi=$1 have installed staging
  installed=${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-kubernetes-v$K8S_PROVIDER_VERSION/pulumi-resource-kubernetes
  if cmp -s "$installed" "$bin_dir/pulumi-resource-kubernetes"; then
    log "plugin kubernetes $K8S_PROVIDER_VERSION: installed"
    return
  fi
  have=$("$pulumi" plugin ls 2>/dev/null | awk '$1=="kubernetes" && $2=="resource" {print $3}')
  case " $have " in
    *" $K8S_PROVIDER_VERSION "*) "$pulumi" plugin rm resource kubernetes "$K8S_PROVIDER_VERSION" --yes >&2 ;;
  esac
  staging=$(mktemp -d)
  cp "$bin_dir/pulumi-resource-kubernetes" "$staging/"
  "$pulumi" plugin install resource kubernetes "$K8S_PROVIDER_VERSION" --file "$staging" >&2
  rm -rf "$staging"
  log "plugin kubernetes $K8S_PROVIDER_VERSION: its launcher installed into the plugin cache"
}

print_env() {
  cat <<EOF
export PATH="$bin_dir:\$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export EOEPCA_TOOLS_DIR="$tools_dir"
EOF
}

main() {
  if [ "${1:-}" = "--env" ]; then print_env; return; fi
  local start=$SECONDS
  local wanted=("$@")
  [ ${#wanted[@]} -gt 0 ] || wanted=(pulumi kubernetes-provider kubernetes etcd kwok flux helm)
  local t
  for t in "${wanted[@]}"; do
    case "$t" in
      pulumi) official_pulumi || build_pulumi ;;
      kubernetes-provider) official_provider || build_kubernetes_provider ;;
      kubernetes) build_kubernetes ;;
      etcd) build_etcd ;;
      kwok) build_kwok ;;
      flux) build_flux ;;
      helm) build_helm ;;
      actionlint) build_actionlint ;;
      flux-source-controller) build_flux_controller source-controller "$FLUX_SOURCE_VERSION" ;;
      flux-kustomize-controller) build_flux_controller kustomize-controller "$FLUX_KUSTOMIZE_VERSION" ;;
      flux-helm-controller) build_flux_controller helm-controller "$FLUX_HELM_VERSION" ;;
      flux-notification-controller) build_flux_controller notification-controller "$FLUX_NOTIFICATION_VERSION" ;;
      *) log "unknown tool '$t' (known: pulumi kubernetes-provider kubernetes etcd kwok flux helm actionlint" \
           "flux-source-controller flux-kustomize-controller flux-helm-controller flux-notification-controller)"
         exit 2 ;;
    esac
  done
  local pulumi
  pulumi=$(PATH="$bin_dir:$PATH" command -v pulumi 2>/dev/null) || true
  if [ -n "$pulumi" ] && [ -x "$bin_dir/pulumi-resource-kubernetes" ]; then
    install_provider_plugin "$pulumi"
  fi
  log "done in $((SECONDS - start)) s; cache $tools_dir ($(du -sh "$tools_dir" 2>/dev/null | cut -f1 || echo empty))"
}

main "$@"
