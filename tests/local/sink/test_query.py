"""Request/response pairing and latency, on SQLite and (marked ``postgres``) on the real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from local.sink.query import REQUEST_TYPE, RESPONSE_TYPE, pairs
from local.sink.store import EventRow, EventStore, normalize_url

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def row(event_id: str, ce_type: str, at: datetime, *, component: str = "predictor", name: str = "iris") -> EventRow:
    return EventRow(
        id=event_id,
        type=ce_type,
        source=f"{name}-{component}",
        time=at,
        received_at=at + timedelta(milliseconds=1),
        inferenceservicename=name,
        namespace="default",
        component=component,
        endpoint="default",
        metadata="{}",
        content_type="application/json",
        extensions=None,
        body=f"{event_id}:{ce_type.rsplit('.', 1)[1]}".encode(),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        store = EventStore(f"sqlite:///{tmp_path / 'q.db'}")
        yield store
        store.dispose()
        return
    table = f"events_test_{uuid.uuid4().hex[:10]}"
    try:
        store = EventStore(PG_URL, table=table)
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 unreachable: {exc.orig}")
    try:
        yield store
    finally:
        store.drop()
        assert not inspect(store.engine).has_table(table)
        store.dispose()


def test_url_normalisation() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("some/file.db") == "sqlite:///some/file.db"


def test_pairs_join_by_id_and_component_with_latency(any_store: EventStore) -> None:
    any_store.insert_many(
        [
            row("a", REQUEST_TYPE, T0),
            row("a", RESPONSE_TYPE, T0 + timedelta(milliseconds=25)),
            row("a", REQUEST_TYPE, T0 + timedelta(seconds=1), component="transformer"),
            row("a", RESPONSE_TYPE, T0 + timedelta(seconds=1, milliseconds=40), component="transformer"),
            row("b", REQUEST_TYPE, T0 + timedelta(seconds=2)),  # e.g. a 400: no response event
            row("c", RESPONSE_TYPE, T0 + timedelta(seconds=3)),  # mode: response
            row("z", REQUEST_TYPE, T0, name="other"),
        ]
    )
    assert any_store.commits == 1
    found = pairs(any_store, "iris")
    assert [(p.id, p.component, p.status) for p in found] == [
        ("c", "predictor", "missing request"),
        ("b", "predictor", "missing response"),
        ("a", "transformer", "ok"),
        ("a", "predictor", "ok"),
    ]
    by_key = {(p.id, p.component): p for p in found}
    assert by_key["a", "predictor"].latency_ms == pytest.approx(25.0)
    assert by_key["a", "transformer"].latency_ms == pytest.approx(40.0)
    assert by_key["b", "predictor"].latency_ms is None and by_key["b", "predictor"].response is None
    ok = by_key["a", "predictor"]
    assert ok.request is not None and ok.request.body == b"a:request"
    assert ok.response is not None and ok.response.body == b"a:response"
    assert ok.to_json()["response"]["body"] == "a:response"


def test_filters_limit_and_idempotent_inserts(any_store: EventStore) -> None:
    events = [row(f"e{i}", REQUEST_TYPE, T0 + timedelta(minutes=i)) for i in range(5)]
    assert any_store.insert_many(events) == 5
    assert any_store.insert_many(events[:2]) == 0  # redelivery: nothing new
    assert any_store.count() == 5
    assert [p.id for p in pairs(any_store, "iris", limit=2)] == ["e4", "e3"]
    assert [p.id for p in pairs(any_store, "iris", since=T0 + timedelta(minutes=3))] == ["e4", "e3"]
    assert pairs(any_store, "iris", component="transformer") == []
    assert pairs(any_store, "nobody") == []


def test_events_posted_over_http_are_stored_and_paired(any_store: EventStore) -> None:
    from starlette.testclient import TestClient

    from local.logger import EventContext, InferenceRecord
    from local.sink.app import create_app

    record = InferenceRecord.from_request(EventContext("iris", "ns", "predictor"), {"content-type": "application/json"})
    with TestClient(create_app(any_store)) as client:
        for event in (record.request_event(b'{"in": 1}'), record.response_event(b'{"out": 2}')):
            assert client.post("/", headers=event.headers, content=event.body).status_code == 200
    (pair,) = pairs(any_store, "iris")
    assert pair.id == record.event_id and pair.status == "ok" and pair.namespace == "ns"
    assert pair.response is not None and pair.response.body == b'{"out": 2}'
    assert pair.latency_ms is not None and pair.latency_ms >= 0


def test_sqlite_runs_in_wal_mode_and_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from local.sink.store import default_db_url

    monkeypatch.delenv("ISVC_SINK_DB", raising=False)
    assert default_db_url() == "sqlite:///.isvc/events.db"
    monkeypatch.setenv("ISVC_SINK_DB", "postgresql://x@y/z")
    assert default_db_url() == "postgresql://x@y/z"
    store = EventStore(f"sqlite:///{tmp_path / 'nested' / 'w.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    store.dispose()
