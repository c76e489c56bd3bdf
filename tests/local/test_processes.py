"""Process tier: predictor and transformer as the real processes their containers run.

The transformer reaches the predictor over V2 HTTP (``--predictor_host``, ``--predictor_protocol v2``),
exactly as KServe wires a transformer to its predictor in a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.processes import Chain, ComponentProcess, ProcessStartError, start_chain
from tests.conftest import IRIS_V1, SETOSA, VIRGINICA, v2_feature_request, v2_tensor_request

pytestmark = pytest.mark.process
ARGS = ["--model_name=iris", f"--model_dir={IRIS_V1}", "--enable_grpc=false"]


@pytest.fixture(scope="module")
def chain(pod_chain: Chain) -> Chain:
    return pod_chain


@pytest.fixture(scope="module")
def client(chain: Chain) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chain.url, timeout=10.0) as http:
        yield http


def test_v1_and_v2_through_the_transformer(client: httpx.Client) -> None:
    v1 = client.post("/v1/models/iris:predict", json={"instances": [SETOSA, VIRGINICA]})
    assert v1.status_code == 200
    assert [p["label"] for p in v1.json()["predictions"]] == ["setosa", "virginica"]
    v2 = client.post("/v2/models/iris/infer", json=v2_feature_request([SETOSA, VIRGINICA]))
    assert v2.status_code == 200
    outputs = {o["name"]: o for o in v2.json()["outputs"]}
    assert outputs["label"]["data"] == ["setosa", "virginica"]
    assert outputs["probabilities"]["shape"] == [2, 3]


def test_health_metadata_and_ready(client: httpx.Client) -> None:
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").json()["ready"] is True
    assert client.get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
    metadata = client.get("/v2/models/iris").json()
    assert [i["name"] for i in metadata["inputs"]] == list(SETOSA)


def test_predictor_answers_directly(chain: Chain) -> None:
    response = httpx.post(
        f"{chain.predictor.url}/v2/models/iris/infer", json=v2_tensor_request([list(SETOSA.values())])
    )
    assert response.json()["outputs"][0]["data"] == [0]


BAD: list[tuple[str, Any, int, str]] = [
    ("/v1/models/iris:predict", {"instances": [SETOSA | {"petal_width": "x"}]}, 400, "petal_width"),
    ("/v1/models/iris:predict", {"instances": [{"sepal_length": 1.0}]}, 400, "missing field"),
    ("/v1/models/iris:predict", {"instances": [SETOSA | {"petal_width": 50.0}]}, 400, "out of range"),
    ("/v1/models/iris:predict", {"instances": []}, 400, "non-empty"),
    ("/v2/models/iris/infer", v2_tensor_request([[1.0, 2.0, 3.0]]), 400, "expected 4 features"),
    ("/v2/models/iris/infer", {"inputs": "bad"}, 400, "inputs"),
    ("/v2/models/nope/infer", v2_tensor_request([[1.0, 2.0, 3.0, 0.5]]), 404, "nope"),
    ("/v2/models/iris/versions/9/infer", v2_tensor_request([[1.0, 2.0, 3.0, 0.5]]), 404, "has no version '9'"),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), BAD, ids=[f"{b[2]}-{b[3]}" for b in BAD])
def test_bad_input_gets_v2_error_then_service_continues(
    client: httpx.Client, path: str, body: Any, status: int, message: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == status
    assert message in response.json()["error"]
    ok = client.post("/v1/models/iris:predict", json={"instances": [SETOSA]})
    assert ok.status_code == 200 and ok.json()["predictions"][0]["label"] == "setosa"


def test_servers_bind_loopback_only(chain: Chain) -> None:
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
    ports = {
        int(line.split()[1].split(":")[1], 16): line.split()[1].split(":")[0]
        for line in listening
        if line.split()[3] == "0A"
    }
    for component in (chain.predictor, chain.entry):
        assert ports.get(component.http_port) == "0100007F", f"{component.module} not on 127.0.0.1"


def test_failed_start_reports_the_log_and_cleans_up(tmp_path: Path) -> None:
    broken = ["--model_name=iris", f"--model_dir={tmp_path}", "--enable_grpc=false"]
    with pytest.raises(ProcessStartError, match=r"metadata\.json not found"), start_chain("predictors.sklearn", broken):
        pass


def test_stop_kills_the_process(tmp_path: Path) -> None:
    component = ComponentProcess("predictors.sklearn", ARGS, log_path=tmp_path / "log")
    component.start()
    try:
        component.wait_ready()
    finally:
        component.stop()
    assert component.process is not None and component.process.poll() is not None
