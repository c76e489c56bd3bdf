"""The local revision store: what the runtime must remember across restarts, in SQLite.

For each InferenceService it keeps the last applied spec and, per component, the planner's
``ComponentState`` (every revision with its entrypoint and autoscaling, which one is rolled out,
which failed and why) plus each revision's creation time, and the object's API metadata (``uid``,
``metadata.generation``, ``resourceVersion``, ``creationTimestamp``). ``isvc up`` again restores them, so
revision numbers continue, the traffic split is the one left, ``isvc rollout history`` still lists
every revision, and a client sees the same object (same uid and generation) as before the restart.
Default location ``.isvc/state.db`` (env ``ISVC_STATE_DIR``).

Everything is keyed by (namespace, name), as on a cluster: the same service name, and so the same
revision names, in two namespaces are two services. A file of the first layout (keyed by name alone)
is migrated when opened (``_migrate``), each row put in its service's namespace.

Pure persistence: no Ray, no HTTP.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.autoscaling import AutoscalingPlan
from local.plan import BatchingPlan, ComponentState, Revision
from local.settings import settings
from local.spec import DEFAULT_NAMESPACE, EntryPoint

STATE_DIR_ENV = "ISVC_STATE_DIR"
SCHEMA_VERSION = 3  # PRAGMA user_version; 0: the first layout, keyed by service name alone; 3 adds objects
SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    namespace TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, updated TEXT NOT NULL,
    PRIMARY KEY (namespace, name));
CREATE TABLE IF NOT EXISTS component_states (
    namespace TEXT NOT NULL, service TEXT NOT NULL, component TEXT NOT NULL, state TEXT NOT NULL,
    PRIMARY KEY (namespace, service, component));
CREATE TABLE IF NOT EXISTS revisions (
    namespace TEXT NOT NULL, name TEXT NOT NULL, service TEXT NOT NULL, component TEXT NOT NULL,
    created TEXT NOT NULL, PRIMARY KEY (namespace, name));
CREATE TABLE IF NOT EXISTS objects (
    namespace TEXT NOT NULL, name TEXT NOT NULL, uid TEXT NOT NULL, generation INTEGER NOT NULL,
    resource_version INTEGER NOT NULL, created TEXT NOT NULL, PRIMARY KEY (namespace, name));
"""
# The first layout's rows, each in its service's namespace: the services table's column where it has one,
# else the spec's metadata.namespace, else the default namespace.
_MIGRATE_V1 = """
ALTER TABLE services RENAME TO services_v1;
ALTER TABLE component_states RENAME TO component_states_v1;
ALTER TABLE revisions RENAME TO revisions_v1;
{schema}
INSERT INTO services SELECT {namespace}, name, spec, updated FROM services_v1;
INSERT INTO component_states SELECT COALESCE(s.namespace, '{default}'), c.service, c.component, c.state
    FROM component_states_v1 c LEFT JOIN services s ON s.name = c.service;
INSERT INTO revisions SELECT COALESCE(s.namespace, '{default}'), r.name, r.service, r.component, r.created
    FROM revisions_v1 r LEFT JOIN services s ON s.name = r.service;
DROP TABLE services_v1;
DROP TABLE component_states_v1;
DROP TABLE revisions_v1;
"""


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a store of an older layout to ``SCHEMA_VERSION`` in one transaction, losing nothing."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        old = _columns(db, "component_states")
        if old and "namespace" not in old:
            spec_namespace = f"COALESCE(json_extract(spec, '$.metadata.namespace'), '{DEFAULT_NAMESPACE}')"
            namespace = (
                f"COALESCE(NULLIF(namespace, ''), {spec_namespace})"
                if "namespace" in _columns(db, "services")
                else spec_namespace
            )
            for statement in _MIGRATE_V1.format(schema=SCHEMA, namespace=namespace, default=DEFAULT_NAMESPACE).split(
                ";"
            ):
                if statement.strip():
                    db.execute(statement)
        else:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class StoredObject:
    """An InferenceService's API metadata as last published (``local.gateway.objects``)."""

    uid: str
    generation: int
    resource_version: int
    created: str


def default_path() -> Path:
    return settings().state_dir / "state.db"


def _state_to_json(state: ComponentState) -> str:
    return json.dumps(asdict(state))


def _state_from_json(text: str) -> ComponentState:
    raw = json.loads(text)
    revisions = tuple(
        Revision(
            **{
                **revision,
                "entrypoint": EntryPoint(revision["entrypoint"]["module"], tuple(revision["entrypoint"]["args"])),
                "autoscaling": AutoscalingPlan(**revision["autoscaling"]),
                "batching": BatchingPlan(**revision["batching"]) if revision.get("batching") else None,
            }
        )
        for revision in raw["revisions"]
    )
    return ComponentState(
        revisions=revisions,
        latest_rolled_out=raw["latest_rolled_out"],
        previous_rolled_out=raw["previous_rolled_out"],
        failed=dict(raw["failed"]),
    )


class RevisionStore:
    """SQLite-backed store of services, component states and revision creation times."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        _migrate(self._db)
        self._lock = threading.Lock()

    def save(
        self,
        name: str,
        namespace: str,
        spec: dict[str, Any],
        states: dict[str, ComponentState],
        stored: StoredObject | None = None,
    ) -> None:
        """The service's spec, component states and (``stored``) API metadata, in one transaction."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute(
                    "INSERT INTO services VALUES (?, ?, ?, ?) ON CONFLICT(namespace, name) DO UPDATE SET "
                    "spec=excluded.spec, updated=excluded.updated",
                    (namespace, name, json.dumps(spec), now),
                )
                for component, state in states.items():
                    self._db.execute(
                        "INSERT INTO component_states VALUES (?, ?, ?, ?) ON CONFLICT(namespace, service, component) "
                        "DO UPDATE SET state=excluded.state",
                        (namespace, name, component, _state_to_json(state)),
                    )
                    self._db.executemany(
                        "INSERT OR IGNORE INTO revisions VALUES (?, ?, ?, ?, ?)",
                        [(namespace, revision.name, name, component, now) for revision in state.revisions],
                    )
                if stored is not None:
                    self._db.execute(
                        "INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(namespace, name) DO UPDATE SET "
                        "uid=excluded.uid, generation=excluded.generation, "
                        "resource_version=excluded.resource_version, created=excluded.created",
                        (namespace, name, stored.uid, stored.generation, stored.resource_version, stored.created),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def object_of(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> StoredObject | None:
        with self._lock:
            row = self._db.execute(
                "SELECT uid, generation, resource_version, created FROM objects WHERE namespace = ? AND name = ?",
                (namespace, name),
            ).fetchone()
        return StoredObject(row[0], int(row[1]), int(row[2]), row[3]) if row else None

    def states(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> dict[str, ComponentState]:
        with self._lock:
            rows = self._db.execute(
                "SELECT component, state FROM component_states WHERE namespace = ? AND service = ?", (namespace, name)
            )
            return {component: _state_from_json(state) for component, state in rows.fetchall()}

    def spec(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT spec FROM services WHERE namespace = ? AND name = ?", (namespace, name)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def services(self) -> list[tuple[str, str]]:
        """Every stored service as (namespace, name), in that order."""
        with self._lock:
            rows = self._db.execute("SELECT namespace, name FROM services ORDER BY namespace, name")
            return [(row[0], row[1]) for row in rows]

    def created(self, revision: str, namespace: str = DEFAULT_NAMESPACE) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT created FROM revisions WHERE namespace = ? AND name = ?", (namespace, revision)
            ).fetchone()
        return row[0] if row else None

    def delete(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> None:
        with self._lock:
            keyed = {"services": "name", "component_states": "service", "revisions": "service", "objects": "name"}
            for table, column in keyed.items():
                self._db.execute(f"DELETE FROM {table} WHERE namespace = ? AND {column} = ?", (namespace, name))

    def close(self) -> None:
        self._db.close()
