"""The InferenceServices the bench applies, derived from ``manifests/iris.yaml`` and written to a temp dir.

Every variant pins its replicas (``minReplicas = maxReplicas = 1`` per component, so no scale to zero)
unless it says otherwise, so the Ray side runs exactly one replica per component like the pod chain's
one process per component. The container args name the model after the service, so each variant has
its own V2 path (``/v2/models/NAME/infer``). Pure functions from the base document to new documents,
plus ``write``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "manifests" / "iris.yaml"
COMPONENTS = ("transformer", "predictor")
PLACEMENT_ANNOTATION = "isvc-kit.io/placement"
BATCHER = {"maxBatchSize": 32, "maxLatency": 5}  # KServe's batcher fields; maxLatency in ms
IRIS_BODY = json.dumps(
    {
        "inputs": [
            {"name": n, "shape": [1], "datatype": "FP32", "data": [v]}
            for n, v in (("sepal_length", 5.1), ("sepal_width", 3.5), ("petal_length", 1.4), ("petal_width", 0.2))
        ]
    }
)
# What the transformer sends its predictor: one [1, 4] FP32 tensor (transformers/iris.py PREDICTOR_INPUT).
PREDICTOR_BODY = json.dumps(
    {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
)

Document = dict[str, Any]


def base() -> Document:
    document: Document = yaml.safe_load(BASE.read_text())
    return document


def _rename(document: Document, name: str) -> None:
    document["metadata"]["name"] = name
    for component in COMPONENTS:
        if component not in document["spec"]:
            continue
        container = document["spec"][component]["containers"][0]
        container["args"] = [
            f"--model_name={name}" if arg.startswith("--model_name=") else arg for arg in container.get("args", [])
        ]


def variant(
    source: Document,
    name: str,
    *,
    replicas: tuple[int, int] = (1, 1),
    logger: bool = False,
    batcher: bool = False,
    predictor_only: bool = False,
    placement: str | None = None,
    window_s: int | None = None,
) -> Document:
    """A copy of ``source`` named ``name``: replicas (min, max) on every component, loggers only if asked.

    ``logger`` keeps the manifest's logger (mode all; its cluster URL maps to the local sink);
    ``batcher`` sets ``spec.predictor.batcher``; ``window_s`` sets Knative's autoscaling window and the
    scale-to-zero retention (the cold-start variant).
    """
    document = copy.deepcopy(source)
    spec = document["spec"]
    if predictor_only:
        spec.pop("transformer", None)
    _rename(document, name)
    for component in COMPONENTS:
        if component not in spec:
            continue
        spec[component]["minReplicas"], spec[component]["maxReplicas"] = replicas
        if logger:
            spec[component]["logger"] = {**spec[component].get("logger", {}), "mode": "all"}
        else:
            spec[component].pop("logger", None)
    if batcher:
        spec["predictor"]["batcher"] = dict(BATCHER)
    annotations = document["metadata"].setdefault("annotations", {})
    if placement is not None:
        annotations[PLACEMENT_ANNOTATION] = placement
    if window_s is not None:
        annotations["autoscaling.knative.dev/window"] = f"{window_s}s"
        annotations["autoscaling.knative.dev/scale-to-zero-pod-retention-period"] = f"{window_s}s"
    return document


def variants(source: Document | None = None) -> dict[str, Document]:
    """Every service the bench may apply, by name."""
    doc = base() if source is None else source
    return {
        "iris": variant(doc, "iris"),
        "iris-batch": variant(doc, "iris-batch", batcher=True),
        "iris-logged": variant(doc, "iris-logged", logger=True),
        "iris-predictor": variant(doc, "iris-predictor", predictor_only=True),
        "iris-zero": variant(doc, "iris-zero", replicas=(0, 1), window_s=2),
    }


def write(directory: Path, documents: dict[str, Document]) -> dict[str, Path]:
    """Write each document to ``directory/NAME.yaml``; returns the paths by name."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, document in documents.items():
        paths[name] = directory / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(document, sort_keys=False))
    return paths
