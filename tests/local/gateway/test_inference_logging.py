"""CloudEvents inference logging through the local runtime into a real sink (Ray tier).

KServe's agent: binary-mode CloudEvents 1.0, ``org.kubeflow.serving.inference.request`` / ``.response``
sharing one ce-id per inference, a response event only for a 200, extensions inferenceservicename,
namespace, component, endpoint. Both components of manifests/iris.yaml log with ``mode: all``.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import SETOSA, apply_yaml, iris_manifest

pytestmark = pytest.mark.ray
NAME = "logged"
REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


def counts(engine: sa.Engine) -> dict[tuple[str, str], int]:
    query = sa.text(
        "SELECT component, type, COUNT(*) FROM events WHERE inferenceservicename = :name GROUP BY component, type"
    )
    with engine.connect() as connection:
        return {(c, t): n for c, t, n in connection.execute(query, {"name": NAME})}


def wait_for_counts(engine: sa.Engine, expected: dict[tuple[str, str], int], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while counts(engine) != expected and time.monotonic() < deadline:
        time.sleep(0.25)
    assert counts(engine) == expected


@pytest.fixture(scope="module")
def logged(ray_gateway: Any) -> Any:
    apply_yaml(ray_gateway, iris_manifest(NAME, NAME))
    engine = sa.create_engine(ray_gateway.sink_url)
    yield ray_gateway, engine
    engine.dispose()
    httpx.delete(
        f"{ray_gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/{NAME}", timeout=60
    )


def test_every_request_and_response_logged_once_per_component(logged: Any) -> None:
    gateway, engine = logged
    bodies = [json.dumps({"instances": [SETOSA | {"sepal_length": 4.0 + (i % 30) / 10}]}) for i in range(1000)]
    with httpx.Client(base_url=gateway.url, timeout=60) as client, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda body: (
                    client.post(
                        f"/v1/models/{NAME}:predict", content=body, headers={"content-type": "application/json"}
                    ).status_code
                ),
                bodies,
            )
        )
    assert statuses == [200] * 1000
    wait_for_counts(
        engine, {(component, kind): 1000 for component in ("transformer", "predictor") for kind in (REQUEST, RESPONSE)}
    )
    with engine.connect() as connection:
        unpaired = connection.execute(
            sa.text(
                "SELECT component, id FROM events WHERE inferenceservicename = :name "
                "GROUP BY component, id HAVING COUNT(*) != 2"
            ),
            {"name": NAME},
        ).fetchall()
        assert unpaired == []  # each request shares its ce-id with exactly one response
        stored = {
            row[0]
            for row in connection.execute(
                sa.text(
                    "SELECT body FROM events WHERE inferenceservicename = :name AND component = 'transformer' "
                    "AND type = :type"
                ),
                {"name": NAME, "type": REQUEST},
            )
        }
        row = connection.execute(
            sa.text(
                "SELECT source, namespace, endpoint, content_type FROM events WHERE inferenceservicename = :name "
                "AND component = 'predictor' LIMIT 1"
            ),
            {"name": NAME},
        ).one()
    assert stored == {body.encode() for body in bodies}  # request bodies round-trip byte for byte
    assert row.namespace == "isvc-kit" and row.endpoint == "default"
    assert row.source.startswith("logged-predictor-") and row.content_type == "application/json"


def test_a_400_has_a_request_event_and_no_response_event(logged: Any) -> None:
    gateway, engine = logged
    before = counts(engine)
    response = httpx.post(
        f"{gateway.url}/v1/models/{NAME}:predict",
        json={"instances": [{"sepal_length": 1}]},
        headers={"ce-id": "bad-request-1"},
        timeout=30,
    )
    assert response.status_code == 400
    expected = dict(before)
    expected[("transformer", REQUEST)] = before.get(("transformer", REQUEST), 0) + 1
    wait_for_counts(engine, expected, timeout_s=30)
    with engine.connect() as connection:
        types = [r[0] for r in connection.execute(sa.text("SELECT type FROM events WHERE id = 'bad-request-1'"))]
    assert types == [REQUEST]  # the incoming Ce-Id is the event id, as KServe's agent does


def test_entry_logger_counters_are_published_at_metrics(logged: Any) -> None:
    gateway, _ = logged
    text = httpx.get(f"{gateway.url}/metrics", timeout=30).text
    sent = [
        line
        for line in text.splitlines()
        if line.startswith("isvc_logger_events_total{")
        and 'inferenceservice="logged"' in line
        and 'namespace="isvc-kit"' in line  # manifests/iris.yaml's namespace
        and 'outcome="sent"' in line
    ]
    assert sent and float(sent[0].rsplit(" ", 1)[1]) >= 2000  # 1,000 inferences x (request + response)


def test_request_and_response_modes_store_only_their_half(ray_gateway: Any) -> None:
    """KServe: mode request logs only requests, mode response only responses."""
    import yaml

    document = yaml.safe_load(iris_manifest("halves", "halves"))
    document["spec"]["transformer"]["logger"]["mode"] = "request"
    document["spec"]["predictor"]["logger"]["mode"] = "response"
    apply_yaml(ray_gateway, yaml.safe_dump(document))
    engine = sa.create_engine(ray_gateway.sink_url)
    try:
        with httpx.Client(base_url=ray_gateway.url, timeout=60) as client:
            for _ in range(20):
                assert client.post("/v1/models/halves:predict", json={"instances": [SETOSA]}).status_code == 200
        query = sa.text(
            "SELECT component, type, COUNT(*) FROM events WHERE inferenceservicename = 'halves' "
            "GROUP BY component, type"
        )
        expected = {("transformer", REQUEST): 20, ("predictor", RESPONSE): 20}
        deadline = time.monotonic() + 30
        while True:
            with engine.connect() as connection:
                found = {(c, t): n for c, t, n in connection.execute(query)}
            if found == expected or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert found == expected
    finally:
        engine.dispose()
        httpx.delete(
            f"{ray_gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/halves", timeout=60
        )
