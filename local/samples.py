"""The example request the kit prints for a served model, built from the model's own V2 metadata.

``isvc up`` (``make run``) and ``isvc pods`` end by printing a request to paste. Its body follows the
model's ``inputs`` (name, datatype, shape; a variable dimension becomes 1), so it fits whatever model
the YAML names. ``EXAMPLE_VALUES`` gives readable values for inputs whose names it knows (the iris
features of the example service); every other input gets 1 (numbers), true or "a".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

EXAMPLE_VALUES: dict[str, float] = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}

IRIS_V2_REQUEST: dict[str, Any] = {
    "inputs": [
        {"name": name, "shape": [1], "datatype": "FP32", "data": [value]} for name, value in EXAMPLE_VALUES.items()
    ]
}


def sample_request(inputs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A V2 infer request matching the metadata ``inputs``; None when they say nothing usable."""
    tensors = []
    for spec in inputs:
        name, datatype = spec.get("name"), str(spec.get("datatype") or "FP32")
        if not name:
            return None
        shape = [dim if isinstance(dim, int) and dim > 0 else 1 for dim in (spec.get("shape") or [1])]
        value: Any
        if datatype == "BYTES":
            value = "a"
        elif datatype == "BOOL":
            value = True
        else:
            value = EXAMPLE_VALUES.get(str(name), 1)
        tensors.append({"name": name, "shape": shape, "datatype": datatype, "data": [value] * math.prod(shape)})
    return {"inputs": tensors} if tensors else None


def curl_example(url: str, model_name: str, inputs: Sequence[Mapping[str, Any]] = ()) -> str:
    """A ready-to-paste V2 infer request for ``model_name`` at ``url``; its metadata when none can be built."""
    body = sample_request(inputs)
    if body is None:
        return f"curl -s {url}/v2/models/{model_name}   # the model's inputs"
    return (
        f"curl -s -H 'Content-Type: application/json' {url}/v2/models/{model_name}/infer "
        f"-d '{json.dumps(body, separators=(', ', ': '))}'"
    )
