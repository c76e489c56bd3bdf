"""Group commit: many concurrent requests, one transaction per batch, each acknowledged after its commit.

Handlers ``await writer.write_many(rows)`` (one waiter per request); a single writer task takes
whatever has queued up (at most ``max_batch``), commits it in a worker thread, then resolves every
waiter at once. While one batch commits, the next one gathers, so throughput grows with concurrency
while each acknowledgement still means "durably stored". Must not import ``ray`` or a web framework.

Bounded everywhere: the queue holds at most ``queue_size`` rows; a row that finds it full waits for room
at most ``admit_timeout_s``, then ``write`` raises ``SinkBusy`` and the receiver answers 503 with
``Retry-After`` (the kit's logger retries 5xx with back-off, and a store is idempotent on the event key,
so a retry never stores twice). Waiting a little first absorbs a burst without refusing it; refusing
after that keeps memory bounded when the database cannot keep up. Only the sizes of the last
``BATCH_HISTORY`` batches are kept, with running totals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from local.sink.store import EventRow, EventStore

log = logging.getLogger(__name__)

BATCH_HISTORY = 1024


class _Ticket:
    """One caller's rows (a POST's events): done when the last is committed, failed if any batch failed."""

    __slots__ = ("done", "remaining")

    def __init__(self, done: asyncio.Future[None], rows: int) -> None:
        self.done = done
        self.remaining = rows

    def settle(self, outcome: BaseException | None) -> None:
        self.remaining -= 1
        if self.done.done():
            return
        if outcome is not None:
            self.done.set_exception(outcome)
        elif self.remaining == 0:
            self.done.set_result(None)


_Item = tuple[EventRow, _Ticket]


class WriterClosed(RuntimeError):
    pass


class SinkBusy(RuntimeError):
    """The queue stayed full for ``admit_timeout_s``: the sender should retry later (503)."""


class GroupCommitWriter:
    def __init__(
        self, store: EventStore, *, max_batch: int = 256, queue_size: int = 10_000, admit_timeout_s: float = 2.0
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.admit_timeout_s = admit_timeout_s
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.batches: deque[int] = deque(maxlen=BATCH_HISTORY)
        """Sizes of the last committed batches (tests and curiosity)."""
        self.committed_batches = 0
        self.committed_rows = 0
        self.refused_rows = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="isvc-sink-writer")

    async def write(self, row: EventRow) -> None:
        """Return once ``row`` is committed; raise if its batch failed or the queue stayed full (503)."""
        await self.write_many([row])

    async def write_many(self, rows: list[EventRow]) -> None:
        """Return once every row is committed; raise if a batch holding one failed or the queue stayed full.

        One future for all of them (a batch POST of 128 events is one waiter, not 128). Rows queued
        before the queue stayed full are still committed: the sender's retry stores nothing twice.
        """
        if self._task is None or self._task.done():
            raise WriterClosed("the sink writer is not running")
        if not rows:
            return
        ticket = _Ticket(asyncio.get_running_loop().create_future(), len(rows))
        for index, row in enumerate(rows):
            try:
                self._queue.put_nowait((row, ticket))
            except asyncio.QueueFull:
                try:
                    await asyncio.wait_for(self._queue.put((row, ticket)), self.admit_timeout_s)
                except TimeoutError:
                    self.refused_rows += len(rows) - index
                    ticket.done.cancel()  # nobody waits any more: the queued rows settle into nothing
                    raise SinkBusy(f"the sink's queue stayed full for {self.admit_timeout_s:g}s") from None
        await ticket.done

    async def close(self) -> None:
        """Commit everything already queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await asyncio.to_thread(self.store.insert_many, [row for row, _ in batch])
                self.batches.append(len(batch))
                self.committed_batches += 1
                self.committed_rows += len(batch)
                outcome: BaseException | None = None
            except Exception as exc:
                log.exception("could not commit a batch of %d events", len(batch))
                outcome = exc
            for _, ticket in batch:
                ticket.settle(outcome)
                self._queue.task_done()
