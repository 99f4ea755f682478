#!/usr/bin/env bash
# The poller image's base: a Debian root file system made with debootstrap (minbase), no registry
# pull. Suite, snapshot and packages are pinned in image/base.env; the archives are those of
# snapshot.debian.org at DEBIAN_SNAPSHOT, so every build installs the same package versions.
#
#   scripts/image-base.sh OUT.tar     writes the root file system as a tar (for `podman import`,
#                                     `docker import`) and OUT.tar.info (where it came from)
#
# DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR replace the snapshot (a machine that reaches only a Debian
# mirror): the build then says so, and OUT.tar.info records the Release dates it got, as the image's
# labels and bill of materials do. EOEPCA_IMAGE_STRICT=1 (the publishing workflow) refuses that.
# Needs root (debootstrap, chroot) and debootstrap; Debian's keyring checks every archive.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091 # plain KEY=value pins
. "$repo/image/base.env"
out=${1:?usage: scripts/image-base.sh OUT.tar}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf '[image-base %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

snapshot=http://snapshot.debian.org/archive
mirror=${DEBIAN_MIRROR:-$snapshot/debian/$DEBIAN_SNAPSHOT}
security=${DEBIAN_SECURITY_MIRROR:-$snapshot/debian-security/$DEBIAN_SNAPSHOT}
if [ -z "${DEBIAN_MIRROR:-}" ] && ! curl -fsS --connect-timeout 10 -o /dev/null "$mirror/dists/$DEBIAN_SUITE/Release"; then
  log "snapshot.debian.org unreachable: set DEBIAN_MIRROR (and DEBIAN_SECURITY_MIRROR) to a Debian mirror"
  exit 1
fi
if [ "$mirror" != "$snapshot/debian/$DEBIAN_SNAPSHOT" ]; then
  if [ "${EOEPCA_IMAGE_STRICT:-0}" = 1 ]; then
    log "EOEPCA_IMAGE_STRICT=1: only the pinned snapshot $DEBIAN_SNAPSHOT will do, not $mirror"
    exit 1
  fi
  log "NOTE: $mirror instead of the pinned snapshot $DEBIAN_SNAPSHOT: package versions are the mirror's of today"
fi
command -v debootstrap >/dev/null || { log "debootstrap is required: apt-get install debootstrap"; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/image-base-XXXXXX")
cleanup() {
  for m in proc sys dev/pts dev; do umount "$root/$m" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT

# Within a snapshot the security archive's Release is past its Valid-Until: that is the point.
export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(date -d "$(sed -E 's/(....)(..)(..)T(..)(..)(..)Z/\1-\2-\3 \4:\5:\6 UTC/' <<<"$DEBIAN_SNAPSHOT")" +%s)
log "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror"
debootstrap --variant=minbase --keyring="$keyring" --include="$DEBIAN_PACKAGES" \
  "$DEBIAN_SUITE" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
  tail -n 30 "$root.debootstrap.log" >&2; exit 1; }
rm -f "$root.debootstrap.log"

# The suite's updates and security fixes, from the same snapshot (or mirror).
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: $keyring

Types: deb
URIs: $security
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: $keyring
EOF
rm -f "$root/etc/apt/sources.list"
chroot_apt() {
  chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get -q -o Acquire::Check-Valid-Until=false "$@"
}
mount -t proc proc "$root/proc"
if ! { chroot_apt update && chroot_apt -y upgrade; } >"$root.apt.log" 2>&1; then
  tail -n 30 "$root.apt.log" >&2
  exit 1
fi
grep -h '^Unpacking' "$root.apt.log" >&2 || true
rm -f "$root.apt.log"
releases=$(for f in "$root"/var/lib/apt/lists/*_InRelease; do
  sed -n 's/^Codename: //p; s/^Date: //p' "$f" | paste -sd' ' -; done | sort)
umount "$root/proc"

# What a container never uses: package lists and caches, logs, documentation but the licences,
# manual pages, translations. dpkg keeps them out from now on too.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
  "$root"/var/cache/ldconfig/aux-cache "$root"/var/log/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/lintian "$root"/usr/share/linda
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
cat >"$root/etc/dpkg/dpkg.cfg.d/container" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
EOF
# Machine identity is the container's: empty, as Debian's own container images leave it.
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname" "$root/etc/resolv.conf" "$root"/etc/ssh/ssh_host_*

tar --create --file="$out.tmp" --directory="$root" --sort=name --numeric-owner \
  --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime --xattrs \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime .
mv "$out.tmp" "$out"
releases=$(paste -sd';' - <<<"$releases")
printf 'suite=%q\nsnapshot=%q\nmirror=%q\nsecurity=%q\nreleases=%q\n' \
  "$DEBIAN_SUITE" "$DEBIAN_SNAPSHOT" "$mirror" "$security" "$releases" >"$out.info"
log "wrote $out ($(du -h "$out" | cut -f1)): $releases"
