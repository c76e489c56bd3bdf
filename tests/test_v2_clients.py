"""Clients the kit did not write, against both runtimes: tritonclient and the protocol's own schemas.

Each target (the Ray gateway serving iris, the transformer pod, the predictor pod: ``tests.bad_requests``)
is driven by tritonclient over HTTP (binary and JSON outputs) and gRPC (raw tensors, as tritonclient
always sends them), and must give every output the model publishes when the request names none, and
exactly the named ones otherwise. Its JSON answers (inference, model and server metadata, errors) must
validate against the Open Inference Protocol's REST schemas and hold no ``null``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import numpy as np
import pytest

from tests.bad_requests import TARGETS, endpoint
from tests.conftest import REPO_ROOT
from tests.open_inference import check, nulls_in

ROWS = np.asarray([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
OUTPUTS = {"ray": ("label", "probabilities"), "transformer-pod": ("label", "probabilities")}
PREDICTOR_OUTPUTS = ("output-0", "probabilities")


def outputs_of(target: str) -> tuple[str, ...]:
    return OUTPUTS.get(target, PREDICTOR_OUTPUTS)


def check_values(target: str, values: dict[str, Any]) -> None:
    """What iris answers for a setosa and a virginica row, whichever outputs came back."""
    if "label" in values:
        assert [v.decode() if isinstance(v, bytes) else v for v in values["label"].ravel()] == ["setosa", "virginica"]
    if "output-0" in values:
        assert values["output-0"].tolist() == [0, 2]
    if "probabilities" in values:
        assert values["probabilities"].shape == (2, 3)
        np.testing.assert_allclose(values["probabilities"].sum(axis=1), [1.0, 1.0], rtol=1e-5)


def _http_input(binary: bool) -> Any:
    import tritonclient.http as http

    tensor = http.InferInput("input-0", list(ROWS.shape), "FP32")
    tensor.set_data_from_numpy(ROWS, binary_data=binary)
    return tensor


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_http_reads_every_output(request: pytest.FixtureRequest, target: str, binary: bool) -> None:
    import tritonclient.http as http

    where = endpoint(request, target)
    client = http.InferenceServerClient(url=where.url.removeprefix("http://"), network_timeout=60)
    try:
        names = outputs_of(target)
        # No outputs named: tritonclient asks binary_data_output and expects every output.
        result = client.infer("iris", [_http_input(binary)])
        assert sorted(output["name"] for output in result.get_response()["outputs"]) == sorted(names)
        values = {name: result.as_numpy(name) for name in names}
        assert all(value is not None for value in values.values()), values
        check_values(target, values)
        # Named, one of each encoding: exactly those come back, each as asked.
        wanted = [http.InferRequestedOutput(names[0], binary_data=binary), http.InferRequestedOutput(names[1])]
        result = client.infer("iris", [_http_input(binary)], outputs=wanted)
        outputs = {output["name"]: output for output in result.get_response()["outputs"]}
        assert sorted(outputs) == sorted(names)
        assert ("data" in outputs[names[0]]) is not binary
        check_values(target, {name: result.as_numpy(name) for name in names})
        only = client.infer("iris", [_http_input(binary)], outputs=[http.InferRequestedOutput(names[1])])
        assert [output["name"] for output in only.get_response()["outputs"]] == [names[1]]
    finally:
        client.close()


def grpc_probe(port: int, *outputs: str) -> dict[str, Any]:
    """tritonclient's gRPC client in a process of its own (``tests.triton_grpc_probe``)."""
    command = [sys.executable, "-m", "tests.triton_grpc_probe", str(port), *outputs]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.parametrize("target", TARGETS)
def test_tritonclient_grpc_reads_every_output(request: pytest.FixtureRequest, target: str) -> None:
    """KServe's servicer answers raw inputs in ``raw_output_contents``, the only place tritonclient reads."""
    port = endpoint(request, target).grpc_port
    names = outputs_of(target)
    answer = grpc_probe(port)
    assert sorted(answer["values"]) == sorted(names)
    assert answer["raw"] == len(names)
    assert all(value is not None for value in answer["values"].values()), answer
    check_values(target, {name: np.asarray(value) for name, value in answer["values"].items()})
    only = grpc_probe(port, names[1])
    assert list(only["values"]) == [names[1]] and only["raw"] == 1


@pytest.mark.parametrize("target", TARGETS)
def test_rest_answers_validate_against_the_protocol(request: pytest.FixtureRequest, target: str) -> None:
    where = endpoint(request, target)
    body = {
        "id": "r-1",
        "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": ROWS.ravel().tolist()}],
    }
    with httpx.Client(base_url=where.url, timeout=60) as client:
        answers = {
            "inference_response": client.post("/v2/models/iris/infer", json=body),
            "metadata_model_response": client.get("/v2/models/iris"),
            "metadata_server_response": client.get("/v2"),
            "inference_error_response": client.post("/v2/models/iris/infer", json={"inputs": []}),
            "metadata_model_error_response": client.get("/v2/models/no-such-model"),
        }
    for schema, response in answers.items():
        assert (response.status_code == 200) is not schema.endswith("error_response"), (schema, response.text)
        document = response.json()
        assert nulls_in(document) == [], (schema, document)
        check(document, schema)
    inference = answers["inference_response"].json()
    assert inference["id"] == "r-1"
    assert sorted(output["name"] for output in inference["outputs"]) == sorted(outputs_of(target))
