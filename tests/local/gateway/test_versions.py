"""The gateway without Ray: versions are revisions (REST and gRPC), V2 errors for routes, methods, sizes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kserve.model_repository import ModelRepository
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from local.errors import NotFoundError
from local.gateway.app import build_gateway_app
from local.gateway.controller import Controller
from local.gateway.routing import ComponentRoute, IsvcModel, RouteTable
from local.traffic import TrafficTarget


class _Revision:
    """Stands in for a unit's Ray handle: answers with the predictor revision it was sent to."""

    def __init__(self, calls: list[str | None]):
        self.calls = calls

    async def infer(self, payload: Any, headers: Any, downstream: str | None) -> tuple[Any, dict[str, str]]:
        self.calls.append(downstream)
        output = InferOutput("revision", [1], "BYTES", [downstream or ""])
        return InferResponse(response_id="1", model_name="iris", infer_outputs=[output]), {}

    async def metadata(self) -> dict[str, Any]:
        return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}], "outputs": []}


class _Runtime:
    def __init__(self) -> None:
        self.calls: list[str | None] = []

    def statuses(self) -> dict[str, Any]:
        return {}

    def client(self, revision: str) -> _Revision:
        return _Revision(self.calls)

    def deploy_many(self, items: Any) -> dict[str, Any]:
        raise AssertionError("not used here")

    def delete(self, app_name: str) -> None:
        raise AssertionError("not used here")


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ISVC_MAX_BODY_BYTES", "4096")
    runtime = _Runtime()
    controller = Controller(runtime, ModelRepository(), "http://127.0.0.1:8080")
    model = IsvcModel("iris", "iris", runtime.client)
    model.set_routes(
        RouteTable(
            "transformer",
            {
                "transformer": ComponentRoute((TrafficTarget("iris-transformer-00001", 100),)),
                "predictor": ComponentRoute(
                    (TrafficTarget("iris-predictor-00002", 10), TrafficTarget("iris-predictor-00001", 90))
                ),
            },
        )
    )
    controller.repository.update(model)
    app = build_gateway_app(controller)
    with TestClient(app) as client:
        yield client, app, runtime


def test_versioned_metadata_and_ready_of_a_revision_or_404(gateway: Any) -> None:
    client, _, _ = gateway
    assert client.get("/v2/models/iris/versions/iris-predictor-00002").json()["inputs"][0]["name"] == "x"
    assert client.get("/v2/models/iris/versions/iris-predictor-00002/ready").json() == {"name": "iris", "ready": True}
    for path in ("/v2/models/iris/versions/iris-predictor-00042", "/v2/models/iris/versions/9/ready"):
        response = client.get(path)
        assert response.status_code == 404 and "a version is a deployed revision of iris" in response.json()["error"]


def test_grpc_model_version_pins_the_revision(gateway: Any) -> None:
    _, app, runtime = gateway
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="x", datatype="FP32", shape=[1], contents=pb.InferTensorContents(fp32_contents=[1.0])
    )

    def grpc_request(version: str) -> InferRequest:
        message = pb.ModelInferRequest(model_name="iris", model_version=version, inputs=[tensor])
        return InferRequest.from_grpc(message)

    dataplane = app.state.dataplane
    for _ in range(5):
        asyncio.run(dataplane.infer("iris", grpc_request("iris-predictor-00002")))
    assert runtime.calls == ["iris-predictor-00002"] * 5  # pinned, whatever the 10 % split would draw
    with pytest.raises(NotFoundError, match="has no version 'iris-predictor-00042'"):
        asyncio.run(dataplane.infer("iris", grpc_request("iris-predictor-00042")))


def test_unknown_routes_wrong_methods_and_big_bodies_get_v2_errors(gateway: Any) -> None:
    client, _, _ = gateway
    missing = client.get("/v2/nope")
    assert missing.status_code == 404 and missing.json() == {"error": "no route /v2/nope"}
    wrong = client.put("/v2/models/iris/infer", json={})
    assert wrong.status_code == 405 and "method PUT not allowed" in wrong.json()["error"]
    big = client.post("/v2/models/iris/infer", content=b"0" * 5000, headers={"content-type": "application/json"})
    assert big.status_code == 413 and "limit of 4096 bytes (ISVC_MAX_BODY_BYTES)" in big.json()["error"]
