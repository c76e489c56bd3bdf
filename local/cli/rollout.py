"""``isvc rollout``: revisions and canary rollouts with KServe's semantics, locally or on a cluster.

  isvc rollout status NAME                     traffic split and revision roles per component
  isvc rollout history NAME                    every revision: created, ready, traffic, tag, role
  isvc rollout canary NAME --percent P         send P% to the newest ready revision (canaryTrafficPercent)
  isvc rollout promote NAME                    the latest takes 100% and becomes latestRolledoutRevision
  isvc rollout rollback NAME                   back to the rolled-out (or, after a promotion, previous) revision

Local runtime by default (`isvc up`); ``--cluster`` acts on the KServe cluster of the current kubeconfig
context (``--context``, ``-n``) by patching ``canaryTrafficPercent`` and reading ``status.components``
and the Knative revisions. Exit codes: 0 done and ready, 1 failed or not ready, 2 usage.
"""

from __future__ import annotations

import argparse
from typing import Any

from local.cli._client import API, GatewayClient, add_server_argument
from local.cli._output import dump, table
from local.cluster.rollout import (
    HISTORY_HEADERS,
    STATUS_HEADERS,
    RolloutStatus,
    canary_applied,
    canary_patch,
    promote_patch,
    promoted,
    revision_history,
    rollback_patch,
    rolled_back,
    status_rows,
    validate_percent,
)

ACTIONS = ("status", "history", "canary", "promote", "rollback")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rollout",
        help="status, history, canary, promote, rollback",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("name", help="InferenceService name")
    parser.add_argument("--percent", type=int, help="canary traffic percent (0..100), for `canary`")
    parser.add_argument("--component", default="predictor", choices=["predictor", "transformer"])
    parser.add_argument("-o", "--output", choices=["table", "json", "yaml"], default="table")
    parser.add_argument("--cluster", action="store_true", help="act on the KServe cluster of the kubeconfig")
    parser.add_argument("--context", help="kubeconfig context (with --cluster)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait on a cluster (%(default)s)")
    add_server_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "canary":
        if args.percent is None:
            raise SystemExit("isvc rollout canary: --percent P is required")
        args.percent = validate_percent(args.percent)
    backend = _Cluster(args) if args.cluster else _Local(args)
    if args.action in {"canary", "promote", "rollback"}:
        status = backend.change(args.action, args.component, args.percent)
        print(f"inferenceservice/{args.name} {args.action}" + (f" {args.percent}%" if args.action == "canary" else ""))
        _print_status(status, args.output)
        component = status.components.get(args.component)
        return 0 if component is not None and component.ready is not False else 1
    status = backend.status()
    if args.action == "status":
        _print_status(status, args.output)
        return 0 if status.ready is not False else 1
    rows = revision_history(backend.revisions(), status)
    if args.output == "table":
        print(table(HISTORY_HEADERS, [row.row() for row in rows]))
    else:
        print(
            dump(
                [
                    {
                        "name": r.name,
                        "component": r.component,
                        "created": r.created,
                        "ready": r.ready,
                        "traffic": r.traffic_percent,
                        "tags": list(r.tags),
                        "role": r.role,
                        "reason": r.reason,
                    }
                    for r in rows
                ],
                args.output,
            )
        )
    return 0


def _print_status(status: RolloutStatus, output: str) -> None:
    if output == "table":
        print(table(STATUS_HEADERS, status_rows(status)))
        for condition in status.conditions:
            if condition.message:
                print(f"{condition.type}: {condition.reason or ''} {condition.message}".rstrip())
    else:
        print(
            dump(
                {
                    "name": status.name,
                    "url": status.url,
                    "ready": status.ready,
                    "components": {
                        name: {
                            "latestCreatedRevision": c.latest_created,
                            "latestReadyRevision": c.latest_ready,
                            "latestRolledoutRevision": c.latest_rolled_out,
                            "previousRolledoutRevision": c.previous_rolled_out,
                            "phase": c.phase,
                            "traffic": [t.to_status() for t in c.traffic],
                        }
                        for name, c in status.components.items()
                    },
                },
                output,
            )
        )


class _Local:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.client = GatewayClient(args.server)

    def status(self) -> RolloutStatus:
        return RolloutStatus.parse(self.client.get(self.args.name, self.args.namespace))

    def revisions(self) -> dict[str, Any]:
        response = self.client.request(
            "GET",
            f"/apis/serving.knative.dev/v1/namespaces/{self.args.namespace}/revisions",
            params={"labelSelector": f"serving.kserve.io/inferenceservice={self.args.name}"},
        )
        result: dict[str, Any] = response.json()
        return result

    def change(self, action: str, component: str, percent: int | None) -> RolloutStatus:
        path = f"{API}/{self.args.namespace}/inferenceservices/{self.args.name}/rollout"
        resource = self.client.request(
            "POST", path, json={"action": action, "component": component, "percent": percent}
        ).json()
        return RolloutStatus.parse(resource)


class _Cluster:
    def __init__(self, args: argparse.Namespace):
        from local.cluster.client import ClusterClient

        self.args = args
        namespace = "default" if args.namespace == "_all" else args.namespace
        self.client = ClusterClient(namespace, context=args.context)

    def status(self) -> RolloutStatus:
        return self.client.status(self.args.name)

    def revisions(self) -> dict[str, Any]:
        return self.client.list_revisions(self.args.name)

    def change(self, action: str, component: str, percent: int | None) -> RolloutStatus:
        if action == "canary":
            assert percent is not None
            body, predicate = canary_patch(component, percent), canary_applied(component, percent)
        elif action == "promote":
            body, predicate = promote_patch(component), promoted(component)
        else:
            body, predicate = rollback_patch(component), rolled_back(component)
        self.client.patch_isvc(self.args.name, body)
        return self.client.wait_for(self.args.name, predicate, self.args.timeout)
