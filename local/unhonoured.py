"""What the local runtime does not act on, field by field, with the reason: the warnings of an apply.

``unhonoured(service)`` walks an InferenceService and returns one ``Unhonoured(path, why)`` per field the
local runtime leaves aside or changes, so nothing is dropped silently:

* fields the spec does not model (typos, fields of other KServe versions): kept, not acted on;
* container fields that only mean something to a pod (``image``, ``ports``, ``resources``, ...), and
  ``serviceAccountName``;
* ``labels`` (of the service and of a component) and every annotation the runtime does not read;
* by deployment mode (``local.modes``): in Knative mode the HPA metrics ``cpu``/``memory`` and Knative's
  ``rps`` (Ray Serve scales on requests in flight only; ``concurrency`` maps); in Standard mode
  ``canaryTrafficPercent`` (ignored), ``minReplicas: 0`` (raised to 1), an approximated or unmapped HPA
  metric, and Knative's ``autoscaling.knative.dev/*`` annotations.

``warning_lines`` renders them as ``path: why``, what ``status.localRuntime.warnings`` lists;
``summary_lines`` is what ``isvc up`` prints: the fields only kept for the cluster on one line, grouped by
parent (``spec.predictor.containers[0].{image,ports}``), and each field whose meaning changes on a line.
Pure: depends on the spec types and pydantic only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pydantic import BaseModel

from local.modes import hpa_scaling, is_standard
from local.placement import PLACEMENT_ANNOTATION
from local.spec import DEPLOYMENT_MODE_ANNOTATION, TAG_ROUTING_ANNOTATION, ComponentSpec, InferenceService

KNATIVE_AUTOSCALING = "autoscaling.knative.dev/"
# The Knative autoscaling annotations the planner maps (local.autoscaling.autoscaling_for).
KNATIVE_HONOURED = frozenset(
    KNATIVE_AUTOSCALING + key
    for key in (
        "scale-to-zero-pod-retention-period",
        "window",
        "scale-down-delay",
        "initial-scale",
        "target",
        "target-utilization-percentage",
    )
)
AUTOSCALER_CLASS_ANNOTATION = "serving.kserve.io/autoscalerClass"
POD_ONLY_CONTAINER_FIELDS = ("env", "image", "ports", "resources", "securityContext")
NOT_ACTED_ON = "not acted on by the local runtime (kept for the cluster)"
REVISION_ONLY = "kept for the cluster; locally a change of them only makes a revision, as on a cluster"
KEPT = frozenset({NOT_ACTED_ON, REVISION_ONLY})


@dataclass(frozen=True, order=True)
class Unhonoured:
    path: str
    why: str = NOT_ACTED_ON

    def line(self) -> str:
        return f"{self.path}: {self.why}"


def _extra_fields(model: BaseModel, path: str, found: list[Unhonoured]) -> None:
    for key in sorted(model.model_extra or {}):
        if f"{path}.{key}" != ".status":
            found.append(Unhonoured(f"{path}.{key}".lstrip("."), "not a field the local runtime knows"))
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _extra_fields(value, f"{path}.{name}", found)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _extra_fields(item, f"{path}.{name}[{index}]", found)


def _annotations(annotations: dict[str, str], path: str, standard: bool, top: bool) -> list[Unhonoured]:
    read = (
        {DEPLOYMENT_MODE_ANNOTATION, TAG_ROUTING_ANNOTATION, PLACEMENT_ANNOTATION} if top else {TAG_ROUTING_ANNOTATION}
    )
    found = []
    for key in sorted(annotations):
        where = f"{path}.annotations[{key}]"
        if key in read:
            continue
        if key.startswith(KNATIVE_AUTOSCALING):
            if standard:
                found.append(Unhonoured(where, "a Knative autoscaling annotation: Standard mode scales with an HPA"))
            elif key not in KNATIVE_HONOURED:
                found.append(Unhonoured(where))
        elif key == AUTOSCALER_CLASS_ANNOTATION and standard and annotations[key] == "hpa":
            continue  # the HPA is what Standard mode is modelled on
        else:
            found.append(Unhonoured(where))
    return found


def _component(name: str, component: ComponentSpec, standard: bool) -> list[Unhonoured]:
    where = f"spec.{name}"
    found = []
    for index, container in enumerate(component.containers):
        for field_name in POD_ONLY_CONTAINER_FIELDS:
            if field_name in container.model_fields_set:
                found.append(Unhonoured(f"{where}.containers[{index}].{field_name}"))
    if component.serviceAccountName:
        found.append(Unhonoured(f"{where}.serviceAccountName"))
    if component.labels:
        found.append(Unhonoured(f"{where}.labels", REVISION_ONLY))
    found += _annotations(component.annotations, where, standard, top=False)
    if standard:
        if component.canaryTrafficPercent is not None:
            found.append(
                Unhonoured(f"{where}.canaryTrafficPercent", "ignored in Standard mode: a Deployment has no revisions")
            )
        if component.minReplicas < 1:
            found.append(
                Unhonoured(f"{where}.minReplicas", "0 becomes 1 in Standard mode: an HPA cannot scale to zero")
            )
        note = hpa_scaling(component).approximated
        if note:
            found.append(Unhonoured(f"{where}.scaleMetric", note))
    elif component.scaleMetric in {"cpu", "memory", "rps"}:
        found.append(
            Unhonoured(f"{where}.scaleMetric", f"{component.scaleMetric}: Ray Serve scales on requests in flight only")
        )
    return found


def unhonoured(service: InferenceService) -> list[Unhonoured]:
    """Every field the local runtime leaves aside or changes, sorted by path, one entry per path."""
    standard = is_standard(service)
    found: list[Unhonoured] = []
    _extra_fields(service, "", found)
    if service.metadata.labels:
        found.append(Unhonoured("metadata.labels", REVISION_ONLY))
    found += _annotations(service.metadata.annotations, "metadata", standard, top=True)
    for name, component in service.components().items():
        found += _component(name, component, standard)
    by_path: dict[str, Unhonoured] = {}
    for item in found:
        by_path.setdefault(item.path, item)
    return sorted(by_path.values())


def warning_lines(service: InferenceService) -> list[str]:
    """``path: why`` for each unhonoured field: ``status.localRuntime.warnings``."""
    return [item.line() for item in unhonoured(service)]


def summary_lines(service: InferenceService) -> list[str]:
    """What ``isvc up`` prints of the unhonoured fields: the merely kept ones grouped, the others each."""
    kept: dict[str, list[str]] = defaultdict(list)
    changed = []
    for item in unhonoured(service):
        if item.why in KEPT:
            parent, _, leaf = item.path.rpartition(".")
            kept[parent].append(leaf)
        else:
            changed.append(f"warning: {item.line()}")
    grouped = [
        f"{parent}.{leaves[0]}" if len(leaves) == 1 else f"{parent}.{{{','.join(leaves)}}}"
        for parent, leaves in kept.items()
    ]
    lines = [f"kept for the cluster, not acted on locally: {', '.join(grouped)}"] if grouped else []
    return lines + changed
