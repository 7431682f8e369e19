#!/usr/bin/env bash
# Builds the container image from the repo's Dockerfile, unchanged, with buildah (no Docker
# engine: chroot isolation, vfs storage), on a machine where no image registry is reachable:
# the two base images the Dockerfile names are made locally first and tagged under their
# official names —
#   debian:bookworm-slim         from Debian's packages (debootstrap, minbase variant);
#   rust:1.95-slim-bookworm      from scripts/container/rust-base.Containerfile (the official
#                                image's recipe: rustup from static.rust-lang.org).
# Where a registry is reachable, `docker build -t sluice .` (or `buildah bud`) pulls the
# official ones instead. Then scripts/container-runtime-check.sh IMAGE=sluice:local runs
# the built image. Needs root, buildah and debootstrap (apt-get install buildah debootstrap).
# Not part of CI (a cold release build of the image takes ~45 CPU-minutes).
# Usage: scripts/container-build.sh [TAG]   (default: sluice:local)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-sluice:local}
work=${WORK:-/var/tmp/sluice-image}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs} BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
for tool in buildah debootstrap; do
  command -v "$tool" >/dev/null || { echo "container-build: install $tool (apt-get install $tool)" >&2; exit 2; }
done

debian=docker.io/library/debian:bookworm-slim
rust=docker.io/library/rust:1.95-slim-bookworm
if ! buildah inspect --type image "$debian" >/dev/null 2>&1; then
  rootfs=$work/debian-rootfs
  if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
    rm -rf "$rootfs"; mkdir -p "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
    # As the slim image: no package lists, no caches.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  fi
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  cp -a "$rootfs"/. "$mnt"/
  # Behind a TLS-intercepting egress proxy (this project's build machines), the build's
  # HTTPS downloads (rustup, crates.io) must trust its CA: certificates in the host's
  # /usr/local/share/ca-certificates go where update-ca-certificates picks them up when
  # the Dockerfile installs ca-certificates. Set EXTRA_CA_DIR= (empty) to add none.
  extra_ca=${EXTRA_CA_DIR-/usr/local/share/ca-certificates}
  if [ -n "$extra_ca" ] && compgen -G "$extra_ca/*.crt" >/dev/null; then
    mkdir -p "$mnt/usr/local/share/ca-certificates"
    cp "$extra_ca"/*.crt "$mnt/usr/local/share/ca-certificates/"
  fi
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash "$ctr"
  buildah commit --rm "$ctr" "$debian"
fi
if ! buildah inspect --type image "$rust" >/dev/null 2>&1; then
  buildah bud --pull=never --layers -t "$rust" -f scripts/container/rust-base.Containerfile scripts/container
fi
time buildah bud --pull=never --layers -t "$tag" -f Dockerfile .
buildah images "$tag"
