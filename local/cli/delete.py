"""``isvc delete NAME``: remove an InferenceService and all its revisions from the local runtime."""

from __future__ import annotations

import argparse
from typing import Any

from local.cli._client import GatewayClient, add_server_argument


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("delete", help="delete an InferenceService", description=__doc__)
    parser.add_argument("name", help="InferenceService name")
    add_server_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    GatewayClient(args.server).delete(args.name, args.namespace)
    print(f'inferenceservice "{args.name}" deleted')
    return 0
