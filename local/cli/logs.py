"""``isvc logs NAME [--component C] [-f]``: what the replicas of an InferenceService wrote.

Like ``kubectl logs``: the stdout and stderr of every replica process of the service's running units
(a ``print`` or a log line in a predictor or transformer, a traceback of its ``load()``) and Serve's
replica log, each line prefixed with its process. ``--component`` keeps the replicas of one component;
a colocated unit holds both, so its lines show under either. ``-f`` follows, polling once a second.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from local.cli._client import GatewayClient, add_server_argument


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "logs", help="print the replicas' output (print, logging, tracebacks)", description=__doc__
    )
    parser.add_argument("name", help="the InferenceService")
    parser.add_argument("--component", choices=["predictor", "transformer"], help="only this component's replicas")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    add_server_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    client = GatewayClient(args.server)
    path = f"/apis/serving.kserve.io/v1beta1/namespaces/{args.namespace}/inferenceservices/{args.name}/logs"
    cursor: dict[str, int] = {}
    while True:
        params = {"cursor": json.dumps(cursor)} | ({"component": args.component} if args.component else {})
        answer = client.request("GET", path, params=params).json()
        for line in answer["lines"]:
            print(line, flush=True)
        cursor = answer["cursor"]
        if not args.follow:
            return 0
        time.sleep(1.0)
