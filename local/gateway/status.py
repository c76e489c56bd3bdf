"""The InferenceService ``status`` and Knative ``Revision`` objects of the local runtime, as KServe writes them.

Pure rendering from a ``ServiceRecord`` (the controller's record of a service) and the live replica
counts: ``components.<c>.latestCreatedRevision`` ... ``traffic[]``, ``url``, ``conditions`` (Ready
with reason/message), plus ``localRuntime`` (replicas per component, model name, unhonoured fields).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.gateway.record import ServiceRecord


def render_status(entry: ServiceRecord, base_url: str, live: dict[str, int]) -> dict[str, Any]:
    """``status`` of one service; ``live`` maps revision names to their running replicas."""
    components: dict[str, Any] = {}
    replicas: dict[str, int] = {}
    conditions = []
    all_ready = True
    for component, plan in entry.plans.items():
        state = plan.state
        latest = state.latest
        ready_names = [r.name for r in state.revisions if r.name in entry.ready_revisions]
        components[component] = {
            "latestCreatedRevision": latest.name if latest else None,
            "latestReadyRevision": ready_names[-1] if ready_names else None,
            "latestRolledoutRevision": state.latest_rolled_out,
            "previousRolledoutRevision": state.previous_rolled_out,
            "traffic": [
                {"revisionName": t.revision, "percent": t.percent, "latestRevision": t.latest_revision}
                | ({"tag": t.tag} if t.tag else {})
                for t in plan.traffic
            ],
            "url": f"{base_url}/v2/models/{entry.model.name}",
        }
        replicas[component] = sum(live.get(t.revision, 0) for t in plan.traffic)
        failure = latest.name in state.failed if latest else False
        ready = bool(plan.traffic)
        all_ready = all_ready and ready
        conditions.append(
            {"type": f"{component.capitalize()}Ready", "status": "True" if ready else "False"}
            | ({"reason": "RevisionFailed", "message": state.failed[latest.name]} if failure and latest else {})
        )
    failed = {rev: msg for plan in entry.plans.values() for rev, msg in plan.state.failed.items()}
    ready_condition = {"type": "Ready", "status": "True" if all_ready else "False"}
    if failed:
        revision, message = sorted(failed.items())[-1]
        ready_condition |= {"reason": "RevisionFailed", "message": f"Revision {revision} failed: {message}"}
    return {
        "url": base_url,
        "address": {"url": f"{base_url}/v2/models/{entry.model.name}/infer"},
        "components": components,
        "conditions": [ready_condition, *conditions],
        "modelStatus": {"states": {"activeModelState": "Loaded" if all_ready else "FailedToLoad"}},
        "localRuntime": {
            "replicas": replicas,
            "modelName": entry.model.name,
            "placement": entry.placement.as_status() | {"units": [unit.name for unit in entry.units]},
            "warnings": list(entry.warnings),
        },
    }


def render_revisions(entry: ServiceRecord, created: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Every revision of a service as a Knative ``Revision`` object (what the cluster lists)."""
    items = []
    for component, plan in entry.plans.items():
        for revision in plan.state.revisions:
            failed = plan.state.failed.get(revision.name)
            condition = {"type": "Ready", "status": "False" if failed else "True"}
            if failed:
                condition |= {"reason": "RevisionFailed", "message": failed}
            labels = {
                "serving.kserve.io/inferenceservice": entry.service.name,
                "component": component,
                "serving.knative.dev/configurationGeneration": str(revision.number),
            }
            items.append(
                {
                    "apiVersion": "serving.knative.dev/v1",
                    "kind": "Revision",
                    "metadata": {
                        "name": revision.name,
                        "namespace": entry.service.namespace,
                        "creationTimestamp": created(revision.name),
                        "labels": labels,
                    },
                    "spec": {
                        "containers": [
                            {
                                "command": ["python", "-m", revision.entrypoint.module],
                                "args": list(revision.entrypoint.args),
                            }
                        ]
                    },
                    "status": {"conditions": [condition]},
                }
            )
    return items
