"""The sink's HTTP face: an ASGI app receiving CloudEvents (binary, structured or batched) and storing them.

``POST /`` answers 200 only after the event (every event of a batch) is committed (group commit),
400 with a reason for a malformed event, 413 for a body over the limit, 503 if the database is
failing or the writer's bounded queue stayed full (``local.sink.writer``; with ``Retry-After``), so
senders retry; nothing is acknowledged unless it answers 200. 200 rather than 202 because
KServe's agent logs any other status as an error. ``GET /healthz`` for probes. Must not import
``ray`` or the logger package.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from local.sink.parse import BadEvent, is_batch, parse_batch, parse_event
from local.sink.read_api import read_routes
from local.sink.store import EventStore
from local.sink.writer import GroupCommitWriter, SinkBusy

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 8 * 1024 * 1024


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def create_app(
    store: EventStore,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    max_batch: int = 256,
    queue_size: int = 10_000,
    admit_timeout_s: float = 2.0,
) -> Starlette:
    """An app storing into ``store``; the group-commit writer lives for the app's lifespan."""
    writer = GroupCommitWriter(store, max_batch=max_batch, queue_size=queue_size, admit_timeout_s=admit_timeout_s)

    async def receive(request: Request) -> Response:
        try:
            body = await _read_body(request, max_body)
        except _TooLarge:
            return _error(413, f"event larger than {max_body} bytes")
        try:
            if is_batch(request.headers):
                rows = parse_batch(body, datetime.now(UTC))
            else:
                rows = [parse_event(request.headers, body, datetime.now(UTC))]
        except BadEvent as exc:
            return _error(400, str(exc))
        try:
            await writer.write_many(rows)
        except SinkBusy as exc:
            log.warning("%d event(s) refused: %s", len(rows), exc)
            response = _error(503, "the event sink is busy; retry later")
            response.headers["Retry-After"] = "1"
            return response
        except Exception as exc:
            log.warning("%d event(s) not stored (first %s): %s", len(rows), rows[0].id if rows else "-", exc)
            return _error(503, "the event store is unavailable; retry later")
        return Response(status_code=200)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await writer.start()
        try:
            yield
        finally:
            await writer.close()

    app = Starlette(
        routes=[Route("/", receive, methods=["POST"]), Route("/healthz", healthz, methods=["GET"]), *read_routes()],
        lifespan=lifespan,
    )
    app.state.writer = writer
    app.state.store = store
    return app
