"""The sink's read side over HTTP: ``GET /events?name=NAME`` answers the stored request/response pairs.

What ``isvc events NAME -o json`` prints, for readers that cannot open the database (the console
beside a sink whose SQLite file lives in its pod). Query parameters: ``name`` (required), ``component``,
``since`` (ISO 8601, UTC if no offset), ``limit`` (1..500, default 50); newest first. 400 with
``{"error": ...}`` for a bad parameter. Must not import ``ray`` or the logger package.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from local.sink.query import pairs

MAX_LIMIT = 500


class _BadQuery(ValueError):
    pass


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _BadQuery(f"since must be an ISO 8601 time, got {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _limit(value: str | None) -> int:
    if value is None:
        return 50
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise _BadQuery(f"limit must be an integer from 1 to {MAX_LIMIT}, got {value!r}")
    return int(value)


async def list_events(request: Request) -> Response:
    params = request.query_params
    name = params.get("name")
    try:
        if not name:
            raise _BadQuery("the query parameter name (an InferenceService) is required")
        since, limit = _since(params.get("since")), _limit(params.get("limit"))
    except _BadQuery as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    store = request.app.state.store
    found = await asyncio.to_thread(
        pairs, store, name, component=params.get("component") or None, since=since, limit=limit
    )
    return JSONResponse([pair.to_json() for pair in found])


def read_routes() -> list[Route]:
    """The routes to add to the sink's app (``local.sink.app.create_app``)."""
    return [Route("/events", list_events, methods=["GET"])]
