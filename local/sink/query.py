"""Read side of the sink: inference-log events joined into request/response pairs by ce-id.

A request and its response share ``id`` and ``component``; latency is the difference of their
``ce-time`` (the producer's clock), falling back to the sink's ``received_at``. A request whose
response never came (non-200, ``mode: request``, or lost) and a response without a request
(``mode: response``) are both returned, with the missing half as None. Portable SQL only (SQLite and
PostgreSQL). ``counts`` tallies the stored events of a service per component and type. Must not
import ``ray`` or a web framework.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, cast, exists, func, null, select, union_all

from local.sink.store import EventStore, as_utc

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"


@dataclass(frozen=True)
class Half:
    """One side of a pair."""

    time: datetime | None
    received_at: datetime
    content_type: str | None
    body: bytes

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "time": _iso(self.time),
            "received_at": _iso(self.received_at),
            "content_type": self.content_type,
            "size": len(self.body),
        }
        try:
            out["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_base64"] = base64.b64encode(self.body).decode("ascii")
        return out


@dataclass(frozen=True)
class EventPair:
    id: str
    inferenceservicename: str | None
    namespace: str | None
    component: str | None
    endpoint: str | None
    metadata: str | None
    request: Half | None
    response: Half | None

    @property
    def latency_ms(self) -> float | None:
        if self.request is None or self.response is None:
            return None
        start = self.request.time or self.request.received_at
        end = self.response.time or self.response.received_at
        return (end - start).total_seconds() * 1000.0

    @property
    def status(self) -> str:
        if self.response is None:
            return "missing response"
        if self.request is None:
            return "missing request"
        return "ok"

    @property
    def started(self) -> datetime:
        half = self.request or self.response
        assert half is not None
        return half.time or half.received_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "inferenceservicename": self.inferenceservicename,
            "namespace": self.namespace,
            "component": self.component,
            "endpoint": self.endpoint,
            "metadata": self.metadata,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "request": self.request.to_json() if self.request else None,
            "response": self.response.to_json() if self.response else None,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


_HALF = ("time", "received_at", "content_type", "body")
_SHARED = ("id", "inferenceservicename", "namespace", "component", "endpoint", "metadata")


def pairs(
    store: EventStore,
    name: str,
    *,
    component: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[EventPair]:
    """The newest ``limit`` pairs of InferenceService ``name``, newest first."""
    events = store.table
    req, resp = events.alias("req"), events.alias("resp")
    same = and_(resp.c.id == req.c.id, func.coalesce(resp.c.component, "") == func.coalesce(req.c.component, ""))

    def filtered(query: Select[Any], side: Any) -> Select[Any]:
        query = query.where(side.c.inferenceservicename == name)
        if component is not None:
            query = query.where(side.c.component == component)
        if since is not None:
            query = query.where(side.c.received_at >= as_utc(since))
        return query

    with_request = select(
        *(req.c[c] for c in _SHARED),
        *(req.c[c].label(f"req_{c}") for c in _HALF),
        *(resp.c[c].label(f"resp_{c}") for c in _HALF),
        req.c.received_at.label("sort_key"),
    ).select_from(req.outerjoin(resp, and_(same, resp.c.type == RESPONSE_TYPE)))
    with_request = filtered(with_request.where(req.c.type == REQUEST_TYPE), req)

    orphan = select(
        *(resp.c[c] for c in _SHARED),
        *(cast(null(), req.c[c].type).label(f"req_{c}") for c in _HALF),
        *(resp.c[c].label(f"resp_{c}") for c in _HALF),
        resp.c.received_at.label("sort_key"),
    ).where(resp.c.type == RESPONSE_TYPE, ~exists().where(and_(same, req.c.type == REQUEST_TYPE)))
    orphan = filtered(orphan, resp)

    both = union_all(with_request, orphan).subquery()
    query = select(both).order_by(both.c.sort_key.desc(), both.c.id).limit(limit)
    with store.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [_pair(row) for row in rows]


@dataclass(frozen=True)
class EventCount:
    """Stored events of one (component, type): ``events`` rows, ``ids`` distinct ce-ids among them."""

    component: str | None
    type: str
    events: int
    ids: int

    def to_json(self) -> dict[str, Any]:
        return {"component": self.component, "type": self.type, "events": self.events, "ids": self.ids}


def counts(store: EventStore, name: str, *, since: datetime | None = None) -> list[EventCount]:
    """Events of InferenceService ``name`` per component and type (sorted), with their distinct ce-ids."""
    events = store.table
    query = (
        select(events.c.component, events.c.type, func.count(), func.count(func.distinct(events.c.id)))
        .where(events.c.inferenceservicename == name)
        .group_by(events.c.component, events.c.type)
        .order_by(events.c.component, events.c.type)
    )
    if since is not None:
        query = query.where(events.c.received_at >= as_utc(since))
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [EventCount(component, kind, int(total), int(ids)) for component, kind, total, ids in rows]


def _half(row: Any, prefix: str) -> Half | None:
    received = row[f"{prefix}received_at"]
    if received is None:
        return None
    body = row[f"{prefix}body"]
    return Half(
        as_utc(row[f"{prefix}time"]),
        as_utc(received) or received,
        row[f"{prefix}content_type"],
        bytes(body) if body is not None else b"",
    )


def _pair(row: Any) -> EventPair:
    shared = {c: row[c] for c in _SHARED}
    return EventPair(**shared, request=_half(row, "req_"), response=_half(row, "resp_"))
