"""``isvc apply -f FILE``: create or update InferenceServices in the running local runtime."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from local.cli._client import GatewayClient, add_server_argument
from local.cli._output import ready_of
from local.spec import load_documents


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("apply", help="create or update InferenceServices from YAML", description=__doc__)
    parser.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        metavar="FILE",
        help="YAML file, or - for standard input (repeatable)",
    )
    add_server_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    client = GatewayClient(args.server)
    status = 0
    for name in args.filename:
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
        load_documents(text, name)  # validate locally first: errors name the field
        for resource in client.apply(text, name):
            ready = ready_of(resource)
            print(f"inferenceservice/{resource['metadata']['name']} applied (Ready={ready})")
            for condition in resource["status"]["conditions"]:
                if condition.get("message"):
                    print(f"  {condition['type']}: {condition.get('reason', '')} {condition['message']}")
            status = status or (0 if ready == "True" else 1)
    return status
