"""Asynchronous, bounded, retrying delivery of inference-log events to a CloudEvents sink.

Inference must never wait for or fail because of logging: :meth:`EventDelivery.submit` only does a
``put_nowait`` on a bounded queue (via the delivery's loop when called from another thread) and counts
a drop when it is full. One collector task makes batches and up to ``workers`` POSTs run at once with one shared client
(``local.logger.posting``: aiohttp, or an injected httpx transport), retrying connection errors,
timeouts, 429 and 5xx with exponential back-off (a sink that is briefly down loses nothing); any other
status is a permanent failure. The collector takes every event queued within ``linger_s`` of the
first (up to ``batch_size``) and sends them in one POST in CloudEvents' HTTP batch mode
(``application/cloudevents-batch+json``: the same events, structured, ``data_base64`` byte for byte),
which the kit's sink accepts: one POST per event (KServe's agent's way) cannot keep up with four events
per inference on two cores. A sink that refuses a batch (400 or 415) gets binary mode, one event per
POST, from then on. Counters (``produced``, ``sent``, ``retried``, ``failed``, ``dropped``) are kept
exactly and mirrored to Prometheus in the registry passed in; at every moment
``sent + failed + dropped + pending == produced``, and after :meth:`close` ``pending`` is 0 (events
still queued when the drain timeout expires count as dropped).

Must not import ``ray`` or any web framework; it knows events only as :class:`BinaryEvent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from prometheus_client import CollectorRegistry, Counter

from local.logger.events import BATCH_CONTENT_TYPE, BinaryEvent, batch_body
from local.logger.posting import Poster, PostError, make_poster

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
_COUNTERS = ("produced", "sent", "retried", "failed", "dropped")


@dataclass(frozen=True)
class DeliveryConfig:
    url: str
    """The sink: every event is POSTed here in binary mode."""
    queue_size: int = 10_000
    """Events buffered in memory; beyond this, new events are dropped (and counted)."""
    workers: int = 4
    """POSTs in flight at most (one collector makes the batches)."""
    batch_size: int = 128
    """Most events sent in one POST (batch mode); 1 sends each event alone in binary mode."""
    linger_s: float = 0.05
    """In batch mode, how long the collector waits for more events after the first (fewer, larger POSTs)."""
    max_attempts: int = 16
    """Attempts per event, the first included, before it counts as failed. With the back-off below
    (0.1 s doubling, capped at 5 s) 16 attempts wait 51 s in all: a sink that is restarted (down 10 s
    or more, its own start included) loses nothing; 8 gave up after 11 s."""
    backoff_initial: float = 0.1
    """Seconds before the first retry; doubled for each further one."""
    backoff_max: float = 5.0
    """Cap on a single back-off."""
    timeout: float = 5.0
    """Seconds allowed for one POST."""

    def backoff(self, retry: int) -> float:
        """Delay before retry number ``retry`` (1-based): initial, 2x, 4x, ... capped at ``backoff_max``."""
        return float(min(self.backoff_max, self.backoff_initial * 2 ** (retry - 1)))


@dataclass(frozen=True)
class DeliveryStats:
    produced: int
    sent: int
    retried: int
    failed: int
    dropped: int
    pending: int
    """Queued or being posted right now."""


class _Retryable(Exception):
    pass


class _Rejected(Exception):
    """The sink answered with a status that retrying will not change (4xx other than 429)."""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class EventDelivery:
    """Queue + posters for one sink URL, living on the event loop that ran :meth:`start`."""

    def __init__(
        self,
        config: DeliveryConfig,
        *,
        registry: CollectorRegistry | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.registry = registry if registry is not None else CollectorRegistry()
        self._sleep = sleep
        self._transport = transport
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._metrics = {
            name: Counter(f"isvc_logger_events_{name}", f"Inference-log events {name}", registry=self.registry)
            for name in _COUNTERS
        }
        self._queue: asyncio.Queue[BinaryEvent] = asyncio.Queue(maxsize=config.queue_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._posting: dict[asyncio.Task[None], int] = {}  # POSTs in flight (events each), held until done
        self._slots = asyncio.Semaphore(config.workers)
        self._client: Poster | None = None
        self._closing = False
        self._batch_mode = config.batch_size > 1
        self._loop: asyncio.AbstractEventLoop | None = None

    def _count(self, name: str, amount: int = 1) -> None:
        self._counts[name] += amount
        self._metrics[name].inc(amount)

    async def start(self) -> None:
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._client = make_poster(self.config.timeout, self._transport)
        self._slots = asyncio.Semaphore(self.config.workers)
        self._tasks = [asyncio.create_task(self._collect(), name="isvc-logger-collector")]

    def submit(self, event: BinaryEvent) -> bool:
        """Queue ``event`` without waiting; False (and a counted drop) if the queue is full or closing.

        From another thread (a sync endpoint in a thread pool) the event is handed to the delivery's
        loop and True only means "handed over"; the drop, if any, is still counted.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed() and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._enqueue, event)
            return True
        return self._enqueue(event)

    def _enqueue(self, event: BinaryEvent) -> bool:
        self._count("produced")
        if self._closing:
            self._count("dropped")
            return False
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._count("dropped")
            return False
        return True

    def stats(self) -> DeliveryStats:
        c = self._counts
        pending = c["produced"] - c["sent"] - c["failed"] - c["dropped"]
        return DeliveryStats(c["produced"], c["sent"], c["retried"], c["failed"], c["dropped"], pending)

    async def close(self, drain_timeout: float = 5.0) -> DeliveryStats:
        """Stop accepting events, let the posters flush for up to ``drain_timeout`` s, then stop them."""
        self._closing = True
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=drain_timeout)
            tasks = [*self._tasks, *self._posting]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._count("dropped", sum(self._posting.values()))  # cancelled before they began
            self._tasks = []
            self._posting.clear()
        abandoned = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            abandoned += 1
        if abandoned:
            self._count("dropped", abandoned)
        if self._client is not None:
            await self._client.close()
            self._client = None
        return self.stats()

    async def _collect(self) -> None:
        """Gather a batch (what is queued within ``linger_s`` of its first event), hand it to a poster.

        One collector makes the batches, so under load a POST carries what arrived during one linger
        window instead of each of ``workers`` posters sending a few events; at most ``workers`` POSTs
        are in flight, and the next batch gathers while they are.
        """
        while True:
            await self._slots.acquire()  # a free poster first: events wait in the bounded queue, not here
            try:
                events = [await self._queue.get()]
            except asyncio.CancelledError:
                self._slots.release()
                raise
            try:
                if self._batch_mode and self.config.linger_s > 0 and self._queue.qsize() < self.config.batch_size:
                    await asyncio.sleep(self.config.linger_s)  # inference never waits for this: it only queues
            except asyncio.CancelledError:
                self._slots.release()
                self._count("dropped", len(events))
                self._queue.task_done()
                raise
            size = self.config.batch_size if self._batch_mode else 1
            while len(events) < size and not self._queue.empty():
                events.append(self._queue.get_nowait())
            task = asyncio.create_task(self._post_batch(events), name="isvc-logger-post")
            self._posting[task] = len(events)

    async def _post_batch(self, events: list[BinaryEvent]) -> None:
        task = asyncio.current_task()
        try:
            outcomes = await self._deliver_many(events)
        except asyncio.CancelledError:
            self._count("dropped", len(events))  # cancelled mid-delivery by close(): abandoned
            for _ in events:
                self._queue.task_done()
            raise
        except Exception:  # never let one batch kill delivery
            log.exception("%d inference-log event(s) could not be delivered", len(events))
            outcomes = ["failed"] * len(events)
        finally:
            self._slots.release()
            self._posting.pop(task, None)  # type: ignore[arg-type]
        for outcome in outcomes:
            self._count(outcome)
            self._queue.task_done()

    async def _deliver_many(self, events: list[BinaryEvent]) -> list[str]:
        if len(events) == 1 or not self._batch_mode:
            return list(await asyncio.gather(*(self._deliver(event) for event in events)))
        body = batch_body(events)
        for attempt in range(1, self.config.max_attempts + 1):
            if attempt > 1:
                self._count("retried", len(events))
                await self._sleep(self.config.backoff(attempt - 1))
            try:
                await self._post_raw({"content-type": BATCH_CONTENT_TYPE}, body)
                return ["sent"] * len(events)
            except _Retryable as exc:
                log.debug("batch of %d, attempt %d: %s", len(events), attempt, exc)
            except _Rejected as exc:
                log.info("the sink refused a batch (%s): one event per POST from now on", exc)
                self._batch_mode = False
                return list(await asyncio.gather(*(self._deliver(event) for event in events)))
        log.warning("a batch of %d events failed after %d attempts", len(events), self.config.max_attempts)
        return ["failed"] * len(events)

    async def _deliver(self, event: BinaryEvent) -> str:
        for attempt in range(1, self.config.max_attempts + 1):
            if attempt > 1:
                self._count("retried")
                await self._sleep(self.config.backoff(attempt - 1))
            try:
                await self._post(event)
                return "sent"
            except _Retryable as exc:
                log.debug("event %s attempt %d: %s", event.id, attempt, exc)
            except _Rejected as exc:
                log.warning("sink rejected event %s: %s", event.id, exc)
                return "failed"
        log.warning("event %s failed after %d attempts", event.id, self.config.max_attempts)
        return "failed"

    async def _post(self, event: BinaryEvent) -> None:
        await self._post_raw(event.headers, event.body)

    async def _post_raw(self, headers: dict[str, str], body: bytes) -> None:
        assert self._client is not None, "start() was not called"
        try:
            status = await self._client.post(self.config.url, headers, body)
        except PostError as exc:
            raise _Retryable(str(exc)) from exc
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status >= 300:
            raise _Rejected(f"HTTP {status}")
