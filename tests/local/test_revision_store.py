"""local/revision_store.py: what is saved comes back equal, batching plan included (SQLite); keyed by namespace
and name; a store of the first layout migrates."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from local.plan import ComponentState, plan_service, route_traffic
from local.revision_store import RevisionStore, _state_to_json
from local.spec import InferenceService, parse_inference_service
from tests.local.test_placement import iris


def test_states_and_spec_round_trip(tmp_path: Path) -> None:
    service = iris(**{"spec.predictor.batcher": {"maxBatchSize": 8, "maxLatency": 20}})
    plan = plan_service(service)
    states = {name: route_traffic(p.state, None, None).state for name, p in plan.components.items()}
    store = RevisionStore(tmp_path / "state.db")
    store.save(service.name, service.namespace, service.model_dump(mode="json"), states)
    again = RevisionStore(tmp_path / "state.db")
    assert again.states(service.name, service.namespace) == states
    predictor = again.states(service.name, service.namespace)["predictor"].latest
    assert predictor is not None and predictor.batching is not None and predictor.batching.max_batch_size == 8
    assert parse_inference_service(again.spec(service.name, service.namespace) or {}) == service
    assert again.services() == [(service.namespace, service.name)]
    again.delete(service.name, service.namespace)
    assert again.services() == []


def _in_namespace(namespace: str, model_dir: str) -> InferenceService:
    document = iris().model_dump(mode="json")
    document["metadata"]["namespace"] = namespace
    for component in ("transformer", "predictor"):
        container = document["spec"][component]["containers"][0]
        container["args"] = [a.replace("models/iris/v1", model_dir) for a in container["args"]]
    return parse_inference_service(document)


def _states(service: InferenceService) -> dict[str, ComponentState]:
    return {name: route_traffic(p.state, None, None).state for name, p in plan_service(service).components.items()}


def test_the_same_name_in_two_namespaces_is_two_services(tmp_path: Path) -> None:
    store = RevisionStore(tmp_path / "state.db")
    team_a, team_b = _in_namespace("team-a", "models/iris/v1"), _in_namespace("team-b", "models/iris/v2")
    for service in (team_a, team_b):
        store.save(service.name, service.namespace, service.model_dump(mode="json"), _states(service))
    again = RevisionStore(tmp_path / "state.db")
    assert again.services() == [("team-a", team_a.name), ("team-b", team_b.name)]
    for service, model_dir in ((team_a, "models/iris/v1"), (team_b, "models/iris/v2")):
        assert parse_inference_service(again.spec(service.name, service.namespace) or {}) == service
        predictor = again.states(service.name, service.namespace)["predictor"].latest
        assert predictor is not None and f"--model_dir={model_dir}" in predictor.entrypoint.args
        assert again.created(predictor.name, service.namespace) is not None
    again.delete(team_a.name, "team-a")
    assert again.services() == [("team-b", team_b.name)]
    assert again.states(team_b.name, "team-b") == _states(team_b)
    assert again.created(f"{team_b.name}-predictor-00001", "team-b") is not None
    assert again.created(f"{team_a.name}-predictor-00001", "team-a") is None


# The layout before namespaces were part of the key (services by name; states and revisions by service name).
V1_SCHEMA = """
CREATE TABLE services (name TEXT PRIMARY KEY, namespace TEXT NOT NULL, spec TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE component_states (
    service TEXT NOT NULL, component TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (service, component));
CREATE TABLE revisions (name TEXT PRIMARY KEY, service TEXT NOT NULL, component TEXT NOT NULL, created TEXT NOT NULL);
"""


@pytest.mark.parametrize("namespace_column", [True, False], ids=["namespace-column", "namespace-in-spec"])
def test_a_store_of_the_first_layout_migrates_without_loss(tmp_path: Path, namespace_column: bool) -> None:
    service = _in_namespace("team-a", "models/iris/v2")
    states = _states(service)
    db = sqlite3.connect(tmp_path / "state.db")
    spec = json.dumps(service.model_dump(mode="json"))
    if namespace_column:
        db.executescript(V1_SCHEMA)
        db.execute("INSERT INTO services VALUES (?, ?, ?, ?)", (service.name, "team-a", spec, "2026-01-01"))
    else:  # no namespace column at all: the spec's metadata.namespace says
        db.executescript(V1_SCHEMA.replace(" namespace TEXT NOT NULL,", ""))
        db.execute("INSERT INTO services VALUES (?, ?, ?)", (service.name, spec, "2026-01-01"))
    for component, state in states.items():
        db.execute("INSERT INTO component_states VALUES (?, ?, ?)", (service.name, component, _state_to_json(state)))
        for revision in state.revisions:
            db.execute(
                "INSERT INTO revisions VALUES (?, ?, ?, ?)",
                (revision.name, service.name, component, "2026-01-01T00:00:00+00:00"),
            )
    db.commit()
    db.close()
    store = RevisionStore(tmp_path / "state.db")
    assert store.services() == [("team-a", service.name)]
    assert store.states(service.name, "team-a") == states
    assert parse_inference_service(store.spec(service.name, "team-a") or {}) == service
    assert store.created(f"{service.name}-predictor-00001", "team-a") == "2026-01-01T00:00:00+00:00"
    store.close()
    reopened = RevisionStore(tmp_path / "state.db")  # migrated once: opening again changes nothing
    assert reopened.services() == [("team-a", service.name)] and reopened.states(service.name, "team-a") == states


def test_a_store_of_the_second_layout_gains_the_objects_table(tmp_path: Path) -> None:
    from local.revision_store import SCHEMA, StoredObject

    service = _in_namespace("team-a", "models/iris/v2")
    db = sqlite3.connect(tmp_path / "state.db")
    db.executescript(SCHEMA.split("CREATE TABLE IF NOT EXISTS objects")[0])  # layout 2: no objects table
    db.execute("PRAGMA user_version = 2")
    db.execute(
        "INSERT INTO services VALUES (?, ?, ?, ?)",
        ("team-a", service.name, json.dumps(service.model_dump(mode="json")), "2026-01-01"),
    )
    db.commit()
    db.close()
    store = RevisionStore(tmp_path / "state.db")
    assert store.services() == [("team-a", service.name)]
    assert store.object_of(service.name, "team-a") is None
    kept = StoredObject("0b0e-uid", 4, 17, "2026-01-01T00:00:00+00:00")
    store.save(service.name, "team-a", service.model_dump(mode="json"), {}, kept)
    assert store.object_of(service.name, "team-a") == kept
    assert store.object_of(service.name, "team-b") is None
