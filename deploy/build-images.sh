#!/usr/bin/env bash
# Build the images with buildah: `deploy/build-images.sh [api] [worker]` (both when none is named).
#   BASE    base image (default python:3.11-slim); localhost/bookworm-base:N is made from Debian's
#           packages by deploy/base-image.sh when missing, for machines that reach no registry
#   TAG     image tag (default: pyproject.toml's version, the chart's appVersion)
#   TORCH   the worker's torch: cpu (default, PyTorch's CPU wheels) or cuda (PyPI's CUDA build)
#   BUILDAH buildah and its global options (default: buildah --storage-driver vfs)
# Images: localhost/dataset-service-api:TAG and localhost/dataset-service-worker:TAG.
set -euo pipefail
cd "$(dirname "$0")/.."

base=${BASE:-python:3.11-slim}
tag=${TAG:-$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml)}
read -r -a buildah <<<"${BUILDAH:-buildah --storage-driver vfs}"
names=("$@")
command -v "${buildah[0]}" >/dev/null || { echo "${buildah[0]} is missing: apt-get install -y buildah debootstrap (as root)" >&2; exit 1; }
[[ ${#names[@]} -gt 0 ]] || names=(api worker)

# pip inside the build gets pip's settings here (a mirror, a proxy's CA), mounted read-only.
pip_dir=$(mktemp -d)
trap 'rm -rf "$pip_dir"' EXIT
mapfile -t volumes < <(python3 deploy/pip_build_config.py "$pip_dir")

build() {
  local name=$1 started=$SECONDS image="localhost/dataset-service-$1:$tag"
  shift
  "${buildah[@]}" bud --isolation "${BUILDAH_ISOLATION:-chroot}" --format docker --layers=false \
    --ignorefile "deploy/Containerfile.$name.dockerignore" -f "deploy/Containerfile.$name" \
    --build-arg "BASE=$base" "${volumes[@]}" "$@" -t "$image" .
  echo "built $image from $base in $((SECONDS - started)) s:" \
    "$("${buildah[@]}" images --noheading --format '{{.Size}}' "$image")"
}

if [[ $base == localhost/bookworm-base:* ]]; then
  deploy/base-image.sh "$base"
fi
for name in "${names[@]}"; do
  case $name in
    api) build api ;;
    worker) build worker --build-arg "TORCH=${TORCH:-cpu}" ;;
    *) echo "unknown image '$name': api or worker" >&2; exit 2 ;;
  esac
done
