"""The iris transformer in-process: records in, labels and probabilities out, fields checked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SETOSA, VIRGINICA, v2_feature_request, v2_tensor_request


def post_json(client: Any, path: str, body: Any) -> Any:
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def test_v1_records_give_labels_with_probabilities(transformer_client: Any) -> None:
    response = post_json(transformer_client, "/v1/models/iris:predict", {"instances": [SETOSA, VIRGINICA]})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["label"] for p in predictions] == ["setosa", "virginica"]
    assert [p["class_index"] for p in predictions] == [0, 2]
    assert set(predictions[0]["probabilities"]) == {"setosa", "versicolor", "virginica"}
    assert predictions[0]["probabilities"]["setosa"] > 0.9


def test_v1_rows_in_feature_order_are_accepted(transformer_client: Any) -> None:
    body = {"instances": [list(SETOSA.values())]}
    assert post_json(transformer_client, "/v1/models/iris:predict", body).json()["predictions"][0]["label"] == "setosa"


def test_v2_feature_inputs_give_label_and_probabilities(transformer_client: Any) -> None:
    body = post_json(transformer_client, "/v2/models/iris/infer", v2_feature_request([SETOSA, VIRGINICA])).json()
    outputs = {output["name"]: output for output in body["outputs"]}
    assert outputs["label"]["data"] == ["setosa", "virginica"]
    assert outputs["label"]["datatype"] == "BYTES"
    assert outputs["probabilities"]["shape"] == [2, 3]


def test_v2_feature_order_comes_from_metadata_not_request(transformer_client: Any) -> None:
    reordered = v2_feature_request([dict(reversed(list(VIRGINICA.items())))])
    body = post_json(transformer_client, "/v2/models/iris/infer", reordered).json()
    assert body["outputs"][0]["data"] == ["virginica"]


def test_v2_single_tensor_is_accepted(transformer_client: Any) -> None:
    body = post_json(transformer_client, "/v2/models/iris/infer", v2_tensor_request([list(SETOSA.values())])).json()
    assert body["outputs"][0]["data"] == ["setosa"]


def test_metadata_lists_feature_inputs(transformer_client: Any) -> None:
    body = transformer_client.get("/v2/models/iris").json()
    assert [i["name"] for i in body["inputs"]] == list(SETOSA)
    assert [o["name"] for o in body["outputs"]] == ["label", "probabilities"]


BAD_RECORDS = [
    ({k: v for k, v in SETOSA.items() if k != "petal_width"}, "instances[0].petal_width: missing field"),
    (SETOSA | {"colour": 1}, "instances[0].colour: unknown field"),
    (SETOSA | {"sepal_width": "wide"}, "instances[0].sepal_width: expected a number"),
    (SETOSA | {"sepal_width": True}, "instances[0].sepal_width: expected a number"),
    (SETOSA | {"petal_width": 99.0}, "field petal_width: 99 is out of range [0, 5]"),
    (SETOSA | {"sepal_length": -1.0}, "field sepal_length: -1 is out of range"),
]


@pytest.mark.parametrize(("record", "message"), BAD_RECORDS, ids=[m for _, m in BAD_RECORDS])
def test_v1_bad_field_is_400_naming_the_field(transformer_client: Any, record: Any, message: str) -> None:
    response = post_json(transformer_client, "/v1/models/iris:predict", {"instances": [record]})
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_v2_bad_feature_inputs_are_400(transformer_client: Any) -> None:
    missing = v2_feature_request([{k: v for k, v in SETOSA.items() if k != "sepal_width"}])
    assert (
        "input 'sepal_width': missing feature"
        in post_json(transformer_client, "/v2/models/iris/infer", missing).json()["error"]
    )
    unknown = v2_feature_request([SETOSA | {"colour": 1.0}])
    assert (
        "input 'colour': unknown feature"
        in post_json(transformer_client, "/v2/models/iris/infer", unknown).json()["error"]
    )
    out_of_range = v2_feature_request([SETOSA | {"petal_length": 100.0}])
    response = post_json(transformer_client, "/v2/models/iris/infer", out_of_range)
    assert response.status_code == 400 and "petal_length" in response.json()["error"]


def test_empty_instances_is_400(transformer_client: Any) -> None:
    response = post_json(transformer_client, "/v1/models/iris:predict", {"instances": []})
    assert response.status_code == 400 and "non-empty" in response.json()["error"]
