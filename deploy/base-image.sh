#!/usr/bin/env bash
# Make a Debian bookworm base image from Debian's packages, for machines that reach no registry:
# debootstrap a minbase root filesystem, then commit it with buildah.
#   deploy/base-image.sh [IMAGE]    (default localhost/bookworm-base:1; a no-op when it exists)
# Needs root, debootstrap and buildah; BUILDAH may add options (default: the vfs storage driver).
set -euo pipefail

image=${1:-localhost/bookworm-base:1}
read -r -a buildah <<<"${BUILDAH:-buildah --storage-driver vfs}"

if "${buildah[@]}" inspect --type image "$image" >/dev/null 2>&1; then
  echo "$image: already there"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap buildah (as root)" >&2; exit 1; }

# The mirror apt already uses here (deb822 sources first, then a classic sources.list).
mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2; exit}')
mirror=${mirror:-$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2; exit}')}
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /var/tmp/bookworm-rootfs.XXXXXX)
ctr=""
cleanup() {
  [[ -n $ctr ]] && "${buildah[@]}" rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$rootfs"
}
trap cleanup EXIT

echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

ctr=$("${buildah[@]}" from scratch)
mnt=$("${buildah[@]}" mount "$ctr")
cp -a "$rootfs"/. "$mnt"/
"${buildah[@]}" umount "$ctr" >/dev/null
"${buildah[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$ctr"
"${buildah[@]}" commit --quiet "$ctr" "$image" >/dev/null
echo "$image: made from debootstrap bookworm minbase"
