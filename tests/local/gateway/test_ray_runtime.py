"""Ray tier: manifests/iris.yaml served by the local runtime, answered as KServe answers.

One Ray instance per test session (the ``ray_gateway`` fixture). The pod-equivalent processes
(``pod_chain``) are the oracle: the same request must get the same answer from both runtimes.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import (
    SETOSA,
    VIRGINICA,
    v2_binary_request,
    v2_feature_request,
    v2_grpc_feature_request,
    v2_tensor_request,
)

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def client(ray_gateway: Any) -> Any:
    with httpx.Client(base_url=ray_gateway.url, timeout=60.0) as http:
        yield http


def test_v1_and_v2_through_transformer_and_predictor(client: httpx.Client) -> None:
    v1 = client.post("/v1/models/iris:predict", json={"instances": [SETOSA, VIRGINICA]})
    assert v1.status_code == 200
    assert [p["label"] for p in v1.json()["predictions"]] == ["setosa", "virginica"]
    assert v1.headers["x-isvc-transformer-revision"] == "iris-transformer-00001"
    assert v1.headers["x-isvc-predictor-revision"] == "iris-predictor-00001"
    v2 = client.post("/v2/models/iris/infer", json=v2_feature_request([SETOSA, VIRGINICA]))
    outputs = {o["name"]: o for o in v2.json()["outputs"]}
    assert outputs["label"]["data"] == ["setosa", "virginica"]
    assert outputs["probabilities"]["shape"] == [2, 3]


def test_health_ready_and_metadata(client: httpx.Client) -> None:
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
    metadata = client.get("/v2/models/iris").json()
    assert [i["name"] for i in metadata["inputs"]] == list(SETOSA)
    assert [o["name"] for o in metadata["outputs"]] == ["label", "probabilities"]
    assert client.get("/v2").json()["name"]  # server metadata


def test_json_body_accepted_whatever_its_content_type(client: httpx.Client) -> None:
    body = json.dumps(v2_feature_request([SETOSA]))
    for content_type in ("text/plain", "application/octet-stream", ""):
        response = client.post("/v2/models/iris/infer", content=body, headers={"content-type": content_type})
        assert response.status_code == 200, (content_type, response.text)


def test_binary_tensor_extension(client: httpx.Client) -> None:
    """KServe's binary tensor extension: JSON header, raw FP32 bytes, Inference-Header-Content-Length."""
    body, headers = v2_binary_request([list(SETOSA.values())])
    response = client.post("/v2/models/iris/infer", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == ["setosa"]


def test_versioned_path_pins_a_revision_or_404(client: httpx.Client) -> None:
    pinned = client.post("/v2/models/iris/versions/iris-predictor-00001/infer", json=v2_feature_request([SETOSA]))
    assert pinned.status_code == 200 and pinned.headers["x-isvc-predictor-revision"] == "iris-predictor-00001"
    missing = client.post("/v2/models/iris/versions/iris-predictor-00042/infer", json=v2_feature_request([SETOSA]))
    assert missing.status_code == 404 and "iris-predictor-00042" in missing.json()["error"]
    other = client.post("/v2/models/iris/versions/7/infer", json=v2_feature_request([SETOSA]))
    assert other.status_code == 404


def test_grpc_infer(ray_gateway: Any) -> None:
    """V2 gRPC (inference.GRPCInferenceService) on the same data plane."""
    import grpc
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

    with grpc.insecure_channel(f"127.0.0.1:{ray_gateway.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        assert stub.ServerLive(pb.ServerLiveRequest(), timeout=30).live
        assert stub.ModelReady(pb.ModelReadyRequest(name="iris"), timeout=30).ready
        request = v2_grpc_feature_request("iris", VIRGINICA)
        response = stub.ModelInfer(request, timeout=60)
    outputs = {output.name: output for output in response.outputs}
    assert list(outputs["label"].contents.bytes_contents) == [b"virginica"]
    with pytest.raises(grpc.RpcError) as error, grpc.insecure_channel(f"127.0.0.1:{ray_gateway.grpc_port}") as ch:
        pb_grpc.GRPCInferenceServiceStub(ch).ModelInfer(pb.ModelInferRequest(model_name="nope"), timeout=30)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    # A kit error (a tag while tag routing is off) keeps its meaning over gRPC: NOT_FOUND, not INTERNAL.
    with pytest.raises(grpc.RpcError) as error, grpc.insecure_channel(f"127.0.0.1:{ray_gateway.grpc_port}") as ch:
        pb_grpc.GRPCInferenceServiceStub(ch).ModelInfer(request, timeout=30, metadata=(("x-isvc-tag", "latest"),))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND and "tag routing is off" in error.value.details()


PARITY_REQUESTS: list[tuple[str, Any]] = [
    ("/v1/models/iris:predict", {"instances": [SETOSA, VIRGINICA]}),
    ("/v1/models/iris:predict", {"instances": [list(VIRGINICA.values())]}),
    ("/v2/models/iris/infer", v2_feature_request([SETOSA, VIRGINICA])),
    ("/v2/models/iris/infer", v2_tensor_request([list(SETOSA.values())])),
    # every bad input of the foundation, same status and message on both runtimes
    ("/v1/models/iris:predict", {"instances": [SETOSA | {"petal_width": "x"}]}),
    ("/v1/models/iris:predict", {"instances": [{"sepal_length": 1.0}]}),
    ("/v1/models/iris:predict", {"instances": [SETOSA | {"colour": 1}]}),
    ("/v1/models/iris:predict", {"instances": [SETOSA | {"petal_width": 50.0}]}),
    ("/v1/models/iris:predict", {"instances": []}),
    ("/v2/models/iris/infer", v2_tensor_request([[1.0, 2.0, 3.0]])),
    ("/v2/models/iris/infer", v2_tensor_request([[1.0, 2.0, 3.0, "x"]])),
    ("/v2/models/iris/infer", {"inputs": [{"name": "input-0", "shape": [0, 4], "datatype": "FP32", "data": []}]}),
    (
        "/v2/models/iris/infer",
        {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [1.0, 2.0, 3.0, 0.5]}]},
    ),
    ("/v2/models/iris/infer", {"inputs": "bad"}),
    ("/v2/models/nope/infer", v2_tensor_request([[1.0, 2.0, 3.0, 0.5]])),
]


@pytest.mark.parametrize(
    ("path", "body"), PARITY_REQUESTS, ids=[f"{i}-{p}" for i, (p, _) in enumerate(PARITY_REQUESTS)]
)
def test_same_answers_as_the_pod_processes(client: httpx.Client, pod_chain: Any, path: str, body: Any) -> None:
    ray_response = client.post(path, json=body)
    pod_response = httpx.post(pod_chain.url + path, json=body, timeout=30)
    assert ray_response.status_code == pod_response.status_code, (ray_response.text, pod_response.text)
    ray_json, pod_json = ray_response.json(), pod_response.json()
    for document in (ray_json, pod_json):
        document.pop("id", None)  # KServe gives each V2 response a fresh id
    assert ray_json == pod_json


def test_nan_literal_is_400_on_both_runtimes(client: httpx.Client, pod_chain: Any) -> None:
    """NaN is not JSON: KServe's V1 decoder (orjson) refuses the body with 400 on both runtimes."""
    body = '{"instances": [{"sepal_length": NaN, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'
    answers = []
    for base in (str(client.base_url), pod_chain.url):
        response = httpx.post(
            base + "/v1/models/iris:predict", content=body, headers={"content-type": "application/json"}, timeout=30
        )
        assert response.status_code == 400
        answers.append(response.json()["error"])
    assert answers[0] == answers[1] and "Unrecognized request format" in answers[0]


def test_metrics_count_requests_per_revision(client: httpx.Client) -> None:
    client.post("/v1/models/iris:predict", json={"instances": [SETOSA]})
    text = client.get("/metrics").text
    assert (
        'isvc_requests_total{code="200",component="predictor",inferenceservice="iris",namespace="isvc-kit",'
        'revision="iris-predictor-00001"}' in text
    )
    assert "isvc_request_duration_seconds_bucket" in text
    assert (
        'isvc_replicas{component="predictor",inferenceservice="iris",namespace="isvc-kit",'
        'revision="iris-predictor-00001"}' in text
    )


def test_status_in_the_inferenceservice_shape(client: httpx.Client) -> None:
    resource = client.get("/apis/serving.kserve.io/v1beta1/namespaces/isvc-kit/inferenceservices/iris").json()
    predictor = resource["status"]["components"]["predictor"]
    assert predictor["latestCreatedRevision"] == predictor["latestReadyRevision"] == "iris-predictor-00001"
    assert predictor["latestRolledoutRevision"] == "iris-predictor-00001"
    assert predictor["traffic"] == [{"revisionName": "iris-predictor-00001", "percent": 100, "latestRevision": True}]
    assert {"type": "Ready", "status": "True"} in resource["status"]["conditions"]
    assert resource["metadata"]["namespace"] == "isvc-kit"
