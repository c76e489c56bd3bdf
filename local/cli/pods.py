"""``isvc pods``: serve the iris chain as the plain processes its containers would run.

Starts ``python -m predictors.sklearn`` and ``python -m transformers.iris`` (the transformer reaching
the predictor over V2 HTTP, as in a cluster) on loopback, prints the URL and a request to paste, and
serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from local.processes import start_chain
from local.samples import curl_example


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pods",
        help="serve predictor + transformer as pod-equivalent processes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model-name", default="iris", help="model name on the endpoint path (%(default)s)")
    parser.add_argument("--model-dir", default="models/iris/v1", help="model directory (%(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="transformer HTTP port (%(default)s)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    common = [f"--model_name={args.model_name}", f"--model_dir={args.model_dir}", "--enable_grpc=false"]
    print("starting predictor and transformer processes ...", flush=True)
    with start_chain("predictors.sklearn", common, "transformers.iris", common, transformer_port=args.port) as chain:
        print(f"serving {args.model_name} at {chain.url} (predictor at {chain.predictor.url})")
        print(f"try:\n  {curl_example(chain.url, args.model_name)}\nCtrl-C stops.", flush=True)
        while all(p.process is not None and p.process.poll() is None for p in (chain.predictor, chain.entry)):
            time.sleep(0.5)
        print("a component process exited; stopping")
        return 1
