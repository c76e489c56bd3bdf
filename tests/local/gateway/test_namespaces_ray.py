"""Ray tier: one InferenceService name in two namespaces, served side by side, each through its Host.

``iris-ns`` in ``team-a`` serves models/iris/v1 (logistic regression) and in ``team-b`` models/iris/v2
(gradient boosting), so their probabilities differ: an answer tells which namespace served it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from local.cli.main import main
from tests.conftest import VIRGINICA, v2_feature_request, v2_grpc_feature_request
from tests.local.gateway.test_isvc_api import path
from tests.local.gateway.test_namespaces import document

pytestmark = pytest.mark.ray

NAMESPACES = {"team-a": "models/iris/v1", "team-b": "models/iris/v2"}
INFER = "/v2/models/iris-ns/infer"


@pytest.fixture(scope="module")
def two_namespaces(ray_gateway: Any) -> Iterator[Any]:
    try:
        for namespace, model_dir in NAMESPACES.items():
            text = yaml.safe_dump(document(namespace, model_dir))
            applied = httpx.post(ray_gateway.url + path(namespace), content=text.encode(), timeout=300)
            assert applied.status_code == 200, applied.text
        yield ray_gateway
    finally:
        for namespace in NAMESPACES:
            httpx.delete(ray_gateway.url + path(namespace, "iris-ns"), timeout=120)


def probabilities(client: httpx.Client, **headers: str) -> list[float]:
    answer = client.post(INFER, json=v2_feature_request([VIRGINICA]), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-isvc-predictor-revision"] == "iris-ns-predictor-00001"
    outputs = {output["name"]: output for output in answer.json()["outputs"]}
    assert outputs["label"]["data"] == ["virginica"]
    return [float(p) for p in outputs["probabilities"]["data"]]


def test_same_name_in_two_namespaces(two_namespaces: Any, capsys: pytest.CaptureFixture[str]) -> None:
    gateway = two_namespaces
    with httpx.Client(base_url=gateway.url, timeout=60) as client:
        for namespace in NAMESPACES:
            resource = client.get(path(namespace, "iris-ns")).json()
            ready = next(c for c in resource["status"]["conditions"] if c["type"] == "Ready")
            assert ready["status"] == "True", resource["status"]
            units = resource["status"]["localRuntime"]["placement"]["units"]
            assert units == [f"{namespace}.iris-ns-transformer-00001+iris-ns-predictor-00001"]

        assert main(["get", "--server", gateway.url, "-A"]) == 0
        rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]]
        assert ["team-a", "iris-ns"] in rows and ["team-b", "iris-ns"] in rows
        assert main(["get", "iris-ns", "--server", gateway.url, "-n", "team-b", "-o", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["metadata"]["namespace"] == "team-b"

        by_host = {ns: probabilities(client, host=f"iris-ns.{ns}.example.com") for ns in NAMESPACES}
        assert by_host["team-a"] != by_host["team-b"], "each namespace serves its own model"
        assert probabilities(client, **{"x-isvc-namespace": "team-b"}) == by_host["team-b"]
        unpicked = client.post(INFER, json=v2_feature_request([VIRGINICA]))
        assert unpicked.status_code == 409 and "'team-a'" in unpicked.json()["error"]
        assert grpc_probabilities(gateway, (("x-isvc-namespace", "team-a"),)) == pytest.approx(by_host["team-a"])

        assert client.delete(path("team-a", "iris-ns")).status_code == 200
        assert client.get(path("team-a", "iris-ns")).status_code == 404
        assert probabilities(client) == by_host["team-b"], "the other namespace's service keeps serving"
        statuses = gateway.runtime.statuses()
        assert "team-b.iris-ns-transformer-00001+iris-ns-predictor-00001" in statuses
        assert not any(app.startswith("team-a.") for app in statuses)


def grpc_probabilities(gateway: Any, metadata: tuple[tuple[str, str], ...]) -> list[float]:
    import grpc
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

    request = v2_grpc_feature_request("iris-ns", VIRGINICA)
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        metadata_reply = stub.ModelMetadata(pb.ModelMetadataRequest(name="iris-ns"), timeout=30, metadata=metadata)
        assert metadata_reply.name == "iris-ns"
        response = stub.ModelInfer(request, timeout=60, metadata=metadata)
    outputs = {output.name: output for output in response.outputs}
    probabilities = outputs["probabilities"]
    return list(probabilities.contents.fp64_contents or probabilities.contents.fp32_contents)
