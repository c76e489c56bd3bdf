"""``isvc up``: serve InferenceService YAML locally on Ray Serve, in the foreground."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  isvc up -f manifests/iris.yaml            # serve on http://127.0.0.1:8080, gRPC on 8081
  isvc up -f a.yaml -f b.yaml --port 9000   # several services, another port
then, in another shell: isvc get, isvc infer iris -d '{...}', isvc apply -f ..., isvc delete NAME"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "up",
        help="start the local runtime (Ray Serve) and serve YAML files",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="InferenceService YAML to apply at start (repeatable)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (default %(default)s)")
    parser.add_argument("--grpc-port", type=int, default=8081, help="gRPC port, 0 to disable (default %(default)s)")
    parser.add_argument(
        "--sink", action="store_true", help="also run the event sink (isvc sink) for the services' loggers"
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="DB",
        help="revision store: services and revisions survive a restart (default .isvc/state.db, env ISVC_STATE_DIR)",
    )
    parser.set_defaults(handler=run)


def _check_free(host: str, port: int) -> None:
    """A port already taken (often by another `isvc up`) fails now, not after Ray has started."""
    import socket

    from local.errors import ConflictError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConflictError(
                f"{host}:{port} is already in use ({exc.strerror}): is another `isvc up` running? "
                "Stop it, or pick other ports with --port / --grpc-port"
            ) from exc


def run(args: argparse.Namespace) -> int:
    from local.gateway.server import GatewayOptions
    from local.gateway.server import run as run_gateway
    from local.revision_store import default_path
    from local.spec import load_inference_services

    # Parsed once, before Ray starts: a bad file fails fast, naming the field.
    services = [(str(path), service) for path in args.filename for service in load_inference_services(path)]
    for port in (args.port, args.grpc_port):
        if port:
            _check_free(args.host, port)
    options = GatewayOptions(
        host=args.host,
        port=args.port,
        grpc_port=args.grpc_port or None,
        services=services,
        start_sink=args.sink,
        state_path=args.state or default_path(),
    )
    return run_gateway(options, log=lambda line: print(line, flush=True))
