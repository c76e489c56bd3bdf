"""Colocated and separate placements look the same from outside (Ray tier).

The same InferenceService is applied colocated (the planner's choice for iris), then with
``isvc-kit.io/placement: separate`` (same revisions, other units). The same requests must get the same
answers and the same CloudEvents per component; a batcher merges concurrent requests and each client
still gets exactly its own rows and id.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from tests.conftest import SETOSA, VIRGINICA, apply_yaml, iris_manifest, v2_feature_request, v2_tensor_request

pytestmark = pytest.mark.ray
NAME = "placed"
API = "/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices"


def requests() -> list[tuple[str, bytes, dict[str, str]]]:
    v2 = {**v2_feature_request([SETOSA, VIRGINICA]), "id": "two-rows"}
    tensor = {**v2_tensor_request([[5.9, 3.0, 4.2, 1.5]]), "id": "tensor"}
    return [
        (f"/v2/models/{NAME}/infer", json.dumps(v2).encode(), {"content-type": "application/json"}),
        (f"/v2/models/{NAME}/infer", json.dumps(tensor).encode(), {"content-type": "application/json"}),
        (
            f"/v1/models/{NAME}:predict",
            json.dumps({"instances": [SETOSA]}).encode(),
            {"content-type": "application/json"},
        ),
        (f"/v2/models/{NAME}/infer", b'{"inputs": [{"name": "nope"}]}', {"content-type": "application/json"}),
    ]


def send_all(gateway: Any, prefix: str) -> list[tuple[int, Any]]:
    answers = []
    with httpx.Client(base_url=gateway.url, timeout=60) as client:
        for index, (path, body, headers) in enumerate(requests()):
            response = client.post(path, content=body, headers={**headers, "ce-id": f"{prefix}-{index}"})
            answers.append((response.status_code, response.json()))
    return answers


def last_seq(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM events")).scalar_one())


def events_since(engine: sa.Engine, seq: int, expected: int) -> list[tuple[Any, ...]]:
    """This service's events stored after ``seq``, once ``expected`` have arrived, in a stable order.

    The transformer's ids are the clients' ``ce-id`` (prefix dropped); the predictor's are its own
    UUIDs, as the transformer does not forward ``ce-id`` (neither does KServe's), so they are left out.
    """
    query = sa.text(
        "SELECT id, type, component, body, content_type, endpoint FROM events "
        "WHERE inferenceservicename = :name AND seq > :seq"
    )
    deadline = time.monotonic() + 30
    while True:
        with engine.connect() as connection:
            rows = connection.execute(query, {"name": NAME, "seq": seq}).fetchall()
        if len(rows) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return sorted(
        (r.id.split("-", 1)[1] if r.component == "transformer" else "", r.type, r.component, _body(r),
         r.content_type, r.endpoint)
        for r in rows
    )  # fmt: skip


def _body(row: Any) -> bytes:
    """The stored body; a V2 id KServe generated for a request without one (a V1 client's) is blanked."""
    body = bytes(row.body)
    if row.component == "predictor" and body.startswith(b"{"):
        document = json.loads(body)
        if isinstance(document, dict) and len(str(document.get("id", ""))) == 36:
            document["id"] = "<generated>"
            return json.dumps(document).encode()
    return body


def status(gateway: Any) -> dict[str, Any]:
    response = httpx.get(f"{gateway.url}{API}/{NAME}", timeout=30)
    assert response.status_code == 200
    return response.json()["status"]


@pytest.fixture(scope="module")
def placed(ray_gateway: Any) -> Any:
    yield ray_gateway
    httpx.delete(f"{ray_gateway.url}{API}/{NAME}", timeout=60)


def test_colocated_and_separate_answer_and_log_alike(placed: Any) -> None:
    gateway = placed
    engine = sa.create_engine(gateway.sink_url)
    apply_yaml(gateway, iris_manifest(NAME, NAME))
    seq = last_seq(engine)
    colocated = status(gateway)
    assert colocated["localRuntime"]["placement"]["mode"] == "colocated"
    assert colocated["localRuntime"]["placement"]["units"] == [
        f"isvc-kit.{NAME}-transformer-00001+{NAME}-predictor-00001"
    ]
    assert colocated["localRuntime"]["replicas"] == {"transformer": 1, "predictor": 1}
    first = send_all(gateway, "colo")
    # three successful inferences: a request and a response per component; the 400 only a request
    expected = 3 * 4 + 1
    colo_events = events_since(engine, seq, expected)
    seq = last_seq(engine)

    apply_yaml(gateway, iris_manifest(NAME, NAME, **{"isvc-kit.io/placement": "separate"}))
    separate = status(gateway)
    assert separate["localRuntime"]["placement"]["mode"] == "separate"
    assert sorted(separate["localRuntime"]["placement"]["units"]) == [
        f"isvc-kit.{NAME}-predictor-00001",
        f"isvc-kit.{NAME}-transformer-00001",
    ]
    for component in ("transformer", "predictor"):  # a placement is not a new revision
        assert separate["components"][component]["latestCreatedRevision"] == f"{NAME}-{component}-00001"
        assert separate["components"][component] == colocated["components"][component]
    second = send_all(gateway, "sep")

    assert [status_code for status_code, _ in first] == [200, 200, 200, 400]
    assert first == second
    sep_events = events_since(engine, seq, expected)
    assert len(colo_events) == expected
    assert [e[1:3] for e in colo_events].count(("org.kubeflow.serving.inference.response", "predictor")) == 3
    assert colo_events == sep_events
    engine.dispose()


def test_a_batcher_gives_each_concurrent_client_its_own_rows_and_id(placed: Any) -> None:
    gateway = placed
    document = yaml.safe_load(iris_manifest(NAME, NAME))
    document["spec"]["predictor"]["batcher"] = {"maxBatchSize": 16, "maxLatency": 50}
    resource = apply_yaml(gateway, yaml.safe_dump(document))
    assert resource["status"]["components"]["predictor"]["latestCreatedRevision"] == f"{NAME}-predictor-00002"
    assert "spec.predictor.batcher" not in resource["status"]["localRuntime"]["warnings"]
    records = [SETOSA, VIRGINICA, SETOSA | {"petal_length": 4.5, "petal_width": 1.5}]

    def one(index: int) -> tuple[int, dict[str, Any], int]:
        rows = [records[(index + k) % 3] for k in range(1 + index % 4)]
        body = {**v2_feature_request(rows), "id": f"req-{index}"}
        response = httpx.post(f"{gateway.url}/v2/models/{NAME}/infer", json=body, timeout=60)
        return response.status_code, response.json(), len(rows)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(64)))
    for index, (code, body, rows) in enumerate(answers):
        assert code == 200, body
        assert body["id"] == f"req-{index}"
        labels = next(o for o in body["outputs"] if o["name"] == "label")
        assert labels["shape"] == [rows]
        expected = [("setosa", "virginica", "versicolor")[(index + k) % 3] for k in range(rows)]
        assert labels["data"] == expected
