"""Where the sink keeps events: one SQLAlchemy Core table in SQLite (default, WAL) or PostgreSQL.

Synchronous and thread-confined per call (the async writer runs it in a worker thread). Inserts are
idempotent on (ce id, source, type): a sender retrying after a lost acknowledgement stores nothing
twice. Must not import ``ray``, a web framework or the logger package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from local.sink.settings import SinkSettings


def default_db_url() -> str:
    """``$ISVC_SINK_DB`` if set, else SQLite at ``.isvc/events.db`` under the current directory."""
    return SinkSettings.from_env().db_url


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` / ``postgres://`` and a bare file path; always drive PostgreSQL with psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def events_table(metadata: MetaData, name: str = "events") -> Table:
    return Table(
        name,
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("id", String(256), nullable=False),
        Column("type", String(256), nullable=False),
        Column("source", String(1024), nullable=False),
        Column("time", DateTime(timezone=True)),
        Column("received_at", DateTime(timezone=True), nullable=False),
        Column("inferenceservicename", String(256)),
        Column("namespace", String(256)),
        Column("component", String(256)),
        Column("endpoint", String(256)),
        Column("metadata", Text),
        Column("content_type", String(256)),
        Column("extensions", Text),
        Column("body", LargeBinary),
        UniqueConstraint("id", "source", "type", name=f"{name}_event_key"),
        Index(f"{name}_by_service", "inferenceservicename", "received_at"),
    )


@dataclass(frozen=True)
class EventRow:
    """One stored event; ``time`` is the producer's ``ce-time``, ``received_at`` the sink's clock."""

    id: str
    type: str
    source: str
    time: datetime | None
    received_at: datetime
    inferenceservicename: str | None
    namespace: str | None
    component: str | None
    endpoint: str | None
    metadata: str | None
    content_type: str | None
    extensions: str | None
    body: bytes


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class EventStore:
    """The table plus its engine. ``table`` lets tests use a throw-away table in a shared database."""

    def __init__(self, url: str, *, table: str = "events", create: bool = True) -> None:
        self.url = normalize_url(url)
        path = sqlite_path(self.url)
        if path is not None and create:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url, pool_pre_ping=path is None)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.metadata = MetaData()
        self.table = events_table(self.metadata, table)
        self.commits = 0
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        self._insert: Any = dialect.insert(self.table).on_conflict_do_nothing(index_elements=["id", "source", "type"])
        if create:
            self.metadata.create_all(self.engine)

    def insert_many(self, rows: Sequence[EventRow]) -> int:
        """Store ``rows`` in one transaction (committed on return); duplicates are skipped. Returns new rows."""
        if not rows:
            return 0
        values = [_row_values(row) for row in rows]
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "sqlite":
                # One executemany without RETURNING (a third cheaper per event here): sqlite3's rowcount
                # sums what each insert added, 0 for a duplicate.
                inserted = int(connection.execute(self._insert, values).rowcount)
            else:  # psycopg reports no rowcount for an executemany: count what RETURNING gives back
                inserted = len(connection.execute(self._insert.returning(self.table.c.seq), values).all())
        self.commits += 1
        return inserted

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(self.table)).scalar_one())

    def drop(self) -> None:
        self.table.drop(self.engine, checkfirst=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _row_values(row: EventRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "source": row.source,
        "time": row.time,
        "received_at": row.received_at,
        "inferenceservicename": row.inferenceservicename,
        "namespace": row.namespace,
        "component": row.component,
        "endpoint": row.endpoint,
        "metadata": row.metadata,
        "content_type": row.content_type,
        "extensions": row.extensions,
        "body": row.body,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (isvc events) never block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged event survives a power cut
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
