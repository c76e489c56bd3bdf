"""The sklearn predictor in-process: KServe's V1 and V2 routes, metadata and every bad input.

Error codes follow KServe's data plane: InvalidInput -> 400, ModelNotFound -> 404; a versioned path
is 404 too (a pod serves no versions: ``predictors.checked_dataplane``; KServe 0.21 answers 501).
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import pytest

from tests.conftest import SETOSA, VIRGINICA, v2_binary_request, v2_tensor_request

ROWS = [list(SETOSA.values()), list(VIRGINICA.values())]


def post_json(client: Any, path: str, body: Any) -> Any:
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def test_v1_predicts_classes(predictor_client: Any) -> None:
    response = post_json(predictor_client, "/v1/models/iris:predict", {"instances": ROWS})
    assert response.status_code == 200
    assert response.json() == {"predictions": [0, 2]}


def test_v1_probabilities_on_request(predictor_client: Any) -> None:
    body = post_json(
        predictor_client, "/v1/models/iris:predict", {"instances": ROWS, "return_probabilities": True}
    ).json()
    assert body["predictions"] == [0, 2]
    assert [len(row) for row in body["probabilities"]] == [3, 3]
    assert all(math.isclose(sum(row), 1.0, rel_tol=1e-5) for row in body["probabilities"])
    assert body["probabilities"][0][0] > 0.9


def test_v2_answers_every_output_when_none_is_named(predictor_client: Any) -> None:
    """The Open Inference Protocol: "if not specified all outputs produced by the model will be returned"."""
    body = post_json(predictor_client, "/v2/models/iris/infer", v2_tensor_request(ROWS, id="req-1")).json()
    assert body["id"] == "req-1"
    assert [output["name"] for output in body["outputs"]] == ["output-0", "probabilities"]
    assert body["outputs"][0] == {"name": "output-0", "shape": [2], "datatype": "INT64", "data": [0, 2]}
    assert body["outputs"][1]["shape"] == [2, 3]
    assert body["outputs"][1]["datatype"] == "FP32"


def test_v2_a_request_without_id_gets_a_generated_one(predictor_client: Any) -> None:
    """KServe answers a request without ``id`` with a fresh UUID (``kserve.utils.utils.get_predict_response``)."""
    ids = [post_json(predictor_client, "/v2/models/iris/infer", v2_tensor_request(ROWS)).json()["id"] for _ in range(2)]
    assert all(uuid.UUID(answer_id) for answer_id in ids) and ids[0] != ids[1]


@pytest.mark.parametrize(
    ("named", "expected"),
    [(["probabilities"], ["probabilities"]), (["output-0"], ["output-0"]), (["probabilities", "output-0"], None)],
)
def test_v2_named_outputs_only(predictor_client: Any, named: list[str], expected: list[str] | None) -> None:
    extra = {"outputs": [{"name": name} for name in named]}
    body = post_json(predictor_client, "/v2/models/iris/infer", v2_tensor_request(ROWS, **extra)).json()
    assert sorted(output["name"] for output in body["outputs"]) == sorted(expected or named)


def test_v2_binary_tensor_extension(predictor_client: Any) -> None:
    """KServe's binary extension: JSON header then raw FP32 bytes, Inference-Header-Content-Length."""
    body, headers = v2_binary_request(ROWS)
    response = predictor_client.post("/v2/models/iris/infer", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == [0, 2]


def test_v2_metadata_lists_real_inputs_and_outputs(predictor_client: Any) -> None:
    body = predictor_client.get("/v2/models/iris").json()
    assert body["name"] == "iris"
    assert body["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]
    assert body["outputs"] == [
        {"name": "output-0", "datatype": "INT64", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
    ]


def test_health_and_ready(predictor_client: Any) -> None:
    assert predictor_client.get("/v2/health/live").status_code == 200
    assert predictor_client.get("/v2/health/ready").json() == {"ready": True}
    assert predictor_client.get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}


BAD_V2 = [
    (v2_tensor_request([[5.1, 3.5, 1.4]]), "expected 4 features per row, got 3"),
    (v2_tensor_request([[5.1, 3.5, 1.4, "x"]]), "non-numeric value"),
    (
        {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, "NaN"]}]},
        "non-numeric value",
    ),
    ({"inputs": [{"name": "input-0", "shape": [0, 4], "datatype": "FP32", "data": []}]}, "empty batch"),
    (
        {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]},
        "shape [2, 4] needs 8 values but the data holds 4",
    ),
    (
        {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "BYTES", "data": ["a", "b", "c", "d"]}]},
        "datatype BYTES is not numeric",
    ),
    (v2_tensor_request(ROWS, outputs=[{"name": "nope"}]), "unknown requested output 'nope'"),
    ({"inputs": "not a list"}, "inputs"),
    ({"id": "x"}, "inputs"),
]


@pytest.mark.parametrize(("body", "message"), BAD_V2, ids=lambda value: str(value)[:40])
def test_v2_bad_input_is_400_naming_the_problem(predictor_client: Any, body: Any, message: str) -> None:
    response = post_json(predictor_client, "/v2/models/iris/infer", body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_v2_nan_and_inf_are_400(predictor_client: Any) -> None:
    for token in ("NaN", "Infinity", "-Infinity"):
        body = f'{{"inputs":[{{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,{token}]}}]}}'
        response = predictor_client.post(
            "/v2/models/iris/infer", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, token
        assert "NaN or infinite" in response.json()["error"]


BAD_V1 = [
    ({"instances": []}, "empty batch"),
    ({"instances": [[1, 2]]}, "expected 4 features per row, got 2"),
    ({"instances": [["a", 1, 2, 3]]}, "non-numeric value"),
    ({"instances": [[1, 2, 3, None]]}, "non-numeric value"),
    ({"instances": [[1, 2, 3, 4], [1, 2]]}, "rows have different lengths"),
    ({"rows": []}, '"instances"'),
]


@pytest.mark.parametrize(("body", "message"), BAD_V1, ids=lambda value: str(value)[:40])
def test_v1_bad_input_is_400_naming_the_problem(predictor_client: Any, body: Any, message: str) -> None:
    response = post_json(predictor_client, "/v1/models/iris:predict", body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_unknown_model_and_versions_are_404(predictor_client: Any) -> None:
    missing = post_json(predictor_client, "/v2/models/nope/infer", v2_tensor_request(ROWS))
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    versioned = post_json(predictor_client, "/v2/models/iris/versions/1/infer", v2_tensor_request(ROWS))
    assert versioned.status_code == 404 and "has no version '1'" in versioned.json()["error"]
    for path in ("/v2/models/iris/versions/1", "/v2/models/iris/versions/1/ready"):
        assert predictor_client.get(path).status_code == 404
    unknown_model = predictor_client.get("/v2/models/nope/versions/1")
    assert unknown_model.status_code == 404 and "nope" in unknown_model.json()["error"]


def test_server_keeps_serving_after_errors(predictor_client: Any) -> None:
    for body, _ in BAD_V2:
        post_json(predictor_client, "/v2/models/iris/infer", body)
    ok = post_json(predictor_client, "/v2/models/iris/infer", v2_tensor_request(ROWS))
    assert ok.status_code == 200 and ok.json()["outputs"][0]["data"] == [0, 2]
