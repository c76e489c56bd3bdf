"""Delivery in-process: fake transport and fake sleep, so back-off and counters are asserted exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from prometheus_client import CollectorRegistry

from local.logger import (
    DeliveryConfig,
    EventContext,
    EventDelivery,
    InferenceLogger,
    InferenceRecord,
    LoggerMode,
    LoggerSpec,
)
from local.logger.events import BinaryEvent

CTX = EventContext("iris", "default", "predictor")


def make_events(n: int) -> list[BinaryEvent]:
    return [
        InferenceRecord.from_request(CTX, {"content-type": "application/json"}).request_event(f'{{"i": {i}}}'.encode())
        for i in range(n)
    ]


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def transport(answer: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(answer)


def test_backoff_doubles_and_is_capped() -> None:
    config = DeliveryConfig(url="http://x/", backoff_initial=0.1, backoff_max=0.5)
    assert [config.backoff(n) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_retries_5xx_and_connection_errors_then_sends() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(calls) < 4:
            return httpx.Response(503)
        return httpx.Response(200)

    sleep = FakeSleep()
    registry = CollectorRegistry()

    async def scenario() -> None:
        config = DeliveryConfig(url="http://sink/", batch_size=1, workers=1, backoff_initial=0.1, backoff_max=10)
        delivery = EventDelivery(config, registry=registry, sleep=sleep, transport=transport(answer))
        await delivery.start()
        assert delivery.submit(make_events(1)[0])
        stats = await delivery.close(drain_timeout=5)
        assert (stats.produced, stats.sent, stats.retried, stats.failed, stats.dropped, stats.pending) == (
            1,
            1,
            3,
            0,
            0,
            0,
        )

    asyncio.run(scenario())
    assert sleep.delays == [0.1, 0.2, 0.4]
    assert registry.get_sample_value("isvc_logger_events_sent_total") == 1
    assert registry.get_sample_value("isvc_logger_events_retried_total") == 3


def test_gives_up_after_max_attempts_and_never_retries_4xx() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400 if request.headers["ce-id"] == "bad" else 500)

    sleep = FakeSleep()

    async def scenario() -> None:
        config = DeliveryConfig(url="http://sink/", batch_size=1, workers=2, max_attempts=3)
        delivery = EventDelivery(config, sleep=sleep, transport=transport(answer))
        await delivery.start()
        delivery.submit(make_events(1)[0])
        record = InferenceRecord.from_request(CTX, {"ce-id": "bad"})
        delivery.submit(record.request_event(b"{}"))
        stats = await delivery.close()
        assert (stats.produced, stats.sent, stats.failed, stats.retried, stats.pending) == (2, 0, 2, 2, 0)

    asyncio.run(scenario())
    assert len(sleep.delays) == 2  # only the 500 event was retried (3 attempts = 2 back-offs)


def test_full_queue_drops_without_blocking_and_counters_add_up() -> None:
    release = asyncio.Event()

    async def scenario() -> None:
        async def slow_sleep(delay: float) -> None:
            await release.wait()

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(503)  # every event needs a retry, so the single poster is stuck

        config = DeliveryConfig(url="http://sink/", batch_size=1, workers=1, queue_size=3, max_attempts=2)
        registry = CollectorRegistry()
        delivery = EventDelivery(config, registry=registry, sleep=slow_sleep, transport=transport(answer))
        await delivery.start()
        accepted = [delivery.submit(event) for event in make_events(10)]
        await asyncio.sleep(0.01)  # the poster takes one event and blocks in back-off
        accepted += [delivery.submit(event) for event in make_events(3)]
        stats = delivery.stats()
        assert stats.produced == 13
        assert stats.dropped == accepted.count(False) == 13 - 4
        assert stats.sent + stats.failed + stats.dropped + stats.pending == stats.produced
        assert registry.get_sample_value("isvc_logger_events_dropped_total") == stats.dropped
        release.set()
        final = await delivery.close(drain_timeout=5)
        assert final.pending == 0 and final.failed == 4
        assert final.sent + final.failed + final.dropped == final.produced

    asyncio.run(scenario())


def test_close_counts_what_it_could_not_drain_as_dropped() -> None:
    async def scenario() -> None:
        async def forever(delay: float) -> None:
            await asyncio.Event().wait()

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(502)

        delivery = EventDelivery(
            DeliveryConfig(url="http://sink/", batch_size=1, workers=2), sleep=forever, transport=transport(answer)
        )
        await delivery.start()
        for event in make_events(5):
            delivery.submit(event)
        stats = await delivery.close(drain_timeout=0.05)
        assert (stats.produced, stats.dropped, stats.pending) == (5, 5, 0)
        assert not delivery.submit(make_events(1)[0])  # closed: refused and counted, never raised
        assert delivery.stats().dropped == 6

    asyncio.run(scenario())


def test_inference_logger_emits_per_mode_and_status() -> None:
    received: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    async def scenario(mode: str) -> list[str]:
        received.clear()
        spec = LoggerSpec.parse({"mode": mode, "url": "http://sink/", "metadataHeaders": ["X-User"]})
        delivery = EventDelivery(DeliveryConfig(url=spec.target_url, batch_size=1), transport=transport(answer))
        logger = InferenceLogger(spec, CTX, delivery=delivery)
        await logger.start()
        ok = logger.log_request({"content-type": "application/json", "x-user": "ada"}, b'{"a": 1}')
        logger.log_response(ok, 200, b'{"b": 2}')
        failed = logger.log_request({"content-type": "application/json"}, b"{bad")
        logger.log_response(failed, 400, b'{"error": "x"}')
        await logger.close()
        assert ok is not None and ok.metadata == {"X-User": ["ada"]}
        return [f"{r.headers['ce-type'].rsplit('.', 1)[1]}:{r.content.decode()}" for r in received]

    assert sorted(asyncio.run(scenario(LoggerMode.ALL))) == ['request:{"a": 1}', "request:{bad", 'response:{"b": 2}']
    assert sorted(asyncio.run(scenario("request"))) == ['request:{"a": 1}', "request:{bad"]
    assert asyncio.run(scenario("response")) == ['response:{"b": 2}']


def test_submit_from_another_thread_is_handed_to_the_loop() -> None:
    received: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        return httpx.Response(200)

    async def scenario() -> None:
        delivery = EventDelivery(DeliveryConfig(url="http://sink/", batch_size=1), transport=transport(answer))
        await delivery.start()
        events = make_events(5)
        results = await asyncio.to_thread(lambda: [delivery.submit(event) for event in events])
        assert results == [True] * 5
        await asyncio.sleep(0)  # let the handed-over callbacks run
        stats = await delivery.close()
        assert (stats.produced, stats.sent) == (5, 5)

    asyncio.run(scenario())
    assert sorted(received) == sorted(f'{{"i": {i}}}'.encode() for i in range(5))


def test_queued_events_go_in_one_batch_post_that_the_sink_reads_back_byte_for_byte() -> None:
    from datetime import UTC, datetime

    from local.sink.parse import parse_batch

    posts: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        return httpx.Response(200)

    events = make_events(5)

    async def scenario() -> None:
        config = DeliveryConfig(url="http://sink/", workers=1, batch_size=16)
        delivery = EventDelivery(config, transport=transport(answer))
        for event in events:  # queued before the poster starts: one batch
            delivery._enqueue(event)
        await delivery.start()
        stats = await delivery.close(drain_timeout=5)
        assert (stats.produced, stats.sent, stats.dropped, stats.pending) == (5, 5, 0, 0)

    asyncio.run(scenario())
    assert len(posts) == 1
    assert posts[0].headers["content-type"] == "application/cloudevents-batch+json"
    rows = parse_batch(posts[0].content, datetime.now(UTC))
    assert [row.id for row in rows] == [event.id for event in events]
    assert [row.body for row in rows] == [event.body for event in events]
    assert {row.component for row in rows} == {"predictor"}


def test_a_sink_that_refuses_batches_gets_one_binary_event_per_post() -> None:
    posts: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        return httpx.Response(415 if "batch" in request.headers.get("content-type", "") else 200)

    async def scenario() -> None:
        config = DeliveryConfig(url="http://sink/", workers=1, batch_size=16)
        delivery = EventDelivery(config, transport=transport(answer))
        for event in make_events(4):
            delivery._enqueue(event)
        await delivery.start()
        stats = await delivery.close(drain_timeout=5)
        assert (stats.sent, stats.failed, stats.dropped) == (4, 0, 0)

    asyncio.run(scenario())
    assert len(posts) == 5  # the refused batch, then each event alone
    assert all("ce-id" in post.headers for post in posts[1:])


def test_a_batch_is_retried_whole_and_counted_per_event() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) < 3 else 200)

    sleep = FakeSleep()

    async def scenario() -> None:
        config = DeliveryConfig(url="http://sink/", workers=1, batch_size=16)
        delivery = EventDelivery(config, sleep=sleep, transport=transport(answer))
        for event in make_events(3):
            delivery._enqueue(event)
        await delivery.start()
        stats = await delivery.close(drain_timeout=5)
        assert (stats.produced, stats.sent, stats.retried, stats.failed, stats.pending) == (3, 3, 6, 0, 0)

    asyncio.run(scenario())
    assert len(calls) == 3 and len(sleep.delays) == 2


def test_default_retries_ride_out_a_sink_restart_and_eight_attempts_did_not() -> None:
    """The sink down for 15 s (killed, restarted on its port): nothing is lost with the defaults."""

    def outage(max_attempts: int) -> tuple[int, int, float]:
        clock = [0.0]

        async def sleep(delay: float) -> None:
            clock[0] += delay
            await asyncio.sleep(0)

        def answer(request: httpx.Request) -> httpx.Response:
            if clock[0] < 15.0:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(200)

        async def scenario() -> tuple[int, int, float]:
            config = DeliveryConfig(url="http://sink/", max_attempts=max_attempts, workers=1)  # one clock
            delivery = EventDelivery(config, sleep=sleep, transport=transport(answer))
            await delivery.start()
            for event in make_events(300):
                delivery.submit(event)
            stats = await delivery.close(drain_timeout=5)
            assert stats.sent + stats.failed + stats.dropped == stats.produced == 300
            return stats.sent, stats.failed, clock[0]

        return asyncio.run(scenario())

    sent, failed, waited = outage(DeliveryConfig(url="http://x/").max_attempts)
    assert (sent, failed) == (300, 0) and waited >= 15.0
    assert outage(8)[1] > 0  # 8 attempts gave up after 11.3 s of back-off
