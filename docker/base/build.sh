#!/usr/bin/env bash
# Builds the local Python base image from Debian's packages, for machines that reach package
# registries but no container registry (so `python:3.11-slim` cannot be pulled).
#
#   docker/base/build.sh [IMAGE]        (default isvc-kit/python-local:3.11-bookworm)
#
# debootstrap (minbase) of Debian bookworm with python3 and python3-venv (Python 3.11, the version of
# python:3.11-slim), imported with `docker import`, then docker/base/Dockerfile on top: `python` ->
# `python3` and this machine's CA bundle (its package downloads may pass a TLS-inspecting proxy).
# An image of that name already present is reused: the script then does nothing.
# Needs root (debootstrap); installs debootstrap with apt-get when it is missing.
set -euo pipefail
IMAGE=${1:-isvc-kit/python-local:3.11-bookworm}
SUITE=bookworm
here=$(cd "$(dirname "$0")" && pwd)

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo ">> base $IMAGE present: reused"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "building $IMAGE needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null \
  || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }

# The Debian mirror of this machine's apt sources (deb822 or one-line format), else deb.debian.org.
mirror=$(grep -hsE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | awk '{print $2; exit}')
[ -n "$mirror" ] || mirror=$(grep -hsE '^deb .*/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  | awk '{print $2; exit}')
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /tmp/isvc-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo ">> debootstrap $SUITE from $mirror"
start=$(date +%s)
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$rootfs/root" "$mirror" \
  >"$rootfs/debootstrap.log" 2>&1 || { tail -20 "$rootfs/debootstrap.log" >&2; exit 1; }
# What python:3.11-slim does not carry either: package caches, apt lists, docs, man pages.
rm -rf "$rootfs"/root/var/cache/apt/archives/*.deb "$rootfs"/root/var/lib/apt/lists/* \
  "$rootfs"/root/usr/share/doc/* "$rootfs"/root/usr/share/man/* "$rootfs"/root/usr/share/info/*
tar -C "$rootfs/root" -c . | docker import - "$IMAGE-rootfs" >/dev/null

mkdir "$rootfs/context"
cp "$here/Dockerfile" "$rootfs/context/Dockerfile"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/context/ca-certificates.crt"
docker build --quiet --network host --build-arg ROOTFS="$IMAGE-rootfs" -t "$IMAGE" "$rootfs/context" >/dev/null
docker image rm "$IMAGE-rootfs" >/dev/null 2>&1 || true
echo ">> base $IMAGE built in $(( $(date +%s) - start )) s: $(docker image inspect -f '{{.Size}}' "$IMAGE" \
  | awk '{printf "%.0f MB", $1/1e6}'), $(docker run --rm "$IMAGE" python --version)"
