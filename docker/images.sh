#!/usr/bin/env bash
# `make images`: builds isvc-kit/{predictor,transformer,sink,console}:$IMAGE_TAG with the local Docker engine and
# prints each image's size, layer count and build time.
#
# Base (the Dockerfiles' PYTHON_IMAGE): $PYTHON_IMAGE when set; else Docker Hub's slim Python when it is
# present or can be pulled (a laptop); else the local Debian base, built once by docker/base/build.sh
# (a machine that reaches package registries but no container registry).
# When the minikube profile $MINIKUBE_PROFILE is running, the images are loaded into it, so that
# `make deploy` finds them (manifests/ name isvc-kit/*:0.1.0, pulled only if not present).
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${IMAGE_TAG:-0.1.0}
HUB_PYTHON=python:3.11.14-slim-bookworm
LOCAL_PYTHON=isvc-kit/python-local:3.11-bookworm

base=${PYTHON_IMAGE:-}
if [ -z "$base" ]; then
  if docker image inspect "$HUB_PYTHON" >/dev/null 2>&1 \
     || timeout 120 docker pull --quiet "$HUB_PYTHON" >/dev/null 2>&1; then
    base=$HUB_PYTHON
  else
    echo ">> $HUB_PYTHON cannot be pulled here: using the local Debian base $LOCAL_PYTHON"
    docker/base/build.sh "$LOCAL_PYTHON"
    base=$LOCAL_PYTHON
  fi
fi

rows=()
for name in predictor transformer sink console; do
  start=$(date +%s%N)
  # host network: on some machines only the host's network reaches the package registries
  docker build --quiet --network host --build-arg PYTHON_IMAGE="$base" -f "Dockerfile.$name" \
    -t "isvc-kit/$name:$TAG" . >/dev/null 2> >(grep -v -i -E 'legacy builder|buildx|^ *$' >&2)
  seconds=$(( ($(date +%s%N) - start) / 1000000 ))  # milliseconds
  facts=$(docker image inspect -f '{{.Size}} {{len .RootFS.Layers}}' "isvc-kit/$name:$TAG")
  rows+=("$(awk -v image="isvc-kit/$name:$TAG" -v facts="$facts" -v ms="$seconds" 'BEGIN {
    split(facts, f, " "); printf "%-28s %5.0f MB %3d layers %6.1f s", image, f[1] / 1e6, f[2], ms / 1000 }')")
done
echo ">> built on $base"
printf '%s\n' "${rows[@]}"

profile=${MINIKUBE_PROFILE:-isvc-kit}
if command -v minikube >/dev/null && minikube -p "$profile" status >/dev/null 2>&1; then
  for name in predictor transformer sink console; do
    minikube -p "$profile" image load "isvc-kit/$name:$TAG"
  done
  echo ">> loaded into minikube profile $profile"
fi
