"""The InferenceService API as Kubernetes clients use it, without Ray (a fake Serve behind the controller).

Create, get, list, watch, replace, merge and JSON patch, delete; uid, generation (bumped by spec
changes only), resourceVersion (every write), observedGeneration, optimistic concurrency, Status
errors; namespaces honoured on every path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from kserve.model_repository import ModelRepository

from local.gateway.app import build_gateway_app
from local.gateway.controller import Controller
from tests.conftest import iris_manifest
from tests.local.gateway.test_controller_records import FakeServe

API = "/apis/serving.kserve.io/v1beta1"


def iris_object(namespace: str | None = "team-a", name: str = "iris") -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(iris_manifest(name, name))
    for component in ("transformer", "predictor"):
        document["spec"][component].pop("logger", None)
        document["spec"][component]["minReplicas"] = 1
    if namespace is None:
        document["metadata"].pop("namespace", None)
    else:
        document["metadata"]["namespace"] = namespace
    return document


def path(namespace: str, name: str = "") -> str:
    return f"{API}/namespaces/{namespace}/inferenceservices" + (f"/{name}" if name else "")


@pytest.fixture
def client() -> Iterator[TestClient]:
    controller = Controller(FakeServe(), ModelRepository(), "http://127.0.0.1:8080")
    with TestClient(build_gateway_app(controller)) as test_client:
        yield test_client


def create(client: TestClient, namespace: str = "team-a", document: dict[str, Any] | None = None) -> Any:
    return client.post(path(namespace), json=document or iris_object(namespace))


def check_status(response: Any, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    assert (body["kind"], body["status"], body["code"], body["reason"]) == ("Status", "Failure", code, reason), body
    return body


def test_create_sets_the_api_servers_metadata(client: TestClient) -> None:
    created = create(client)
    assert created.status_code == 201, created.text
    body = created.json()
    metadata = body["metadata"]
    assert metadata["namespace"] == "team-a" and metadata["generation"] == 1
    assert len(metadata["uid"]) == 36 and metadata["resourceVersion"].isdigit() and metadata["creationTimestamp"]
    assert body["status"]["observedGeneration"] == 1
    assert next(c for c in body["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    check_status(create(client), 409, "AlreadyExists")


def test_namespaces_are_honoured(client: TestClient) -> None:
    create(client)
    assert client.get(path("team-a", "iris")).status_code == 200
    missing = check_status(client.get(path("team-b", "iris")), 404, "NotFound")
    assert missing["message"] == 'inferenceservices.serving.kserve.io "iris" not found'
    assert client.get(path("team-b")).json()["items"] == []
    assert [i["metadata"]["name"] for i in client.get(path("team-a")).json()["items"]] == ["iris"]
    assert len(client.get(f"{API}/inferenceservices").json()["items"]) == 1
    assert len(client.get(path("_all")).json()["items"]) == 1
    for write in (
        client.patch(path("team-b", "iris"), json={}, headers={"content-type": "application/merge-patch+json"}),
        client.put(path("team-b", "iris"), json=iris_object("team-b")),
        client.delete(path("team-b", "iris")),
    ):
        check_status(write, 404, "NotFound")
    # The same name in another namespace is another service: team-a's stays as it was.
    team_a = client.get(path("team-a", "iris")).json()["metadata"]
    assert create(client, "team-b").status_code == 201
    assert client.get(path("team-a", "iris")).json()["metadata"]["uid"] == team_a["uid"]
    assert client.get(path("team-b", "iris")).json()["metadata"]["uid"] != team_a["uid"]
    either = check_status(client.get(path("_all", "iris")), 409, "Conflict")
    assert "'team-a', 'team-b'" in either["message"], either
    yaml_apply = client.post(path("team-b"), content=yaml.safe_dump(iris_object(None)).encode())
    assert yaml_apply.status_code == 200 and yaml_apply.json()["items"][0]["metadata"]["namespace"] == "team-b"
    assert client.delete(path("team-b", "iris")).status_code == 200
    assert client.get(path("team-a", "iris")).json()["metadata"]["uid"] == team_a["uid"]
    mismatch = check_status(client.post(path("team-b"), json=iris_object("team-c", "other")), 400, "BadRequest")
    assert "does not match the namespace sent on the request" in mismatch["message"]


def test_a_document_without_namespace_takes_the_paths(client: TestClient) -> None:
    applied = client.post(path("team-c"), content=yaml.safe_dump(iris_object(None)).encode())
    assert applied.status_code == 200, applied.text
    assert applied.json()["items"][0]["metadata"]["namespace"] == "team-c"
    assert client.get(path("team-c", "iris")).json()["metadata"]["namespace"] == "team-c"


def test_generation_follows_spec_changes_and_resource_version_every_write(client: TestClient) -> None:
    first = create(client).json()["metadata"]
    merge = {"content-type": "application/merge-patch+json"}
    canary = client.patch(
        path("team-a", "iris"), json={"spec": {"predictor": {"canaryTrafficPercent": 20}}}, headers=merge
    )
    assert canary.status_code == 200, canary.text
    body = canary.json()
    assert body["spec"]["predictor"]["canaryTrafficPercent"] == 20
    assert body["metadata"]["generation"] == 2 and body["status"]["observedGeneration"] == 2
    assert body["metadata"]["uid"] == first["uid"]
    assert int(body["metadata"]["resourceVersion"]) > int(first["resourceVersion"])
    labels = client.patch(path("team-a", "iris"), json={"metadata": {"labels": {"team": "a"}}}, headers=merge).json()
    assert labels["metadata"]["labels"] == {"team": "a"}
    assert labels["metadata"]["generation"] == 2, "metadata changes do not bump the generation"
    assert int(labels["metadata"]["resourceVersion"]) > int(body["metadata"]["resourceVersion"])
    operations = [
        {"op": "test", "path": "/spec/predictor/canaryTrafficPercent", "value": 20},
        {"op": "remove", "path": "/spec/predictor/canaryTrafficPercent"},
    ]
    promoted = client.patch(
        path("team-a", "iris"), content=json.dumps(operations), headers={"content-type": "application/json-patch+json"}
    )
    assert promoted.status_code == 200, promoted.text
    assert "canaryTrafficPercent" not in promoted.json()["spec"]["predictor"]
    assert promoted.json()["metadata"]["generation"] == 3
    strategic = client.patch(
        path("team-a", "iris"), json={}, headers={"content-type": "application/strategic-merge-patch+json"}
    )
    check_status(strategic, 415, "UnsupportedMediaType")
    invalid = client.patch(path("team-a", "iris"), json={"spec": {"predictor": {"minReplicas": -1}}}, headers=merge)
    assert invalid.status_code == 400 and "minReplicas" in invalid.json()["message"]


def test_replace_checks_the_resource_version(client: TestClient) -> None:
    current = create(client).json()
    document = iris_object()
    document["spec"]["predictor"]["canaryTrafficPercent"] = 50
    document["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) - 1)
    stale = check_status(client.put(path("team-a", "iris"), json=document), 409, "Conflict")
    assert "the object has been modified" in stale["message"]
    document["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    replaced = client.put(path("team-a", "iris"), json=document)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["metadata"]["generation"] == 2
    renamed = client.put(path("team-a", "iris"), json=iris_object("team-a", "other"))
    check_status(renamed, 400, "BadRequest")


def test_delete_answers_a_status_and_the_object_is_gone(client: TestClient) -> None:
    uid = create(client).json()["metadata"]["uid"]
    deleted = client.delete(path("team-a", "iris"))
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "Success" and deleted.json()["details"]["uid"] == uid
    check_status(client.get(path("team-a", "iris")), 404, "NotFound")
    assert create(client).json()["metadata"]["uid"] != uid, "a re-created object is a new object"


def test_watch_streams_the_existing_objects_then_ends(client: TestClient) -> None:
    create(client)
    with client.stream("GET", path("team-a"), params={"watch": "true", "timeoutSeconds": 1}) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "iris")]
    with client.stream("GET", path("team-b"), params={"watch": "1", "timeoutSeconds": 1}) as response:
        assert [line for line in response.iter_lines() if line] == []


def test_watch_reports_changes_and_deletes() -> None:
    import asyncio

    from local.gateway.isvc_api import watch_events
    from local.spec import parse_inference_service

    controller = Controller(FakeServe(), ModelRepository(), "http://127.0.0.1:8080")
    service = parse_inference_service(iris_object(), "<test>")
    controller.apply(service)

    async def events() -> list[tuple[str, int]]:
        stream = watch_events(controller, "team-a", timeout_s=30)
        seen = [json.loads(await anext(stream))]
        document = iris_object()
        document["spec"]["predictor"]["canaryTrafficPercent"] = 10
        changed = parse_inference_service(document, "<test>")
        await asyncio.to_thread(controller.apply, changed)
        seen.append(json.loads(await anext(stream)))
        await asyncio.to_thread(controller.delete, "iris")
        seen.append(json.loads(await anext(stream)))
        await stream.aclose()
        return [(event["type"], event["object"]["metadata"]["generation"]) for event in seen]

    assert asyncio.run(events()) == [("ADDED", 1), ("MODIFIED", 2), ("DELETED", 2)]
