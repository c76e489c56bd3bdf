"""The InferenceService ``status`` and Knative ``Revision`` objects of the local runtime, as KServe writes them.

Pure rendering from a ``ServiceRecord`` (the controller's record of a service) and the live replica
counts. Knative mode: ``components.<c>.latestCreatedRevision`` ... ``traffic[]``, ``url``; Standard mode
has no revisions, so a component shows its ``url`` only (``PropagateRawStatus`` sets nothing else).
``conditions`` are KServe's (``local.gateway.conditions``); ``deploymentMode`` as KServe records it;
``localRuntime`` adds replicas per component, the model name, the placement and the warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from local import traffic
from local.gateway.conditions import service_conditions
from local.modes import KNATIVE, STANDARD, is_standard

if TYPE_CHECKING:
    from local.gateway.record import ServiceRecord


def _model_status(entry: ServiceRecord) -> dict[str, Any]:
    """``modelStatus`` (``UpdateModelRevisionStates``, ``pkg/apis/serving/v1beta1/inference_service_status.go``):
    the served model, the one being rolled out, and why it failed (``lastFailureInfo``)."""
    predictor = entry.plans["predictor"]
    latest = predictor.state.latest
    failed = latest is not None and latest.name in predictor.state.failed
    active = "Loaded" if predictor.traffic else "FailedToLoad" if failed else "Pending"
    target = "FailedToLoad" if failed else "Loaded" if latest and latest.name in entry.ready_revisions else "Pending"
    transition = "BlockedByFailedLoad" if failed else "UpToDate" if target == "Loaded" else "InProgress"
    status: dict[str, Any] = {
        "transitionStatus": transition,
        "states": {"activeModelState": active, "targetModelState": target},
    }
    if failed and latest is not None:  # KServe's FailureInfo of a model that failed to load (ModelLoadFailed)
        message = predictor.state.failed[latest.name]
        status["lastFailureInfo"] = {"reason": "ModelLoadFailed", "message": message, "modelRevisionName": latest.name}
    return status


def render_status(entry: ServiceRecord, base_url: str, live: dict[str, int]) -> dict[str, Any]:
    """``status`` of one service; ``live`` maps revision names to their running replicas."""
    standard = is_standard(entry.service)
    components: dict[str, Any] = {}
    replicas: dict[str, int] = {}
    for component, plan in entry.plans.items():
        state = plan.state
        url = f"{base_url}/v2/models/{entry.model.name}"
        replicas[component] = sum(live.get(revision, 0) for revision in traffic.revisions(plan.traffic))
        if standard:
            components[component] = {"url": url}
            continue
        latest = state.latest
        ready_names = [r.name for r in state.revisions if r.name in entry.ready_revisions]
        components[component] = {
            "latestCreatedRevision": latest.name if latest else None,
            "latestReadyRevision": ready_names[-1] if ready_names else None,
            "latestRolledoutRevision": state.latest_rolled_out,
            "previousRolledoutRevision": state.previous_rolled_out,
            "traffic": [target.to_status() for target in plan.traffic],
            "url": url,
        }
    conditions = service_conditions(entry.service.name, entry.plans, entry.ready_revisions, standard)
    return {
        "url": base_url,
        # KServe's ingress reconciler: url and an http address of scheme and host only (in a cluster
        # ``http://{name}.{namespace}.svc.cluster.local``; locally the gateway, which serves every namespace).
        "address": {"url": base_url},
        "components": components,
        "conditions": [condition.as_dict() for condition in conditions],
        "deploymentMode": STANDARD if standard else KNATIVE,
        "modelStatus": _model_status(entry),
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
            if failed:  # a revision keeps its own failure (Knative's RevisionFailed), whatever came after
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
