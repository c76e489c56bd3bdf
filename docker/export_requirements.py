"""Write docker/requirements-{serving,predictor,sink,console}.txt from uv.lock: each image's own dependency set.

The repository's ``.venv`` holds everything (Ray, the Kubernetes validators, test tools); an image holds
only what its server imports. For each file: the packages its server imports (``FILES[...].roots``) and their
dependencies as uv.lock resolves them for CPython 3.11 on Linux, minus the subtrees of ``excluded``
packages (declared by a dependency but never imported by that server: checked by running the image in
tests/container). Every line is ``name==version`` with the hashes of the Linux wheels uv.lock records,
so the Dockerfiles install with ``pip --no-deps --require-hashes --only-binary=:all:``: exactly these
files, no resolver, no compiler.

    .venv/bin/python docker/export_requirements.py          # rewrite the files
    .venv/bin/python docker/export_requirements.py --check  # exit 1 when a file is stale

tests/test_dockerfiles.py runs the check, so a uv.lock change without a re-export fails the unit tier.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parent.parent
# The images' interpreter: python:3.11-slim (Docker Hub) or Debian bookworm's python3 (the local base).
ENVIRONMENT = {
    "python_version": "3.11",
    "python_full_version": "3.11.2",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "os_name": "posix",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
}
WHEEL_TAGS = ("cp311", "abi3", "py3-none", "py2.py3-none")
WHEEL_PLATFORMS = ("manylinux", "linux_", "-any.whl")

# kserve declares these, but ModelServer never imports them when serving (image decoding, protobuf code
# generation, TLS certificates, JWT, its aiohttp client): about 60 MB that no request path touches.
KSERVE_UNUSED = ("pillow", "grpcio-tools", "cryptography", "pyjwt", "aiohttp")
# The Kubernetes client declares these for its asyncio copy (kubernetes/aio), which docker/slim-venv.sh
# removes: the console uses the synchronous client only.
KUBERNETES_ASYNCIO = ("aiohttp", "aiohttp-retry")


@dataclass(frozen=True)
class Requirements:
    roots: tuple[str, ...]
    excluded: tuple[str, ...]
    why: str
    on_top_of: str | None = None  # installed after that file: only what it does not already hold


SERVING_ROOTS = ("kserve", "numpy", "fastapi", "pydantic", "pydantic-settings")
FILES = {
    "serving": Requirements(
        roots=SERVING_ROOTS,
        excluded=KSERVE_UNUSED,
        why="KServe's ModelServer: all of the transformer (python -m transformers.iris), the predictor's first layer",
    ),
    "predictor": Requirements(
        roots=(*SERVING_ROOTS, "scikit-learn", "joblib"),
        excluded=KSERVE_UNUSED,
        why="python -m predictors.sklearn: scikit-learn, installed on top of requirements-serving.txt",
        on_top_of="serving",
    ),
    "sink": Requirements(
        roots=("starlette", "uvicorn", "cloudevents", "sqlalchemy", "psycopg[binary]"),
        excluded=(),
        why="python -m local.sink: Starlette on uvicorn, SQLAlchemy with psycopg 3 for PostgreSQL URLs",
    ),
    "console": Requirements(
        roots=("fastapi", "uvicorn", "httpx", "kubernetes", "prometheus-client", "pydantic-settings"),
        excluded=KUBERNETES_ASYNCIO,
        why="python -m local.console: FastAPI on uvicorn, the synchronous Kubernetes client, httpx, prometheus-client",
    ),
}
# The files each image installs, in order. The predictor's first install is the transformer's, byte for
# byte, so a build reuses that layer from the other image's build (one download of kserve and its tree).
IMAGES = {
    "predictor": ("serving", "predictor"),
    "transformer": ("serving",),
    "sink": ("sink",),
    "console": ("console",),
}


def _applies(entry: dict[str, Any]) -> bool:
    marker = entry.get("marker")
    return marker is None or Marker(marker).evaluate(ENVIRONMENT)


class Lock:
    def __init__(self, text: str) -> None:
        self.packages: dict[str, list[dict[str, Any]]] = {}
        for package in tomllib.loads(text)["package"]:
            self.packages.setdefault(canonicalize_name(package["name"]), []).append(package)

    def package(self, name: str, version: str | None = None) -> dict[str, Any]:
        candidates = self.packages[canonicalize_name(name)]
        if version is not None:
            candidates = [p for p in candidates if p.get("version") == version]
        if len(candidates) != 1:
            raise SystemExit(f"uv.lock: {name} {version or ''} is ambiguous or missing")
        return candidates[0]

    def closure(self, image: Requirements) -> dict[str, dict[str, Any]]:
        """Every package reachable from the roots, not through an excluded one, for the images' Python."""
        excluded = {canonicalize_name(name) for name in image.excluded}
        found: dict[str, dict[str, Any]] = {}
        pending: list[tuple[str, str | None, tuple[str, ...]]] = []
        for root in image.roots:
            name, _, extras = root.partition("[")
            pending.append((name, None, tuple(filter(None, extras.rstrip("]").split(",")))))
        project = self.package("isvc-kit")
        pinned = {canonicalize_name(d["name"]): d.get("version") for d in project["dependencies"] if _applies(d)}
        while pending:
            name, version, extras = pending.pop()
            key = canonicalize_name(name)
            if key in excluded:
                continue
            package = self.package(name, version or pinned.get(key))
            deps = [d for d in package.get("dependencies", []) if _applies(d)]
            for extra in extras:
                deps += [d for d in package.get("optional-dependencies", {})[extra] if _applies(d)]
            seen = found.get(key)
            found[key] = package
            if seen is not None and not extras:
                continue
            pending.extend((d["name"], d.get("version"), tuple(d.get("extra", ()))) for d in deps)
        return found


def _hashes(package: dict[str, Any]) -> list[str]:
    wheels = [
        w
        for w in package.get("wheels", [])
        if any(tag in w["url"] for tag in WHEEL_TAGS) and any(p in w["url"] for p in WHEEL_PLATFORMS)
    ]
    if not wheels:
        raise SystemExit(f"uv.lock: no Linux wheel of {package['name']} {package['version']} for CPython 3.11")
    return sorted(w["hash"] for w in wheels)


def render(name: str, lock: Lock) -> str:
    requirements = FILES[name]
    packages = lock.closure(requirements)
    lines = [
        f"# {requirements.why}.",
        "# Generated from uv.lock by docker/export_requirements.py: do not edit; rerun it after `uv lock`.",
        f"# Imported roots: {', '.join(requirements.roots)}."
        + (f" Not installed (never imported): {', '.join(requirements.excluded)}." if requirements.excluded else ""),
        "# Installed with pip --no-deps --require-hashes --only-binary=:all: (Linux wheels, CPython 3.11).",
    ]
    if requirements.on_top_of:
        below = lock.closure(FILES[requirements.on_top_of])
        packages = {key: p for key, p in packages.items() if key not in below}
        lines.append(f"# On top of docker/requirements-{requirements.on_top_of}.txt: only what that file lacks.")
    for key, package in sorted(packages.items()):
        hashes = " \\\n    ".join(f"--hash={h}" for h in _hashes(package))
        lines.append(f"{key}=={package['version']} \\\n    {hashes}")
    return "\n".join(lines) + "\n"


def image_packages(image: str, lock: Lock) -> dict[str, dict[str, Any]]:
    """Everything an image installs (the union of its files)."""
    return {key: p for name in IMAGES[image] for key, p in lock.closure(FILES[name]).items()}


def target(name: str) -> Path:
    return REPO_ROOT / "docker" / f"requirements-{name}.txt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a requirements file is stale")
    args = parser.parse_args(argv)
    lock = Lock((REPO_ROOT / "uv.lock").read_text())
    stale = []
    for name in FILES:
        text = render(name, lock)
        if args.check:
            if not target(name).is_file() or target(name).read_text() != text:
                stale.append(target(name).name)
        else:
            target(name).write_text(text)
            print(f"{target(name).relative_to(REPO_ROOT)}: {text.count('==')} packages")
    if stale:
        print(f"stale: {', '.join(stale)}: run .venv/bin/python docker/export_requirements.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
