"""The example request the kit prints for the iris InferenceService: one definition for every command.

``isvc pods`` and ``isvc up`` (``make run``) both end by printing a request to paste; the body is the
iris transformer's V2 input, one FP32 tensor of shape [1] per feature.
"""

from __future__ import annotations

import json
from typing import Any

IRIS_V2_REQUEST: dict[str, Any] = {
    "inputs": [
        {"name": "sepal_length", "shape": [1], "datatype": "FP32", "data": [5.1]},
        {"name": "sepal_width", "shape": [1], "datatype": "FP32", "data": [3.5]},
        {"name": "petal_length", "shape": [1], "datatype": "FP32", "data": [1.4]},
        {"name": "petal_width", "shape": [1], "datatype": "FP32", "data": [0.2]},
    ]
}


def curl_example(url: str, model_name: str) -> str:
    """A ready-to-paste V2 infer request for ``model_name`` served at ``url``."""
    return (
        f"curl -s -H 'Content-Type: application/json' {url}/v2/models/{model_name}/infer "
        f"-d '{json.dumps(IRIS_V2_REQUEST)}'"
    )
