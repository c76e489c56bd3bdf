"""Delivery over real HTTP into a real sink that goes away and comes back."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import select

from local.logger import DeliveryConfig, EventContext, EventDelivery, InferenceRecord, LoggerSpec
from local.logger.logger import InferenceLogger
from local.sink.query import pairs

CTX = EventContext("iris", "default", "predictor", source="iris-predictor-00001")


def stored_bodies(sink: Any) -> dict[tuple[str, str], bytes]:
    table = sink.store.table
    with sink.store.engine.connect() as connection:
        rows = connection.execute(select(table.c.id, table.c.type, table.c.body)).all()
    return {(row.id, row.type): bytes(row.body) for row in rows}


def test_events_queued_while_the_sink_is_down_arrive_after_it_returns(sink: Any) -> None:
    bodies = {f"id-{i}": bytes([i, 0, 255]) + f'{{"row": {i}}}'.encode() for i in range(20)}

    async def scenario() -> None:
        config = DeliveryConfig(
            url=sink.url, workers=3, queue_size=100, max_attempts=500, backoff_initial=0.01, backoff_max=0.05
        )
        registry = CollectorRegistry()
        delivery = EventDelivery(config, registry=registry)
        await delivery.start()
        sink.stop()
        for event_id, body in bodies.items():
            record = InferenceRecord.from_request(CTX, {"ce-id": event_id, "content-type": "application/x-test"})
            assert delivery.submit(record.request_event(body))
        await asyncio.sleep(0.3)
        during = delivery.stats()
        assert during.sent == 0 and during.retried > 0 and during.pending == 20
        await asyncio.to_thread(sink.start)
        stats = await delivery.close(drain_timeout=15)
        assert (stats.produced, stats.sent, stats.failed, stats.dropped, stats.pending) == (20, 20, 0, 0, 0)
        assert registry.get_sample_value("isvc_logger_events_sent_total") == 20

    asyncio.run(scenario())
    stored = stored_bodies(sink)
    assert stored == {(event_id, "org.kubeflow.serving.inference.request"): body for event_id, body in bodies.items()}


def test_a_small_buffer_drops_while_the_sink_is_down_and_counters_add_up(sink: Any) -> None:
    async def scenario() -> tuple[int, int]:
        config = DeliveryConfig(
            url=sink.url, workers=2, queue_size=5, max_attempts=500, backoff_initial=0.01, backoff_max=0.05
        )
        delivery = EventDelivery(config)
        await delivery.start()
        sink.stop()
        for _ in range(30):
            delivery.submit(InferenceRecord.from_request(CTX, {}).request_event(b"{}"))
            await asyncio.sleep(0)
        await asyncio.sleep(0.1)
        await asyncio.to_thread(sink.start)
        stats = await delivery.close(drain_timeout=15)
        assert stats.produced == 30 and stats.failed == 0 and stats.pending == 0
        assert stats.sent + stats.dropped == stats.produced
        assert stats.dropped >= 30 - 5 - 2
        return stats.sent, stats.dropped

    sent, _dropped = asyncio.run(scenario())
    assert sink.store.count() == sent


def test_inference_logger_pairs_land_in_the_sink_with_latency(sink: Any) -> None:
    async def scenario() -> None:
        spec = LoggerSpec.parse({"mode": "all", "url": sink.url, "metadataHeaders": ["X-User"]})
        logger = InferenceLogger(spec, CTX)
        await logger.start()
        ok = logger.log_request({"content-type": "application/json", "x-user": "ada"}, b'{"inputs": [1]}')
        await asyncio.sleep(0.02)
        logger.log_response(ok, 200, b'{"outputs": [2]}')
        bad = logger.log_request({"content-type": "application/json"}, b"{not json")
        logger.log_response(bad, 400, b'{"error": "bad"}')
        stats = await logger.close()
        assert (stats.produced, stats.sent) == (3, 3)

    asyncio.run(scenario())
    found = {pair.id: pair for pair in pairs(sink.store, "iris")}
    assert len(found) == 2
    good = next(p for p in found.values() if p.response is not None)
    assert good.request is not None and good.request.body == b'{"inputs": [1]}'
    assert good.response is not None and good.response.body == b'{"outputs": [2]}'
    assert good.response.content_type == "application/json"
    assert good.metadata == '{"X-User":["ada"]}' and good.endpoint == "default"
    assert good.latency_ms is not None and good.latency_ms >= 15
    missing = next(p for p in found.values() if p.response is None)
    assert missing.status == "missing response" and missing.latency_ms is None
