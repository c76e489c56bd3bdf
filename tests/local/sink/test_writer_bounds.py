"""The sink writer stays bounded: a full queue waits briefly, then refuses (503); its history is capped."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from local.sink.app import create_app
from local.sink.store import EventRow, EventStore
from local.sink.writer import BATCH_HISTORY, GroupCommitWriter, SinkBusy


def row(event_id: str) -> EventRow:
    now = datetime.now(UTC)
    return EventRow(event_id, "t", "s", now, now, "iris", "default", "predictor", None, None, None, None, b"")


class GatedStore:
    """An EventStore stand-in whose commits wait until ``gate`` is set (a database that cannot keep up)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.inserted: list[str] = []

    def insert_many(self, rows: Sequence[EventRow]) -> int:
        self.gate.wait(timeout=10)
        self.inserted.extend(r.id for r in rows)
        return len(rows)


def test_batch_history_is_capped_while_totals_count_everything() -> None:
    store = GatedStore()
    store.gate.set()
    writer = GroupCommitWriter(store, max_batch=1)  # type: ignore[arg-type]
    total = BATCH_HISTORY + 500

    async def scenario() -> None:
        await writer.start()
        for start in range(0, total, 100):
            await asyncio.gather(*(writer.write(row(f"e-{i}")) for i in range(start, min(total, start + 100))))
        await writer.close()

    asyncio.run(scenario())
    assert len(writer.batches) == BATCH_HISTORY
    assert writer.committed_rows == total and writer.committed_batches == total
    assert len(store.inserted) == total


def test_a_full_queue_waits_for_room_then_refuses() -> None:
    store = GatedStore()
    writer = GroupCommitWriter(store, max_batch=1, queue_size=2, admit_timeout_s=0.2)  # type: ignore[arg-type]

    async def scenario() -> tuple[list[Any], list[Any]]:
        await writer.start()
        first = [asyncio.create_task(writer.write(row(f"a-{i}"))) for i in range(3)]  # 1 committing + 2 queued
        await asyncio.sleep(0.05)
        with pytest.raises(SinkBusy):
            await writer.write(row("refused"))  # no room for 0.2 s
        waiting = asyncio.create_task(writer.write(row("waited")))  # room comes within its 0.2 s
        await asyncio.sleep(0.05)
        store.gate.set()
        results = await asyncio.gather(*first, waiting, return_exceptions=True)
        await writer.close()
        return list(results), store.inserted

    results, inserted = asyncio.run(scenario())
    assert results == [None] * 4
    assert "refused" not in inserted and "waited" in inserted
    assert writer.refused_rows == 1


def test_the_receiver_answers_503_with_retry_after_when_the_writer_is_full(tmp_path: Any, binary_headers: Any) -> None:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    gate = threading.Event()
    insert = store.insert_many

    def slow_insert(rows: Sequence[EventRow]) -> int:
        gate.wait(timeout=10)
        return insert(rows)

    store.insert_many = slow_insert  # type: ignore[method-assign]
    app = create_app(store, max_batch=1, queue_size=1, admit_timeout_s=0.1)

    async def scenario() -> list[httpx.Response]:
        await app.state.writer.start()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sink") as http:
            held = [
                asyncio.create_task(http.post("/", headers=binary_headers(f"h-{i}"), content=b"{}")) for i in (1, 2)
            ]
            await asyncio.sleep(0.05)
            refused = await http.post("/", headers=binary_headers("late"), content=b"{}")
            gate.set()
            answers = [refused, *await asyncio.gather(*held)]
        await app.state.writer.close()
        return answers

    refused, *held = asyncio.run(scenario())
    try:
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert [r.status_code for r in held] == [200, 200]
        assert store.count() == 2
    finally:
        store.dispose()


def test_write_many_is_one_waiter_settled_by_the_last_commit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    from datetime import UTC, datetime

    from local.sink.store import EventRow, EventStore
    from local.sink.writer import GroupCommitWriter

    store = EventStore(f"sqlite:///{tmp_path / 'e.db'}")
    now = datetime.now(UTC)
    rows = [
        EventRow(f"id-{i}", "t", "s", now, now, "svc", "ns", "predictor", "default", "{}", "text/plain", None, b"")
        for i in range(10)
    ]

    async def scenario() -> list[int]:
        writer = GroupCommitWriter(store, max_batch=4)
        await writer.start()
        await writer.write_many(rows)  # spans three batches of at most 4
        sizes = list(writer.batches)
        await writer.close()
        return sizes

    sizes = asyncio.run(scenario())
    assert store.count() == 10 and sum(sizes) == 10 and max(sizes) <= 4
