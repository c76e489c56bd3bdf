"""Sink fixtures: a fresh SQLite store per test and an in-process client (lifespan runs the writer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from local.sink.app import create_app
from local.sink.store import EventStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    yield store
    store.dispose()


@pytest.fixture
def client(store: EventStore) -> Iterator[Any]:
    with TestClient(create_app(store, max_body=1024)) as client:
        yield client


def _binary_headers(
    event_id: str = "e-1", ce_type: str = "org.kubeflow.serving.inference.request", **extra: str
) -> dict[str, str]:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "iris-predictor-00001",
        "ce-type": ce_type,
        "ce-time": "2026-01-02T03:04:05.000000Z",
        "ce-inferenceservicename": "iris",
        "ce-namespace": "default",
        "ce-component": "predictor",
        "ce-endpoint": "default",
        "ce-metadata": "{}",
        "content-type": "application/json",
    }
    headers.update(extra)
    return headers


@pytest.fixture
def binary_headers() -> Any:
    """``binary_headers(event_id, ce_type, **overrides)``: KServe-like binary-mode headers."""
    return _binary_headers
