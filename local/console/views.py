"""What the console shows, as plain values built from API objects: pure, no I/O.

A service view is an InferenceService resource (its ``status.components``, as KServe writes it, parsed
by ``local.cluster.rollout.RolloutStatus`` exactly as ``isvc rollout status`` does) joined with its
Knative revisions (``isvc rollout history``'s rows) and the running replicas of each revision (the
local gateway's ``isvc_replicas`` series of the service's namespace and name, ``replicas_from_scrape``, or a
Knative Revision's ``status.actualReplicas`` on a cluster, ``replicas_from_revisions``). The "try it" form
is built from the model's V2 metadata (``GET /v2/models/{name}``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local.cluster.rollout import RevisionInfo, RolloutStatus, revision_history
from local.console.metrics import Scrape, replicas_of
from local.samples import IRIS_V2_REQUEST


@dataclass(frozen=True)
class RevisionRow:
    info: RevisionInfo
    replicas: int | None


@dataclass(frozen=True)
class ComponentView:
    name: str
    phase: str
    canary_percent: int | None
    revisions: tuple[RevisionRow, ...]
    message: str | None


@dataclass(frozen=True)
class ServiceView:
    name: str
    namespace: str
    model_name: str
    ready: bool | None
    url: str | None
    components: tuple[ComponentView, ...]


def model_name_of(resource: Mapping[str, Any]) -> str:
    """The V2 model name: the local runtime says it; on a cluster the entry container's ``--model_name``."""
    status = resource.get("status") or {}
    local = (status.get("localRuntime") or {}).get("modelName")
    if local:
        return str(local)
    spec = resource.get("spec") or {}
    for component in ("transformer", "predictor"):
        for container in (spec.get(component) or {}).get("containers") or ():
            for arg in container.get("args") or ():
                if str(arg).startswith("--model_name="):
                    return str(arg).split("=", 1)[1]
    return str((resource.get("metadata") or {}).get("name", ""))


def replicas_from_revisions(revisions: Mapping[str, Any]) -> dict[str, int]:
    """``status.actualReplicas`` of each Knative Revision that reports it (a cluster's revision list)."""
    out = {}
    for item in revisions.get("items") or ():
        actual = (item.get("status") or {}).get("actualReplicas")
        if actual is not None:
            out[str((item.get("metadata") or {}).get("name"))] = int(actual)
    return out


def namespace_of(resource: Mapping[str, Any]) -> str:
    """The resource's namespace (``default`` when it names none, as Kubernetes and the gateway use)."""
    return str((resource.get("metadata") or {}).get("namespace") or "default")


def replicas_from_scrape(scrape: Scrape, resource: Mapping[str, Any]) -> dict[str, int]:
    """The local gateway's ``isvc_replicas`` of the resource's service by revision name, matched on its
    namespace and name (revision names repeat across namespaces: a name alone would mix two services)."""
    return replicas_of(scrape, str((resource.get("metadata") or {}).get("name", "")), namespace_of(resource))


def service_view(resource: Mapping[str, Any], revisions: Mapping[str, Any], replicas: Mapping[str, int]) -> ServiceView:
    status = RolloutStatus.parse(resource)
    rows = revision_history(revisions, status)
    components = []
    for name, component in status.components.items():
        mine = tuple(RevisionRow(row, replicas.get(row.name)) for row in rows if row.component == name)
        percent = component.canary_traffic_percent
        components.append(ComponentView(name, component.phase, percent, mine, component.message))
    metadata = resource.get("metadata") or {}
    return ServiceView(
        name=str(metadata.get("name", "")),
        namespace=namespace_of(resource),
        model_name=model_name_of(resource),
        ready=status.ready,
        url=status.url,
        components=tuple(components),
    )


@dataclass(frozen=True)
class FormInput:
    """One tensor of the "try it" form: a text field of comma-separated numbers (or strings for BYTES)."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    default: str


_SAMPLE = {item["name"]: item["data"] for item in IRIS_V2_REQUEST["inputs"]}


def form_inputs(metadata: Mapping[str, Any]) -> list[FormInput]:
    """The form's fields from V2 model metadata ``inputs`` (name, datatype, shape; -1 for any size)."""
    out = []
    for item in metadata.get("inputs") or ():
        shape = tuple(int(d) for d in item.get("shape") or (-1,))
        sample = _SAMPLE.get(str(item.get("name")))
        default = ", ".join(str(v) for v in sample) if sample else ""
        out.append(FormInput(str(item.get("name")), str(item.get("datatype", "FP32")), shape, default))
    return out


class FormError(ValueError):
    """A field of the "try it" form that cannot become a tensor; the message names it."""


def _value(text: str, datatype: str, name: str) -> Any:
    if datatype == "BYTES":
        return text
    try:
        if datatype.startswith(("INT", "UINT")):
            return int(text)
        if datatype == "BOOL":
            return text.lower() in ("1", "true", "yes")
        return float(text)
    except ValueError:
        raise FormError(f"{name}: {text!r} is not a {datatype} value") from None


def _shape(declared: Sequence[int], count: int, name: str) -> list[int]:
    known = math.prod(d for d in declared if d >= 0)
    free = [i for i, d in enumerate(declared) if d < 0]
    shape = list(declared)
    if free:
        if known == 0 or count % known:
            raise FormError(f"{name}: {count} values do not fit the shape {list(declared)}")
        shape[free[0]] = count // known
        for i in free[1:]:
            shape[i] = 1
    elif known != count:
        raise FormError(f"{name}: the shape {list(declared)} needs {known} values, got {count}")
    return shape


def infer_request(inputs: Sequence[FormInput], fields: Mapping[str, str]) -> dict[str, Any]:
    """A V2 ``InferenceRequest`` body from the submitted form ``fields`` (one per input, by name)."""
    tensors = []
    for spec in inputs:
        raw = fields.get(f"input.{spec.name}", "")
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not parts:
            raise FormError(f"{spec.name}: no value given")
        data = [_value(p, spec.datatype, spec.name) for p in parts]
        shape = _shape(spec.shape, len(data), spec.name)
        tensors.append({"name": spec.name, "shape": shape, "datatype": spec.datatype, "data": data})
    return {"inputs": tensors}
