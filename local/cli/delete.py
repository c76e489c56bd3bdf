"""``isvc delete NAME`` (or ``--all``): remove InferenceServices and all their revisions from the local runtime.

``-n NS`` names the namespace; ``--all`` deletes every InferenceService of ``-n`` or, with ``-A``, of
every namespace, as ``kubectl delete inferenceservices --all [-A]``.
"""

from __future__ import annotations

import argparse
from typing import Any

from local.cli._client import GatewayClient, add_server_argument, namespace_of


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("delete", help="delete an InferenceService", description=__doc__)
    parser.add_argument("name", nargs="?", help="InferenceService name")
    parser.add_argument("--all", action="store_true", help="every InferenceService of the namespace (-n, or -A)")
    add_server_argument(parser, all_namespaces=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.name) == bool(args.all):
        raise SystemExit("isvc delete: give NAME or --all")
    if args.name and args.all_namespaces:
        raise SystemExit("isvc delete: a resource cannot be retrieved by name across all namespaces (-A with NAME)")
    namespace = namespace_of(args)
    client = GatewayClient(args.server)
    if args.name:
        names = [(args.name, namespace)]
    else:
        names = [(r["metadata"]["name"], r["metadata"]["namespace"]) for r in client.list_services(namespace)]
    for name, where in names:
        client.delete(name, where)
        print(f'inferenceservice "{name}" deleted')
    return 0
