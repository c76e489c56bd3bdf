"""The gateway's routing and request plumbing, without Ray (unit tier)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kserve.errors import ModelNotReady
from kserve.model_repository import ModelRepository
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from local.errors import NotFoundError
from local.gateway.app import build_gateway_app
from local.gateway.controller import Controller
from local.gateway.inference_log import INFERENCE_PATH, local_logger_url
from local.gateway.routing import ComponentRoute, IsvcModel, RouteTable, request_tag
from local.traffic import TrafficTarget


def test_split_follows_the_percentages() -> None:
    route = ComponentRoute((TrafficTarget("r2", 20, "latest"), TrafficTarget("r1", 80, "prev")))
    rng = random.Random(7)
    counts = Counter(route.pick(rng) for _ in range(10_000))
    assert 0.18 <= counts["r2"] / 10_000 <= 0.22


def test_zero_percent_revision_gets_nothing_and_no_traffic_is_not_ready() -> None:
    assert {
        ComponentRoute((TrafficTarget("r2", 0, "latest"), TrafficTarget("r1", 100, "prev"))).pick(random.Random(1))
        for _ in range(200)
    } == {"r1"}
    with pytest.raises(ModelNotReady):
        ComponentRoute(()).pick(random.Random(1))


def test_prev_is_always_routable_latest_only_with_the_annotation() -> None:
    """KServe (ksvc_reconciler.go): a canary's rolled-out target is always tagged ``prev``; the latest is
    tagged ``latest`` only with serving.kserve.io/enable-tag-routing, so ``latest-`` hosts exist only then."""
    transformer = ComponentRoute((TrafficTarget("t1", 100, None),))
    tagged = ComponentRoute((TrafficTarget("p2", 10, "latest", True), TrafficTarget("p1", 90, "prev")))
    on = RouteTable("transformer", {"transformer": transformer, "predictor": tagged}, tag_routing=True)
    assert on.choose(random.Random(0), "latest") == {"transformer": "t1", "predictor": "p2"}
    assert on.choose(random.Random(0), "prev")["predictor"] == "p1"
    with pytest.raises(NotFoundError, match="no revision is tagged 'canary'"):
        on.choose(random.Random(0), "canary")
    untagged = ComponentRoute((TrafficTarget("p2", 10, None, True), TrafficTarget("p1", 90, "prev")))
    off = RouteTable("transformer", {"transformer": transformer, "predictor": untagged}, tag_routing=False)
    assert off.choose(random.Random(0), "prev") == {"transformer": "t1", "predictor": "p1"}
    with pytest.raises(NotFoundError, match="enable-tag-routing"):
        off.choose(random.Random(0), "latest")


@pytest.mark.parametrize(
    ("headers", "tag"),
    [
        ({"x-isvc-tag": "prev"}, "prev"),
        ({"host": "latest-iris-predictor-isvc-kit.example.com"}, "latest"),
        ({"host": "prev-iris-predictor.localhost:8080"}, "prev"),
        ({"host": "iris.isvc-kit.example.com"}, None),
        ({}, None),
    ],
)
def test_request_tag_from_header_or_host(headers: dict[str, str], tag: str | None) -> None:
    assert request_tag(headers) == tag


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://isvc-sink.isvc-kit.svc.cluster.local", "http://127.0.0.1:8099/"),
        ("http://broker-ingress.knative-eventing.svc/ns/default", "http://127.0.0.1:8099/"),
        (None, "http://127.0.0.1:8099/"),
        ("http://127.0.0.1:9000/events", "http://127.0.0.1:9000/events"),
    ],
)
def test_cluster_logger_urls_go_to_the_local_sink(url: str | None, expected: str) -> None:
    assert local_logger_url(url) == expected


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/v1/models/iris:predict", "iris"),
        ("/v2/models/iris/infer", "iris"),
        ("/v2/models/iris/versions/iris-predictor-00001/infer", "iris"),
        ("/v2/models/iris", None),
        ("/v1/models/iris", None),
    ],
)
def test_inference_paths_are_recognised(path: str, model: str | None) -> None:
    match = INFERENCE_PATH.match(path)
    assert (match.group(1) or match.group(2) if match else None) == model


class _Echo:
    """A revision client that answers with what it received (stands in for a Ray handle)."""

    def __init__(self, revision: str, seen: list[Any]):
        self.revision, self.seen = revision, seen

    async def infer(self, payload: Any, headers: Any, downstream: Any) -> tuple[Any, dict[str, str]]:
        self.seen.append((self.revision, payload, downstream))
        if isinstance(payload, InferRequest):
            output = InferOutput("revision", [1], "BYTES", [self.revision])
            return InferResponse(response_id="1", model_name="iris", infer_outputs=[output]), {}
        return {"predictions": [self.revision]}, {}

    async def infer_rest(
        self, protocol: str, model_name: str, body: bytes, headers: dict[str, str], downstream: Any
    ) -> tuple[int, bytes, dict[str, str]]:
        """The gateway's fast path: raw bytes, decoded as a replica does (KServe's data plane)."""
        from local.rest_inference import RestInference

        async def call(payload: Any, request_headers: dict[str, str]) -> tuple[Any, dict[str, str]]:
            return await self.infer(payload, request_headers, downstream)

        answer = await RestInference().answer(protocol, model_name, body, headers, call)
        return answer.status, answer.body, answer.headers

    async def metadata(self) -> dict[str, Any]:
        return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}], "outputs": []}


class _Runtime:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def statuses(self) -> dict[str, Any]:
        return {}

    def client(self, revision: str) -> _Echo:
        return _Echo(revision, self.seen)

    def deploy_many(self, items: Any) -> dict[str, Any]:
        raise AssertionError("not used here")

    def delete(self, app_name: str) -> None:
        raise AssertionError("not used here")


@pytest.fixture
def gateway() -> Any:
    runtime = _Runtime()
    controller = Controller(runtime, ModelRepository(), "http://127.0.0.1:8080")
    model = IsvcModel("iris", "iris", runtime.client)
    model.set_routes(
        RouteTable(
            "transformer",
            {
                "transformer": ComponentRoute((TrafficTarget("iris-transformer-00001", 100, None),)),
                "predictor": ComponentRoute(
                    (
                        TrafficTarget("iris-predictor-00002", 0, "latest"),
                        TrafficTarget("iris-predictor-00001", 100, "prev"),
                    )
                ),
            },
        )
    )
    controller.repository.update(model)
    with TestClient(build_gateway_app(controller)) as client:
        yield client, runtime


def test_entry_component_is_called_with_the_chosen_predictor(gateway: Any) -> None:
    client, runtime = gateway
    response = client.post("/v1/models/iris:predict", json={"instances": [[1, 2, 3, 4]]})
    assert response.status_code == 200
    assert response.headers["x-isvc-transformer-revision"] == "iris-transformer-00001"
    assert response.headers["x-isvc-predictor-revision"] == "iris-predictor-00001"
    assert runtime.seen[-1][0] == "iris-transformer-00001" and runtime.seen[-1][2] == "iris-predictor-00001"


def test_versioned_path_pins_the_predictor_revision(gateway: Any) -> None:
    client, runtime = gateway
    body = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}]}
    pinned = client.post("/v2/models/iris/versions/iris-predictor-00002/infer", json=body)
    assert runtime.seen[-1][2] == "iris-predictor-00002"
    assert pinned.headers["x-isvc-predictor-revision"] == "iris-predictor-00002"
    assert client.post("/v2/models/iris/versions/nope/infer", json=body).status_code == 404


def test_api_errors_are_kubernetes_status_objects(gateway: Any) -> None:
    client, _ = gateway
    missing = client.get("/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/nope")
    assert missing.status_code == 404
    assert missing.json() | {"details": None} == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'inferenceservices.serving.kserve.io "nope" not found',
        "reason": "NotFound",
        "details": None,
        "code": 404,
    }
    bad = client.post("/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices", content=b"kind: [")
    assert bad.status_code == 400 and "not valid YAML" in bad.json()["message"]
    assert bad.json()["reason"] == "BadRequest"
    assert client.get("/v2/models/nope").json() == {"error": "Model with name nope does not exist."}


def test_metrics_report_every_live_gateway_of_the_process() -> None:
    """A second gateway in the process (tests build several) must not hide the first one's series."""
    import gc

    from local.gateway import metrics

    class Fake:
        def __init__(self) -> None:
            self.services: dict[str, object] = {}

        def live_statuses(self) -> dict[str, object]:
            return {}

    saved = metrics._GATEWAY.controllers
    try:
        first, second = Fake(), Fake()
        metrics._GATEWAY.controllers = []
        metrics._GATEWAY.add(first)
        metrics._GATEWAY.add(second)
        metrics._GATEWAY.add(first)  # again: once
        assert metrics._GATEWAY.controllers == [second, first]
        del second
        gc.collect()
        assert metrics._GATEWAY.controllers == [first]  # a gateway that is gone is dropped
        list(metrics._GATEWAY.collect())
    finally:
        metrics._GATEWAY.controllers = saved
