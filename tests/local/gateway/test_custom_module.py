"""A KServe user's custom predictor module, unchanged (it ends with ``ModelServer().start([model])``), served."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import apply_yaml

pytestmark = pytest.mark.ray

MANIFEST = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: threshold
spec:
  predictor:
    minReplicas: 1
    maxReplicas: 1
    containers:
      - name: kserve-container
        image: example.com/threshold:1
        command: [python, -m, tests.fixtures.custom_models.kserve_custom_predictor]
        args: [--model_name=threshold, --threshold=3]
"""


def test_unmodified_module_answers_v1_and_v2(ray_gateway: Any) -> None:
    item = apply_yaml(ray_gateway, MANIFEST)
    try:
        ready = [c for c in item["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", item["status"]
        v1 = httpx.post(
            f"{ray_gateway.url}/v1/models/threshold:predict", json={"instances": [[1, 1], [2, 2.5]]}, timeout=30
        )
        assert v1.status_code == 200, v1.text
        assert v1.json()["predictions"] == ["low", "high"]
        v2 = httpx.post(
            f"{ray_gateway.url}/v2/models/threshold/infer",
            json={"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 1, 2, 2.5]}]},
            timeout=30,
        )
        assert v2.status_code == 200, v2.text
        (output,) = v2.json()["outputs"]
        assert output["datatype"] == "BYTES" and output["data"] == ["low", "high"]
    finally:
        httpx.delete(
            f"{ray_gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/threshold",
            timeout=120,
        )
