"""The sink over HTTP (in-process): what is accepted and stored, what is refused and not stored."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent
from sqlalchemy import select

from local.logger import EventContext, InferenceRecord
from local.sink.app import create_app
from local.sink.store import EventStore


def rows(store: EventStore) -> list[Any]:
    with store.engine.connect() as connection:
        return list(connection.execute(select(store.table)).all())


def test_binary_event_is_stored_with_every_column(client: Any, store: EventStore, binary_headers: Any) -> None:
    body = b'{"inputs": [{"name": "x", "data": [1]}]}'
    headers = binary_headers("e-1", **{"ce-metadata": '{"X-User":["ada"]}', "ce-annotations": '{"a":"b"}'})
    response = client.post("/", headers=headers, content=body)
    assert response.status_code == 200
    (row,) = rows(store)
    assert (row.id, row.type, row.source) == ("e-1", "org.kubeflow.serving.inference.request", "iris-predictor-00001")
    assert (row.inferenceservicename, row.namespace, row.component, row.endpoint) == (
        "iris",
        "default",
        "predictor",
        "default",
    )
    assert row.metadata == '{"X-User":["ada"]}' and row.content_type == "application/json"
    assert json.loads(row.extensions) == {"annotations": '{"a":"b"}'}
    assert bytes(row.body) == body
    assert row.time.replace(tzinfo=UTC) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert row.received_at is not None


def test_events_built_by_the_logger_round_trip_byte_identical(client: Any, store: EventStore) -> None:
    body = bytes(range(256)) * 3
    record = InferenceRecord.from_request(EventContext("iris", "ns", "predictor"), {"content-type": "image/png"})
    event = record.request_event(body)
    assert client.post("/", headers=event.headers, content=event.body).status_code == 200
    (row,) = rows(store)
    assert bytes(row.body) == body and row.content_type == "image/png" and row.id == record.event_id


@pytest.mark.parametrize("data", [{"a": [1, 2]}, "plain text", b"\x00\x01binary"])
def test_structured_event_is_stored(client: Any, store: EventStore, data: Any) -> None:
    attributes = {"type": "org.kubeflow.serving.inference.response", "source": "s", "id": "s-1", "component": "c"}
    if isinstance(data, dict):
        attributes["datacontenttype"] = "application/json"
    headers, body = to_structured(CloudEvent(attributes, data))
    assert client.post("/", headers=headers, content=body).status_code == 200
    (row,) = rows(store)
    assert (row.id, row.component) == ("s-1", "c")
    expected = (
        json.dumps(data).encode() if isinstance(data, dict) else data if isinstance(data, bytes) else data.encode()
    )
    assert bytes(row.body) == expected


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"content-type": "application/json"}, b"{}", "not a CloudEvent"),
        ({"ce-specversion": "1.0", "ce-source": "s", "ce-type": "t"}, b"{}", "missing required attribute(s): id"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": ""}, b"{}", "attribute(s): type"),
        ({"ce-specversion": "9.9", "ce-id": "1", "ce-source": "s", "ce-type": "t"}, b"{}", "invalid CloudEvent"),
        (
            {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "t", "ce-time": "yesterday"},
            b"",
            "time",
        ),
        (
            {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "t", "ce-time": "2026-01-02"},
            b"",
            "time",
        ),
        ({"content-type": "application/cloudevents+json"}, b'{"specversion": "1.0", "id": ', "not valid JSON"),
        ({"content-type": "application/cloudevents+json"}, b"[1, 2]", "must be a JSON object"),
        ({"content-type": "application/cloudevents+json"}, b'{"specversion": "1.0", "id": "1"}', "source, type"),
        ({"content-type": "application/cloudevents-batch+json"}, b"[]", "empty batch"),
        ({"content-type": "application/cloudevents-batch+json"}, b"{}", "JSON array"),
        (
            {"content-type": "application/cloudevents-batch+json"},
            b'[{"specversion": "1.0", "id": "1", "source": "s", "type": "t"}, {"specversion": "1.0"}]',
            "batch[1]",
        ),
    ],
)
def test_malformed_events_get_400_with_a_reason_and_nothing_is_stored(
    client: Any, store: EventStore, headers: dict[str, str], body: bytes, reason: str
) -> None:
    response = client.post("/", headers=headers, content=body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert store.count() == 0
    assert client.get("/healthz").json() == {"status": "ok"}  # still serving


def test_oversized_body_gets_413_and_the_sink_keeps_serving(
    client: Any, store: EventStore, binary_headers: Any
) -> None:
    response = client.post("/", headers=binary_headers("big"), content=b"x" * 1025)
    assert response.status_code == 413
    chunked = client.post("/", headers=binary_headers("big2"), content=iter([b"x" * 600, b"y" * 600]))
    assert chunked.status_code == 413
    assert client.post("/", headers=binary_headers("small"), content=b"x" * 1024).status_code == 200
    assert [row.id for row in rows(store)] == ["small"]


def test_a_redelivered_event_is_stored_once(client: Any, store: EventStore, binary_headers: Any) -> None:
    for _ in range(3):
        assert client.post("/", headers=binary_headers("dup"), content=b"{}").status_code == 200
    assert store.count() == 1


def test_concurrent_events_share_commits_and_each_is_acknowledged_after_its_commit(
    store: EventStore, binary_headers: Any
) -> None:
    app = create_app(store)
    writer = app.state.writer
    committed_before_ack: list[bool] = []

    async def scenario() -> list[int]:
        await writer.start()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sink") as http:

            async def send(i: int) -> int:
                response = await http.post("/", headers=binary_headers(f"c-{i}"), content=b"{}")
                committed_before_ack.append(any(r.id == f"c-{i}" for r in rows(store)))
                return response.status_code

            statuses = await asyncio.gather(*(send(i) for i in range(60)))
        await writer.close()
        return list(statuses)

    assert asyncio.run(scenario()) == [200] * 60
    assert store.count() == 60 and all(committed_before_ack)
    assert sum(writer.batches) == 60 and len(writer.batches) < 60  # group commit actually grouped


def test_database_failure_is_503_not_200(store: EventStore, binary_headers: Any) -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(store)) as client:
        store.drop()  # every insert now fails
        response = client.post("/", headers=binary_headers("lost"), content=b"{}")
        assert response.status_code == 503
        store.metadata.create_all(store.engine)
        assert client.post("/", headers=binary_headers("kept"), content=b"{}").status_code == 200
    assert [row.id for row in rows(store)] == ["kept"]
