#!/bin/sh
# Slims a virtualenv built for an image, in the image's dependency stage:
#   sh docker/slim-venv.sh VENV [MODULE ...]
# Removes what no server needs at run time: pip and setuptools, the packages' test suites, type stubs,
# and the Kubernetes client's asyncio copy (kubernetes/aio, 41 MB: kserve imports only the synchronous
# client, for its KServeClient). Then imports MODULE ... once with bytecode writing on, so the modules a
# server loads at start are compiled in the image: on a read-only root filesystem nothing can be cached
# at run time, and compiling kserve and its Kubernetes client at every start costs seconds.
set -eu
venv=$1
shift
"$venv/bin/pip" uninstall --yes --quiet pip setuptools
site=$(echo "$venv"/lib/python3*/site-packages)
rm -rf "$site/kubernetes/aio"
find "$venv" \( -name tests -o -name __pycache__ \) -type d -prune -exec rm -rf {} +
find "$venv" -name '*.pyi' -delete
if [ $# -gt 0 ]; then
  for module in "$@"; do
    PYTHONDONTWRITEBYTECODE= "$venv/bin/python" -c "import $module"
  done
fi
