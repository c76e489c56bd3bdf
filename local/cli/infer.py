"""``isvc infer NAME``: send a V2 (or V1) inference request to an InferenceService.

The body comes from ``-d JSON``, ``-f FILE`` or standard input. Prints the JSON response; exits 1
on an error response, printing KServe's ``{"error": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from local.cli._client import GatewayClient, add_server_argument


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "infer",
        help="send an inference request",
        description=__doc__,
        epilog='example: isvc infer iris --v1 -d \'{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, '
        '"petal_length": 1.4, "petal_width": 0.2}]}\'',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="InferenceService name")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("-d", "--data", help="request body as JSON")
    source.add_argument("-f", "--file", type=Path, help="file holding the JSON body")
    parser.add_argument("--v1", action="store_true", help="use the V1 protocol (:predict) instead of V2")
    add_server_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    body = args.data if args.data is not None else args.file.read_text() if args.file else sys.stdin.read()
    try:
        json.loads(body)
    except ValueError as exc:
        print(f"isvc infer: the body is not JSON: {exc}", file=sys.stderr)
        return 2
    client = GatewayClient(args.server)
    model = client.get(args.name, args.namespace)["status"]["localRuntime"]["modelName"]
    path = f"/v1/models/{model}:predict" if args.v1 else f"/v2/models/{model}/infer"
    response = client.request("POST", path, content=body, headers={"content-type": "application/json"})
    print(json.dumps(response.json(), indent=2))
    return 0 if response.status_code == 200 else 1
