"""``isvc image -f FILE``: the container image of each component, derived from the InferenceService.

For every component that names a container command, writes a build context of its own,
``DIR/<service>-<component>/`` (``-o DIR``, default ``.isvc/images``): a ``Dockerfile`` and copies of
the module's package and the model directories its args name. The image installs the kit's locked
serving dependencies (and the package's own ``requirements.txt``), runs as uid 10001, and its ``CMD``
is the spec's command, so the pod runs what ``isvc up`` ran (``local/images.py``). With ``--build``
it is built with the local Docker engine, tagged with the container's ``image`` (what the cluster
pulls). Run it from the directory that holds the packages, as ``isvc up``. A model-format predictor
needs no image: KServe serves it with its own runtime.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  isvc image -f churn/inferenceservice.yaml                 # .isvc/images/churn-predictor/Dockerfile
  isvc image -f manifests/iris.yaml --build                 # writes and builds both components' images
  isvc image -f svc.yaml --component transformer -o build/ --build-arg PYTHON_IMAGE=python:3.11-slim"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "image",
        help="write (and build) each component's Dockerfile from its InferenceService",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-f", "--filename", type=Path, required=True, metavar="FILE")
    parser.add_argument("--name", default=None, help="the service, when FILE holds several")
    parser.add_argument("--component", choices=("predictor", "transformer", "all"), default="all")
    parser.add_argument("-o", "--output", type=Path, default=Path(".isvc/images"), help="(%(default)s)")
    parser.add_argument("--build", action="store_true", help="docker build each image")
    parser.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="passed to docker build")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from local.errors import NotFoundError
    from local.images import plan_image, write_image
    from local.spec import load_inference_services

    context = Path.cwd()
    services = [s for s in load_inference_services(args.filename) if args.name in (None, s.name)]
    if not services:
        raise NotFoundError(f"{args.filename}: no InferenceService named {args.name!r}")
    service = services[0]
    wanted = list(service.components()) if args.component == "all" else [args.component]
    plans = []
    for component in wanted:
        spec = service.components()[component]
        if args.component == "all" and not any(c.command for c in getattr(spec, "containers", []) or []):
            print(f"{service.name} {component}: a model format, served by KServe's runtime: no image")
            continue
        plans.append(plan_image(service, component, context))
    for plan in plans:
        dockerfile = write_image(plan, context, args.output / f"{plan.service}-{plan.component}")
        print(f"wrote {dockerfile} ({plan.tag}: {', '.join((*plan.packages, *plan.model_dirs))})")
        if args.build:
            build = ["docker", "build", "--network", "host", "-t", plan.tag]
            build += [item for arg in args.build_arg for item in ("--build-arg", arg)]
            build.append(str(dockerfile.parent))
            print(f">> {' '.join(build)}", flush=True)
            done = subprocess.run(build)
            if done.returncode != 0:
                return done.returncode
    return 0
