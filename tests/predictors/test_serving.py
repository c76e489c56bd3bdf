"""predictors/serving.py in-process: V2 error bodies for unknown routes, wrong methods and big bodies."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from predictors.limits import RequestLimits
from predictors.serving import build_rest_app


def test_an_unknown_route_is_404_with_a_v2_error(predictor_client: Any) -> None:
    response = predictor_client.get("/v2/nope")
    assert response.status_code == 404 and response.json() == {"error": "no route /v2/nope"}


def test_a_wrong_method_is_405_with_a_v2_error_and_allow(predictor_client: Any) -> None:
    response = predictor_client.get("/v2/models/iris/infer")
    assert response.status_code == 405
    assert response.json() == {"error": "method GET not allowed on /v2/models/iris/infer"}
    assert response.headers["allow"] == "POST"


def test_a_body_over_the_limit_is_413_and_the_server_goes_on(sklearn_model: Any) -> None:
    app = build_rest_app([sklearn_model], limits=RequestLimits(max_body_bytes=1024, max_tensor_elements=64))
    with TestClient(app) as client:
        big = client.post("/v2/models/iris/infer", content=b"0" * 2048, headers={"content-type": "application/json"})
        assert big.status_code == 413 and "limit of 1024 bytes" in big.json()["error"]
        body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
        assert client.post("/v2/models/iris/infer", json=body).status_code == 200
        wide = {"inputs": [{"name": "input-0", "shape": [17, 4], "datatype": "FP32", "data": [1.0] * 68}]}
        too_many = client.post("/v2/models/iris/infer", json=wide)
        assert too_many.status_code == 400 and "ISVC_MAX_TENSOR_ELEMENTS" in too_many.json()["error"]
