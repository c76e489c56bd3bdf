"""local/revision_store.py: what is saved comes back equal, batching plan included (SQLite)."""

from __future__ import annotations

from pathlib import Path

from local.plan import plan_service, route_traffic
from local.revision_store import RevisionStore
from local.spec import parse_inference_service
from tests.local.test_placement import iris


def test_states_and_spec_round_trip(tmp_path: Path) -> None:
    service = iris(**{"spec.predictor.batcher": {"maxBatchSize": 8, "maxLatency": 20}})
    plan = plan_service(service)
    states = {name: route_traffic(p.state, None, None).state for name, p in plan.components.items()}
    store = RevisionStore(tmp_path / "state.db")
    store.save(service.name, service.namespace, service.model_dump(mode="json"), states)
    again = RevisionStore(tmp_path / "state.db")
    assert again.states(service.name) == states
    predictor = again.states(service.name)["predictor"].latest
    assert predictor is not None and predictor.batching is not None and predictor.batching.max_batch_size == 8
    assert parse_inference_service(again.spec(service.name) or {}) == service
    assert again.services() == [service.name]
    again.delete(service.name)
    assert again.services() == []
