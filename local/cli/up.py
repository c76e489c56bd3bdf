"""``isvc up``: serve InferenceService YAML locally on Ray Serve, in the foreground.

Everything that can fail fast does so before Ray starts: the files are parsed and validated, the
state directory must not have another ``isvc up`` running, and the gateway, gRPC and sink ports must
be free (the error names the process holding one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from local.settings import settings

EPILOG = """\
examples:
  isvc up -f manifests/iris.yaml            # serve on http://127.0.0.1:8080, gRPC on 8081
  isvc up -f a.yaml -f b.yaml --port 9000   # several services, another port
  isvc up --ray-address 10.0.0.5:6379 -f manifests/iris.yaml   # on an existing Ray cluster
then, in another shell: isvc get, isvc infer iris -d '{...}', isvc apply -f ..., isvc delete NAME"""

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


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
    parser.add_argument("--sink-port", type=int, default=8099, help="port of the --sink (default %(default)s)")
    parser.add_argument(
        "--ray-address",
        default=settings().ray_address,
        metavar="ADDR",
        help="run on this existing Ray cluster (GCS host:port, env RAY_ADDRESS) instead of a local Ray head; "
        "it must accept the kit's token (.isvc/ray-token) or the one in RAY_AUTH_TOKEN",
    )
    parser.add_argument(
        "--reload",
        action="store_true",
        help="watch the applied components' Python packages and the -f files: a code change reloads the "
        "running components in place (same revisions), a manifest change is applied again; the gateway "
        "and its ports stay up",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="DB",
        help="revision store: services and revisions survive a restart (default .isvc/state.db, env ISVC_STATE_DIR)",
    )
    parser.set_defaults(handler=run)


def exposure_warning(host: str, port: int, grpc_port: int | None) -> str | None:
    """What binding ``host`` exposes, when it is not loopback."""
    if host in LOOPBACK_HOSTS or host.startswith("127."):
        return None
    grpc = f" and gRPC (port {grpc_port})" if grpc_port else ""
    return (
        f"warning: --host {host} exposes the gateway's HTTP (port {port}){grpc} beyond this machine, "
        "without authentication: anyone who can reach it can call every model and apply or delete "
        "InferenceServices. Ray itself stays on 127.0.0.1 with token auth."
    )


def check_plannable(service: Any, path: str) -> None:
    """Plan ``service`` as an apply would (pure: no Ray); a ``SpecError`` names the file and the field."""
    from local.errors import SpecError
    from local.placement import choose_placement
    from local.plan import plan_service

    try:
        plan = plan_service(service)
        choose_placement(service.metadata.annotations, plan.components)
    except SpecError as exc:
        raise SpecError(f"{path}: InferenceService/{service.name}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    from local.gateway.server import GatewayOptions
    from local.gateway.server import run as run_gateway
    from local.lifecycle import InstanceLock, check_port
    from local.revision_store import default_path
    from local.spec import load_inference_services

    # Parsed and planned once, before Ray starts: a bad file (or a model format with no local runtime)
    # fails fast, naming the field.
    services = [(str(path), service) for path in args.filename for service in load_inference_services(path)]
    for path, service in services:
        check_plannable(service, path)
    state_path = args.state or default_path()
    lock = InstanceLock(state_path.parent)
    lock.acquire(host=args.host, port=args.port, grpc_port=args.grpc_port or None)
    try:
        check_port(args.host, args.port, "gateway HTTP", "--port")
        if args.grpc_port:
            check_port(args.host, args.grpc_port, "gateway gRPC", "--grpc-port")
        if args.sink:
            check_port("127.0.0.1", args.sink_port, "event sink", "--sink-port")
    except Exception:
        lock.release()
        raise
    warning = exposure_warning(args.host, args.port, args.grpc_port)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    options = GatewayOptions(
        host=args.host,
        port=args.port,
        grpc_port=args.grpc_port or None,
        services=services,
        start_sink=args.sink,
        sink_port=args.sink_port,
        state_path=state_path,
        ray_address=args.ray_address,
        reload=args.reload,
    )
    return run_gateway(options, log=lambda line: print(line, flush=True), lock=lock)
