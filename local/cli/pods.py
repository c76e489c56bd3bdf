"""``isvc pods``: serve an InferenceService's components as the plain processes their containers run.

Reads the YAML (default ``manifests/iris.yaml``), then starts each component's entrypoint, ``python -m
MODULE ARGS`` as its pod would (a model format names the kit's predictor for it), the transformer
reaching the predictor over V2 HTTP with ``--predictor_host`` as in a cluster, all on loopback. Prints
the URL and a request to paste (shaped by the model's metadata), and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  isvc pods                                  # manifests/iris.yaml: transformer on :8080, predictor on a free port
  isvc pods -f manifests/wine.yaml --port 9000
  isvc pods -f services.yaml --name iris     # one service of a file holding several"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pods",
        help="serve a service's components as pod-equivalent processes (no Ray)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-f", "--filename", type=Path, default=Path("manifests/iris.yaml"), metavar="FILE", help="(%(default)s)"
    )
    parser.add_argument("--name", default=None, help="the service to serve when FILE holds several")
    parser.add_argument("--port", type=int, default=8080, help="HTTP port of the entry component (%(default)s)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import httpx

    from local.errors import NotFoundError
    from local.processes import start_chain
    from local.samples import curl_example
    from local.spec import entrypoint_of, load_inference_services

    services = [s for s in load_inference_services(args.filename) if args.name in (None, s.name)]
    if not services:
        raise NotFoundError(f"{args.filename}: no InferenceService named {args.name!r}")
    service = services[0]
    points = {name: entrypoint_of(c, f"spec.{name}", service.name) for name, c in service.components().items()}
    predictor, transformer = points["predictor"], points.get("transformer")
    no_grpc = ["--enable_grpc=false"]
    print(f"starting the {' and '.join(points)} of {service.name} as processes ...", flush=True)
    with start_chain(
        predictor.module,
        [*predictor.args, *no_grpc],
        transformer.module if transformer else None,
        [*transformer.args, *no_grpc] if transformer else (),
        transformer_port=args.port if transformer else None,
        predictor_port=None if transformer else args.port,
    ) as chain:
        model = _model_name(chain.url)
        try:
            inputs = httpx.get(f"{chain.url}/v2/models/{model}", timeout=10).json().get("inputs") or []
        except (httpx.HTTPError, ValueError):
            inputs = []
        print(f"serving {model} at {chain.url} (predictor at {chain.predictor.url})")
        print(f"try:\n  {curl_example(chain.url, model, inputs)}\nCtrl-C stops.", flush=True)
        while all(p.process is not None and p.process.poll() is None for p in (chain.predictor, chain.entry)):
            time.sleep(0.5)
        print("a component process exited; stopping")
        return 1


def _model_name(url: str) -> str:
    """The model the entry process serves (V2 repository index, else V1 list)."""
    import httpx

    try:
        return str(httpx.get(f"{url}/v1/models", timeout=10).json()["models"][0])
    except (httpx.HTTPError, ValueError, KeyError, IndexError):
        return "model"
