"""The same service name in two namespaces, without Ray: two services, picked by Host on the V2 paths.

A fake Serve answers each infer with the name of the Serve application that served it, so the test
sees which namespace's revision a request reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from kserve.model_repository import ModelRepository

from local.gateway.app import build_gateway_app
from local.gateway.controller import Controller
from local.gateway.namespaces import ByNamespace, requested_namespace
from local.placement import unit_name, unit_revisions
from local.spec import parse_inference_service
from tests.local.gateway.test_controller_records import FakeServe
from tests.local.gateway.test_isvc_api import iris_object, path

INFER = "/v2/models/iris-ns/infer"
BODY = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}


class AnsweringApp:
    def __init__(self, app: str) -> None:
        self.app = app

    async def infer_rest(
        self, protocol: str, model: str, body: bytes, headers: dict[str, str], downstream: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        return 200, self.app.encode(), {"content-type": "text/plain"}

    async def metadata(self) -> dict[str, Any]:
        return {"inputs": [{"name": self.app, "datatype": "FP32", "shape": [-1, 4]}], "outputs": []}


class AnsweringServe(FakeServe):
    def client(self, app_name: str) -> Any:
        assert app_name in self.apps, f"{app_name} is not deployed"
        return AnsweringApp(app_name)


def document(namespace: str, model_dir: str = "models/iris/v1") -> dict[str, Any]:
    doc = iris_object(namespace, "iris-ns")
    for component in ("transformer", "predictor"):
        container = doc["spec"][component]["containers"][0]
        container["args"] = [
            "--model_name=iris-ns" if a.startswith("--model_name=") else a.replace("models/iris/v1", model_dir)
            for a in container["args"]
        ]
    return doc


@pytest.fixture
def gateway() -> Iterator[tuple[TestClient, Controller]]:
    controller = Controller(AnsweringServe(), ModelRepository(), "http://127.0.0.1:8080")
    with TestClient(build_gateway_app(controller)) as client:
        yield client, controller


def test_app_names_carry_the_namespace_outside_the_default_one() -> None:
    assert unit_name("iris-transformer-00001", "iris-predictor-00001") == "iris-transformer-00001+iris-predictor-00001"
    pair = unit_name("iris-transformer-00001", "iris-predictor-00001", namespace="team-a")
    assert pair == "team-a.iris-transformer-00001+iris-predictor-00001"
    assert unit_revisions(pair) == ("team-a", ("iris-transformer-00001", "iris-predictor-00001"))
    assert unit_revisions("iris-predictor-00002") == ("default", ("iris-predictor-00002",))


def test_the_host_or_the_header_picks_the_namespace() -> None:
    services = {"team-a": "iris-ns", "team-b": "iris-ns"}
    assert requested_namespace({"host": "iris-ns.team-b"}, services) == "team-b"
    assert requested_namespace({"host": "iris-ns.team-a.example.com:8080"}, services) == "team-a"
    assert requested_namespace([(b"host", b"latest-iris-ns-predictor.team-b.svc")], services) == "team-b"
    assert requested_namespace({"x-isvc-namespace": "team-a", "host": "iris-ns.team-b"}, services) == "team-a"
    for unpicked in ({"host": "127.0.0.1:8080"}, {"host": "other.team-a"}, {"host": "iris-ns.team-c"}, {}):
        assert requested_namespace(unpicked, services) is None, unpicked
    assert requested_namespace({"x-isvc-namespace": "team-c"}, services) is None


def test_two_namespaces_serve_the_same_name_each_through_its_host(gateway: tuple[TestClient, Controller]) -> None:
    client, controller = gateway
    for namespace, model_dir in (("team-a", "models/iris/v1"), ("team-b", "models/iris/v2")):
        created = client.post(path(namespace), json=document(namespace, model_dir))
        assert created.status_code == 201, created.text
        units = created.json()["status"]["localRuntime"]["placement"]["units"]
        assert units == [f"{namespace}.iris-ns-transformer-00001+iris-ns-predictor-00001"]
        assert created.json()["status"]["components"]["predictor"]["latestReadyRevision"] == "iris-ns-predictor-00001"
    assert sorted(controller.services) == [("team-a", "iris-ns"), ("team-b", "iris-ns")]
    assert isinstance(controller.repository.get_model("iris-ns"), ByNamespace)
    listed = client.get(path("_all")).json()["items"]
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed] == [
        ("team-a", "iris-ns"),
        ("team-b", "iris-ns"),
    ]

    for namespace in ("team-a", "team-b"):
        answer = client.post(INFER, json=BODY, headers={"host": f"iris-ns.{namespace}.example.com"})
        assert answer.status_code == 200, answer.text
        assert answer.text == f"{namespace}.iris-ns-transformer-00001+iris-ns-predictor-00001"
        assert answer.headers["x-isvc-predictor-revision"] == "iris-ns-predictor-00001"
        by_header = client.post(INFER, json=BODY, headers={"x-isvc-namespace": namespace})
        assert by_header.text.startswith(f"{namespace}.")
        metadata = client.get("/v2/models/iris-ns", headers={"host": f"iris-ns.{namespace}"})
        assert metadata.status_code == 200, metadata.text
        assert metadata.json()["inputs"][0]["name"].startswith(f"{namespace}.")

    unpicked = client.post(INFER, json=BODY)
    assert unpicked.status_code == 409
    message = unpicked.json()["error"]
    assert "'team-a'" in message and "'team-b'" in message and "x-isvc-namespace" in message, message
    assert client.get("/v2/models/iris-ns").status_code == 409

    assert client.delete(path("team-a", "iris-ns")).status_code == 200
    assert controller.repository.get_model("iris-ns") is controller.get("iris-ns").model  # one left: no Host needed
    alone = client.post(INFER, json=BODY)
    assert alone.status_code == 200 and alone.text.startswith("team-b."), alone.text
    assert not any(app.startswith("team-b.") for app in controller.runtime.deleted)  # type: ignore[attr-defined]


def test_model_names_stay_unique_within_a_namespace(gateway: tuple[TestClient, Controller]) -> None:
    client, _ = gateway
    assert client.post(path("team-a"), json=document("team-a")).status_code == 201
    other = document("team-a")
    other["metadata"]["name"] = "iris-other"
    refused = client.post(path("team-a"), json=other)
    assert refused.status_code == 409 and "already served by InferenceService 'iris-ns'" in refused.json()["message"]
    other["metadata"]["namespace"] = "team-b"
    assert client.post(path("team-b"), json=other).status_code == 201


def test_the_logger_follows_the_namespace_the_request_picks() -> None:
    controller = Controller(AnsweringServe(), ModelRepository(), "http://127.0.0.1:8080")
    for namespace in ("team-a", "team-b"):
        doc = document(namespace)
        doc["spec"]["transformer"]["logger"] = {"mode": "all", "url": f"http://{namespace}-sink.example/"}
        controller.apply(parse_inference_service(yaml.safe_load(yaml.safe_dump(doc))))
    team_b = controller.logger_for("iris-ns", [(b"host", b"iris-ns.team-b")])
    assert team_b is not None and team_b is controller.get("iris-ns", "team-b").logger
    assert (
        controller.logger_for("iris-ns", {"x-isvc-namespace": "team-a"}) is controller.get("iris-ns", "team-a").logger
    )
    assert controller.logger_for("iris-ns", {}) is None


def test_a_restart_restores_both_namespaces(tmp_path: Any) -> None:
    from local.revision_store import RevisionStore

    first = Controller(
        AnsweringServe(), ModelRepository(), "http://127.0.0.1:8080", store=RevisionStore(tmp_path / "s.db")
    )
    for namespace, model_dir in (("team-a", "models/iris/v1"), ("team-b", "models/iris/v2")):
        first.apply(parse_inference_service(document(namespace, model_dir)))
    first.apply(parse_inference_service(document("team-b", "models/iris/v1")))  # team-b's second revision
    again = Controller(
        AnsweringServe(), ModelRepository(), "http://127.0.0.1:8080", store=RevisionStore(tmp_path / "s.db")
    )
    assert again.restore() == ["team-a/iris-ns", "team-b/iris-ns"]
    assert again.get("iris-ns", "team-a").plans["predictor"].traffic[0].revision == "iris-ns-predictor-00001"
    assert again.get("iris-ns", "team-b").plans["predictor"].traffic[0].revision == "iris-ns-predictor-00002"
    created = again.revisions("iris-ns", "team-b")
    assert [r["metadata"]["name"] for r in created if "predictor" in r["metadata"]["name"]] == [
        "iris-ns-predictor-00001",
        "iris-ns-predictor-00002",
    ]


def test_a_restart_keeps_each_object_uid_generation_and_creation_time(tmp_path: Any) -> None:
    from local.revision_store import RevisionStore

    def controller() -> Controller:
        store = RevisionStore(tmp_path / "s.db")
        return Controller(AnsweringServe(), ModelRepository(), "http://127.0.0.1:8080", store=store)

    first = controller()
    first.apply(parse_inference_service(document("team-a")))
    first.apply(parse_inference_service(document("team-a", "models/iris/v2")))  # a spec change: generation 2
    before = first.as_resource("iris-ns", namespace="team-a")
    assert before["metadata"]["generation"] == 2
    again = controller()
    assert again.restore() == ["team-a/iris-ns"]
    after = again.as_resource("iris-ns", namespace="team-a")
    for field in ("uid", "generation", "creationTimestamp"):
        assert after["metadata"][field] == before["metadata"][field], field
    assert after["status"]["observedGeneration"] == 2
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    again.apply(parse_inference_service(document("team-a")))  # changed again after the restart: 3
    assert again.as_resource("iris-ns", namespace="team-a")["metadata"]["generation"] == 3
    again.delete("iris-ns", namespace="team-a")
    assert RevisionStore(tmp_path / "s.db").object_of("iris-ns", "team-a") is None
