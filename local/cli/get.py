"""``isvc get [NAME]``: InferenceServices of the local runtime, as a table or as YAML/JSON."""

from __future__ import annotations

import argparse
from typing import Any

from local.cli._client import GatewayClient, add_server_argument, namespace_of
from local.cli._output import dump, ready_of, table
from local.traffic import TrafficTarget, canary


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("get", help="show InferenceServices and their status", description=__doc__)
    parser.add_argument("name", nargs="?", help="one InferenceService (default: all)")
    parser.add_argument("-o", "--output", choices=["table", "yaml", "json"], default="table")
    add_server_argument(parser, all_namespaces=True)
    parser.set_defaults(handler=run)


def rows_of(resources: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for resource in resources:
        status = resource["status"]
        replicas = status.get("localRuntime", {}).get("replicas", {})
        components = status.get("components", {})
        latest = components.get("predictor", {}).get("latestCreatedRevision")
        split = [TrafficTarget.parse(t) for t in components.get("predictor", {}).get("traffic", [])]
        in_flight = canary(split)
        rows.append(
            [
                resource["metadata"]["name"],
                status.get("url"),
                ready_of(resource),
                "/".join(f"{name}={count}" for name, count in replicas.items()),
                f"{in_flight.percent}%" if in_flight else "",
                latest,
            ]
        )
    return rows


def run(args: argparse.Namespace) -> int:
    if args.name and args.all_namespaces:
        raise SystemExit("isvc get: a resource cannot be retrieved by name across all namespaces (-A with NAME)")
    namespace = namespace_of(args)
    client = GatewayClient(args.server)
    resources = [client.get(args.name, namespace)] if args.name else client.list_services(namespace)
    if args.output == "table":
        if not resources:
            where = "" if namespace == "_all" else f" in {namespace} namespace"
            print(f"No InferenceServices found{where}.")
            return 0
        headers, rows = ["NAME", "URL", "READY", "REPLICAS", "CANARY", "LATEST"], rows_of(resources)
        if args.all_namespaces:  # kubectl's -A: the namespace first
            headers = ["NAMESPACE", *headers]
            rows = [[r["metadata"].get("namespace", ""), *row] for r, row in zip(resources, rows, strict=True)]
        print(table(headers, rows))
    else:
        document = resources[0] if args.name else {"apiVersion": "v1", "kind": "List", "items": resources}
        print(dump(document, args.output))
    return 0
