"""``isvc apply -f FILE``: create or update InferenceServices in the running local runtime.

Prints each service's Ready condition, the reason and message of every condition that is not True (a failed
revision's, as KServe reports it) and the fields the local runtime does not act on. Exit 1 when a service
applied is not Ready.
"""

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
            conditions = resource["status"]["conditions"]
            for condition in sorted(conditions, key=lambda c: c.get("type") != "Ready"):  # Ready's reason first
                if condition.get("message") and condition.get("status") != "True":
                    print(f"  {condition['type']}: {condition.get('reason', '')} {condition['message']}")
            for warning in resource["status"].get("localRuntime", {}).get("warnings", []):
                print(f"  warning: {warning}")
            status = status or (0 if ready == "True" else 1)
    return status
