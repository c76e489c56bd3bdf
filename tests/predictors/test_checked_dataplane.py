"""predictors/checked_dataplane.py: KServe's data plane with the input checks, on every decoding path."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from kserve.errors import InvalidInput, ModelNotFound
from kserve.model_repository import ModelRepository
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.infer_type import InferRequest
from kserve.protocol.rest.v2_datamodels import InferenceRequest

from predictors.checked_dataplane import CheckedDataPlane, VersionNotFound
from predictors.limits import RequestLimits


@pytest.fixture
def dataplane(sklearn_model: Any) -> CheckedDataPlane:
    repository = ModelRepository()
    repository.update(sklearn_model)
    return CheckedDataPlane(repository, RequestLimits(max_body_bytes=1 << 20, max_tensor_elements=64))


def _json(data: Any, shape: list[int]) -> InferenceRequest:
    return InferenceRequest.model_validate(
        {"inputs": [{"name": "input-0", "shape": shape, "datatype": "FP32", "data": data}]}
    )


def test_json_data_nested_deeper_than_its_shape_is_refused(dataplane: CheckedDataPlane) -> None:
    request, _ = dataplane.decode(_json([[5.1, 3.5, 1.4, 0.2]], [1, 4]), {}, "v2", "iris")
    assert isinstance(request, InferRequest)
    with pytest.raises(InvalidInput, match=r"nested as \[1, 1, 4\]"):
        dataplane.decode(_json([[[5.1, 3.5, 1.4, 0.2]]], [1, 4]), {}, "v2", "iris")


def test_the_element_limit_is_the_configured_one(dataplane: CheckedDataPlane) -> None:
    with pytest.raises(InvalidInput, match="more than the limit of 64"):
        dataplane.decode(_json([1.0] * 4, [17, 4]), {}, "v2", "iris")


def test_binary_framing_is_checked_before_kserve_slices_it(dataplane: CheckedDataPlane) -> None:
    header = json.dumps(
        {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": 64}}]}
    ).encode()
    headers = {"inference-header-content-length": str(len(header))}
    with pytest.raises(InvalidInput, match="runs past the end of the body"):
        dataplane.decode(header + bytes(16), headers, "v2", "iris")


def _grpc(raw: bytes | None = None, contents: list[float] | None = None, version: str = "") -> InferRequest:
    tensor = pb.ModelInferRequest.InferInputTensor(name="input-0", datatype="FP32", shape=[1, 4])
    if contents is not None:
        tensor.contents.fp32_contents.extend(contents)
    message = pb.ModelInferRequest(model_name="iris", model_version=version, inputs=[tensor])
    if raw is not None:
        message.raw_input_contents.append(raw)
    return InferRequest.from_grpc(message)


def test_grpc_requests_are_checked_in_infer(dataplane: CheckedDataPlane) -> None:
    response, _ = asyncio.run(dataplane.infer("iris", _grpc(contents=[5.1, 3.5, 1.4, 0.2])))
    assert response.outputs[0].name == "output-0"
    with pytest.raises(InvalidInput, match="takes 16 bytes but the binary data has 15"):
        asyncio.run(dataplane.infer("iris", _grpc(raw=bytes(15))))
    with pytest.raises(InvalidInput, match="needs 4 values but the data holds 3"):
        asyncio.run(dataplane.infer("iris", _grpc(contents=[5.1, 3.5, 1.4])))


def test_a_version_is_not_found_after_the_model_itself(dataplane: CheckedDataPlane) -> None:
    with pytest.raises(VersionNotFound, match="model 'iris' has no version '3'"):
        asyncio.run(dataplane.infer("iris", _grpc(contents=[5.1, 3.5, 1.4, 0.2], version="3")))
    with pytest.raises(ModelNotFound) as unknown:
        asyncio.run(dataplane.resolve_version("nope", "3"))
    assert not isinstance(unknown.value, VersionNotFound)


def test_an_unknown_model_is_404_before_its_inputs_are_looked_at(dataplane: CheckedDataPlane) -> None:
    with pytest.raises(ModelNotFound, match="nope"):
        asyncio.run(dataplane.infer("nope", InferRequest.from_grpc(pb.ModelInferRequest(model_name="nope"))))
