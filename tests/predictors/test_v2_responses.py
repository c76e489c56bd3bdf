"""V2 REST answers of the in-process apps carry no null and validate against the protocol's schemas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import v2_tensor_request
from tests.open_inference import check, nulls_in

ROWS = [[5.1, 3.5, 1.4, 0.2]]


@pytest.mark.parametrize("client_fixture", ["predictor_client", "transformer_client"])
def test_answers_omit_unset_fields(request: pytest.FixtureRequest, client_fixture: str) -> None:
    client: Any = request.getfixturevalue(client_fixture)
    inference = client.post("/v2/models/iris/infer", json=v2_tensor_request(ROWS)).json()
    metadata = client.get("/v2/models/iris").json()
    server = client.get("/v2").json()
    versioned = client.get("/v2/models/iris/versions/1")
    for document, schema in [
        (inference, "inference_response"),
        (metadata, "metadata_model_response"),
        (server, "metadata_server_response"),
        (versioned.json(), "metadata_model_error_response"),
    ]:
        assert nulls_in(document) == [], document
        check(document, schema)
    assert "model_version" not in inference and "parameters" not in inference
    assert "versions" not in metadata


def test_parameters_that_are_set_are_kept(predictor_client: Any) -> None:
    body = v2_tensor_request(ROWS, parameters={"trace": "on"})
    body["inputs"][0]["parameters"] = {"content_type": "np"}
    answer = predictor_client.post("/v2/models/iris/infer", json=body).json()
    check(answer, "inference_response")
    assert nulls_in(answer) == []


def test_the_schema_check_can_fail() -> None:
    with pytest.raises(AssertionError, match="model_version"):
        check({"model_name": "iris", "model_version": None, "outputs": []}, "inference_response")
    assert nulls_in({"a": [1, {"b": None}]}) == ["/a/1/b"]
