"""``python -m local.console --namespace NS --sink-url URL``: the console on a cluster, beside the sink.

Reads the InferenceServices of one namespace through the ``kubernetes`` client (in a pod: its
ServiceAccount token; elsewhere: the kubeconfig, ``--context``). Binds ``$ISVC_BIND_HOST`` else
127.0.0.1, port ``$PORT`` else 8080. See ``manifests/console.yaml`` for the Deployment and its RBAC.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from local.settings import settings


def _api(context: str | None, in_cluster: bool) -> Any:
    """A ``CustomObjectsApi`` from the pod's ServiceAccount, or from the kubeconfig."""
    if not in_cluster:
        from local.cluster.client import load_api

        return load_api(context)
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)
    return client.CustomObjectsApi(client.ApiClient(configuration))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.console", description=__doc__)
    env = settings()
    parser.add_argument("--namespace", default=env.pod_namespace)
    parser.add_argument("--sink-url", default="http://isvc-sink.isvc-kit.svc.cluster.local")
    parser.add_argument("--context", help="kubeconfig context (outside a pod)")
    parser.add_argument("--host", default=env.bind_host)
    parser.add_argument("--port", type=int, default=env.port)
    args = parser.parse_args(argv)

    import uvicorn

    from local.console.cluster import ClusterBackend, ConsoleClusterClient
    from local.console.routes import console_app
    from local.errors import IsvcError

    in_cluster = env.in_cluster and args.context is None
    try:
        client = ConsoleClusterClient(args.namespace, context=args.context, api=_api(args.context, in_cluster))
    except IsvcError as exc:
        print(f"python -m local.console: {exc}", file=sys.stderr)
        return 1
    print(f"console on http://{args.host}:{args.port}/console for namespace {args.namespace}", flush=True)
    uvicorn.run(console_app(ClusterBackend(client, args.sink_url)), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
