"""The local revision store: what the runtime must remember across restarts, in SQLite.

For each InferenceService it keeps the last applied spec and, per component, the planner's
``ComponentState`` (every revision with its entrypoint and autoscaling, which one is rolled out,
which failed and why) plus each revision's creation time. ``isvc up`` again restores them, so
revision numbers continue, the traffic split is the one left, and ``isvc rollout history`` still
lists every revision. Default location ``.isvc/state.db`` (env ``ISVC_STATE_DIR``).

Pure persistence: no Ray, no HTTP.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.plan import AutoscalingPlan, BatchingPlan, ComponentState, Revision
from local.settings import settings
from local.spec import EntryPoint

STATE_DIR_ENV = "ISVC_STATE_DIR"
SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    name TEXT PRIMARY KEY, namespace TEXT NOT NULL, spec TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS component_states (
    service TEXT NOT NULL, component TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (service, component));
CREATE TABLE IF NOT EXISTS revisions (
    name TEXT PRIMARY KEY, service TEXT NOT NULL, component TEXT NOT NULL, created TEXT NOT NULL);
"""


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
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def save(self, name: str, namespace: str, spec: dict[str, Any], states: dict[str, ComponentState]) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute(
                    "INSERT INTO services VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                    "namespace=excluded.namespace, spec=excluded.spec, updated=excluded.updated",
                    (name, namespace, json.dumps(spec), now),
                )
                for component, state in states.items():
                    self._db.execute(
                        "INSERT INTO component_states VALUES (?, ?, ?) ON CONFLICT(service, component) "
                        "DO UPDATE SET state=excluded.state",
                        (name, component, _state_to_json(state)),
                    )
                    self._db.executemany(
                        "INSERT OR IGNORE INTO revisions VALUES (?, ?, ?, ?)",
                        [(revision.name, name, component, now) for revision in state.revisions],
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def states(self, name: str) -> dict[str, ComponentState]:
        with self._lock:
            rows = self._db.execute("SELECT component, state FROM component_states WHERE service = ?", (name,))
            return {component: _state_from_json(state) for component, state in rows.fetchall()}

    def spec(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT spec FROM services WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def services(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT name FROM services ORDER BY name")]

    def created(self, revision: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT created FROM revisions WHERE name = ?", (revision,)).fetchone()
        return row[0] if row else None

    def delete(self, name: str) -> None:
        with self._lock:
            for table, column in (("services", "name"), ("component_states", "service"), ("revisions", "service")):
                self._db.execute(f"DELETE FROM {table} WHERE {column} = ?", (name,))

    def close(self) -> None:
        self._db.close()
