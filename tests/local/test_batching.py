"""local/batching.py: requests merged for one predict, each answered with exactly its own rows and id."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from kserve.protocol.infer_type import InferInput, InferRequest, InferResponse, RequestedOutput

from local.batching import predict_batch
from predictors.sklearn import PREDICTIONS_OUTPUT, PROBABILITIES_OUTPUT

ROWS = np.array(
    [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [4.9, 3.1, 1.5, 0.1], [6.3, 2.5, 5.0, 1.9]]
)


def v2(rows: np.ndarray, request_id: str, datatype: str = "FP32") -> InferRequest:
    tensor = InferInput(name="input-0", shape=list(rows.shape), datatype=datatype)
    tensor.set_data_from_numpy(rows.astype(np.float32 if datatype == "FP32" else np.float64), binary_data=False)
    outputs = [RequestedOutput(PREDICTIONS_OUTPUT), RequestedOutput(PROBABILITIES_OUTPUT)]
    return InferRequest(model_name="iris", infer_inputs=[tensor], request_id=request_id, request_outputs=outputs)


class Counting:
    """The real predictor, counting its calls and the rows of each."""

    def __init__(self, model: Any):
        self.model, self.calls = model, []

    async def __call__(self, payload: Any, headers: dict[str, str] | None) -> Any:
        rows = payload.inputs[0].shape[0] if isinstance(payload, InferRequest) else len(payload["instances"])
        self.calls.append(rows)
        return await self.model(payload, headers=headers)


def outputs(response: InferResponse) -> dict[str, np.ndarray]:
    return {output.name: output.as_numpy() for output in response.outputs}


def test_requests_of_different_sizes_share_one_call_and_get_their_own_rows(sklearn_model: Any) -> None:
    requests = [v2(ROWS[0:1], "a"), v2(ROWS[1:4], "b"), v2(ROWS[4:5], "c")]
    call = Counting(sklearn_model)
    answers = asyncio.run(predict_batch(call, [(request, {}) for request in requests]))
    assert call.calls == [5]  # one predict for the five rows
    for request, answer in zip(requests, answers, strict=True):
        alone, _ = asyncio.run(sklearn_model(v2(request.inputs[0].as_numpy(), request.id), headers={}))
        assert isinstance(answer, InferResponse) and answer.id == request.id
        got, expected = outputs(answer), outputs(alone)
        assert got.keys() == expected.keys()
        for name in got:
            assert got[name].shape == expected[name].shape
            np.testing.assert_allclose(got[name].astype(float), expected[name].astype(float), rtol=1e-6)


def test_different_datatypes_are_never_merged(sklearn_model: Any) -> None:
    requests = [v2(ROWS[0:2], "f32"), v2(ROWS[2:3], "f64", "FP64"), v2(ROWS[3:4], "f32-b")]
    call = Counting(sklearn_model)
    answers = asyncio.run(predict_batch(call, [(request, {}) for request in requests]))
    assert sorted(call.calls) == [1, 3]  # the two FP32 requests together, the FP64 one alone
    assert [answer.id for answer in answers] == ["f32", "f64", "f32-b"]


def test_a_bad_request_in_a_batch_fails_alone(sklearn_model: Any) -> None:
    bad = InferRequest(
        model_name="iris",
        infer_inputs=[InferInput(name="input-0", shape=[2, 4], datatype="FP32", data=[1.0, 2.0, 3.0])],
        request_id="bad",
    )
    good = [v2(ROWS[0:1], "g1"), v2(ROWS[1:3], "g2")]
    answers = asyncio.run(predict_batch(Counting(sklearn_model), [(good[0], {}), (bad, {}), (good[1], {})]))
    assert isinstance(answers[1], Exception)
    assert [answers[0].id, answers[2].id] == ["g1", "g2"]
    assert outputs(answers[2])[PROBABILITIES_OUTPUT].shape == (2, 3)


def test_a_merged_call_that_fails_is_retried_one_by_one() -> None:
    async def picky(payload: Any, headers: Any) -> Any:
        instances = payload["instances"]
        if any(row == "boom" for row in instances):
            raise ValueError("boom is not a row")
        return {"predictions": [f"p{row}" for row in instances]}

    items = [({"instances": [1, 2]}, {}), ({"instances": ["boom"]}, {}), ({"instances": [3]}, {})]
    answers = asyncio.run(predict_batch(picky, items))
    assert answers[0] == {"predictions": ["p1", "p2"]} and answers[2] == {"predictions": ["p3"]}
    assert isinstance(answers[1], ValueError)


def test_v1_instances_are_concatenated_and_split_back() -> None:
    calls: list[int] = []

    async def model(payload: Any, headers: Any) -> Any:
        calls.append(len(payload["instances"]))
        return {"predictions": [row * 10 for row in payload["instances"]]}

    answers = asyncio.run(predict_batch(model, [({"instances": [1]}, {}), ({"instances": [2, 3]}, {})]))
    assert calls == [3]
    assert answers == [{"predictions": [10]}, {"predictions": [20, 30]}]


@pytest.mark.parametrize("count", [1, 2])
def test_a_lone_request_is_passed_through_untouched(count: int) -> None:
    seen: list[Any] = []

    async def model(payload: Any, headers: Any) -> Any:
        seen.append(payload)
        return {"predictions": payload["instances"]}, {"x": "1"}

    payloads = [{"instances": [i]} for i in range(count)]
    asyncio.run(predict_batch(model, [(p, {}) for p in payloads]))
    assert seen[0] is payloads[0] if count == 1 else len(seen) == 1


def test_requests_without_an_id_get_one_as_from_kserve_servers(sklearn_model: Any) -> None:
    requests = [v2(ROWS[0:1], ""), v2(ROWS[1:3], "")]
    for request in requests:
        request.id = None
    answers = asyncio.run(predict_batch(Counting(sklearn_model), [(request, {}) for request in requests]))
    ids = [answer.id for answer in answers]
    assert all(isinstance(i, str) and len(i) == 36 for i in ids) and ids[0] != ids[1]
