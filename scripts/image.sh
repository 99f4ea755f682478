#!/usr/bin/env bash
# The poller's container image (Containerfile), built without a daemon: buildah here, docker on
# GitHub (.github/workflows/image.yml) from the same staged context.
#
#   scripts/image.sh            build it unless an image of the same inputs exists; prints its reference
#   scripts/image.sh ref        the reference the current inputs give (localhost/eoepca-gitops:dev-<hash>)
#   scripts/image.sh context D  stage the build context in D (what the workflow hands to docker)
#   scripts/image.sh lock       pin the Python packages again (image/requirements.txt, with hashes)
#
# The inputs: the Debian base (scripts/image-base.sh, pinned in image/base.env), the project's wheel,
# its dependencies at the versions and hashes of image/requirements.txt, the Pulumi CLI and the
# Kubernetes provider from the tool cache scripts/tools.sh fills (with the language host and the
# launchers beside them), and the Containerfile. Their hash names the image, so an unchanged
# checkout reuses the image it built (podman's storage keeps it between runs).
# EOEPCA_IMAGE_STATE moves the staging folder (default .state/image); EOEPCA_IMAGE_NAME names the image
# (default localhost/eoepca-gitops; its base is <name>-base): a build under another name starts cold.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
state=${EOEPCA_IMAGE_STATE:-$repo/.state/image}
tools_dir=${EOEPCA_TOOLS_DIR:-$HOME/.cache/eoepca-gitops/tools}
name=${EOEPCA_IMAGE_NAME:-localhost/eoepca-gitops}
base_name=$name-base
# Debian trixie's Python, for which the wheels are chosen (the Containerfile's venv runs it).
py_version=3.13
platforms=(manylinux_2_39_x86_64 manylinux_2_34_x86_64 manylinux_2_28_x86_64 manylinux_2_17_x86_64
  manylinux2014_x86_64 manylinux_2_12_x86_64 manylinux2010_x86_64 manylinux_2_5_x86_64 manylinux1_x86_64)
# pip itself runs from its wheel in the build and stays out of the image.
pip_pin=pip==25.3

log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

pin_of() { sed -n "s/^$1=//p" scripts/tools.sh; }
pulumi_dir=$tools_dir/pulumi-$(pin_of PULUMI_VERSION)
provider_dir=$tools_dir/pulumi-resource-kubernetes-$(pin_of K8S_PROVIDER_VERSION)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml)

target_flags() {
  local p flags=(--only-binary=:all: --python-version "$py_version" --implementation cp
    --abi "cp${py_version/./}" --abi abi3 --abi none)
  for p in "${platforms[@]}"; do flags+=(--platform "$p"); done
  printf '%s\n' "${flags[@]}"
}

# A pip that knows --report and runs here whatever the host's pip is: the pinned one, in a venv of its own.
pip_tool() {
  local venv=$state/pip
  if [ ! -x "$venv/bin/pip" ] || ! "$venv/bin/pip" --version | grep -q "^pip ${pip_pin#pip==} "; then
    python3 -m venv --clear "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$pip_pin" >&2
  fi
  echo "$venv/bin/pip"
}

lock() {
  local pip report
  mkdir -p "$state"
  pip=$(pip_tool)
  report=$state/lock-report.json
  mapfile -t flags < <(target_flags)
  "$pip" install --quiet --dry-run --ignore-installed --report "$report" --target "$state/none" "${flags[@]}" . "$pip_pin"
  python3 - "$report" >image/requirements.txt <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
print("# The poller image's Python packages for CPython 3.13 on Linux x86_64 (scripts/image.sh lock).")
for item in sorted(report["install"], key=lambda i: i["metadata"]["name"].lower()):
    meta, info = item["metadata"], item["download_info"]
    if meta["name"] == "eoepca-gitops":
        continue  # the project's own wheel, built from the checkout
    print(f'{meta["name"]}=={meta["version"]} --hash=sha256:{info["archive_info"]["hashes"]["sha256"]}')
EOF
  log "image/requirements.txt: $(grep -c -- --hash image/requirements.txt) packages pinned"
}

need() {
  local missing=() t
  for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "missing: ${missing[*]} (Debian: apt-get install buildah podman debootstrap crun; \`make image\` does it)"
    exit 2
  fi
}

# Files whose content makes the image (the checkout's, tracked or not ignored, and the tools').
inputs_hash() {
  {
    git ls-files -co --exclude-standard -- Containerfile image scripts/image.sh scripts/image-base.sh \
      pyproject.toml eoepca_gitops tools/language-host | LC_ALL=C sort | xargs -d '\n' sha256sum
    sha256sum "$pulumi_dir/pulumi" "$pulumi_dir/pulumi-language-python-exec" "$provider_dir/pulumi-resource-kubernetes"
  } | sha256sum | cut -c1-12
}

base_ref() {
  # shellcheck disable=SC1091 # plain KEY=value pins
  # Named by what makes it: the pins, the script and how it is imported (ensure_base, labels included).
  echo "$base_name:$(. image/base.env && echo "$DEBIAN_SUITE")-$({ cat image/base.env scripts/image-base.sh; declare -f ensure_base; } | sha256sum | cut -c1-12)"
}

# The Debian base, made once per pin (podman's storage keeps it).
ensure_base() {
  local ref=$1 tar
  podman image exists "$ref" && return
  tar=$state/base.tar
  mkdir -p "$state"
  if [ -z "${DEBIAN_MIRROR:-}" ] && ! curl -fsS --connect-timeout 10 -o /dev/null http://snapshot.debian.org/; then
    # This machine reaches Debian's mirror, not its snapshots (image-base.sh notes the difference).
    export DEBIAN_MIRROR=http://deb.debian.org/debian DEBIAN_SECURITY_MIRROR=http://deb.debian.org/debian-security
  fi
  scripts/image-base.sh "$tar"
  local suite snapshot mirror releases
  # shellcheck disable=SC1090
  . "$tar.info"
  # One label a --change: podman import reads the rest of a LABEL line as the first label's value.
  podman import --quiet --change "LABEL org.debian.suite=$suite" --change "LABEL org.debian.snapshot=$snapshot" \
    --change "LABEL org.debian.mirror=$mirror" --change "LABEL org.debian.releases=\"$releases\"" "$tar" "$ref" >/dev/null
  rm -f "$tar" "$tar.info"
  log "base $ref imported"
}

stage_context() {
  local ctx=$1 pip
  [ -x "$pulumi_dir/pulumi" ] && [ -x "$provider_dir/pulumi-resource-kubernetes" ] || {
    log "the Pulumi CLI or the Kubernetes provider is not in $tools_dir: run scripts/tools.sh pulumi kubernetes-provider"
    exit 2
  }
  rm -rf "$ctx" && mkdir -p "$ctx/wheels/deps" "$ctx/wheels/project" "$ctx/pulumi/bin" "$ctx/pulumi/kubernetes" "$ctx/sbom"
  pip=$(pip_tool)
  mapfile -t flags < <(target_flags)
  "$pip" download --quiet --no-deps --require-hashes --dest "$ctx/wheels/deps" "${flags[@]}" -r image/requirements.txt
  cp image/requirements.txt "$ctx/wheels/deps/"
  "$pip" wheel --quiet --no-deps --wheel-dir "$ctx/wheels/project" "$repo" >&2
  # The CLI with what it looks up beside itself (tools/language-host/README.md), the provider binary,
  # and the launcher that ends it with its engine.
  cp "$pulumi_dir"/{pulumi,pulumi-language-python-exec} "$ctx/pulumi/bin/"
  cp tools/language-host/{pulumi-language-python,pulumi_language_python.py,pulumi-resource-pulumi-python,engine_watch.py} \
    "$ctx/pulumi/bin/"
  cp "$provider_dir/pulumi-resource-kubernetes" "$ctx/pulumi/kubernetes/"
  cp image/pulumi-resource-kubernetes "$ctx/pulumi/bin/"
  # The Go tools' modules, for the bill of materials (go version -m reads them from the binaries).
  go version -m "$ctx/pulumi/bin/pulumi" "$ctx/pulumi/kubernetes/pulumi-resource-kubernetes" >"$ctx/sbom/go-modules.txt"
  cp image/sbom.py "$ctx/sbom/"
  cp Containerfile "$ctx/"
}

build() {
  need buildah podman debootstrap git go
  local ref base ctx start=$SECONDS revision created
  ref=$name:dev-$(inputs_hash)
  if podman image exists "$ref"; then
    log "$ref: present (same inputs)"
    echo "$ref"
    return
  fi
  base=$(base_ref)
  ensure_base "$base"
  ctx=$state/context
  stage_context "$ctx"
  revision=$(git rev-parse HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo -dirty)
  created=$(date -u -d "@$(git log -1 --format=%ct)" +%Y-%m-%dT%H:%M:%SZ)
  log "building $ref from $base"
  buildah build --quiet --layers --pull=never --isolation=chroot \
    --build-arg BASE="$base" --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --build-arg CREATED="$created" \
    -f "$ctx/Containerfile" -t "$ref" "$ctx" >&2
  podman tag "$ref" "$name:dev"
  # Read from the image without running it (no runtime needed).
  local ctr
  ctr=$(podman create "$ref")
  podman cp "$ctr:/usr/share/doc/eoepca-gitops/sbom.spdx.json" "$state/sbom.spdx.json"
  podman rm "$ctr" >/dev/null
  log "built $ref in $((SECONDS - start)) s, $(podman image inspect --format '{{.Size}}' "$ref" | numfmt --to=iec) (SBOM: $state/sbom.spdx.json)"
  echo "$ref"
}

case "${1:-build}" in
  build) build ;;
  ref) echo "$name:dev-$(inputs_hash)" ;;
  context) stage_context "${2:?usage: scripts/image.sh context DIR}" ;;
  lock) lock ;;
  *) log "usage: scripts/image.sh [build|ref|context DIR|lock]"; exit 2 ;;
esac
